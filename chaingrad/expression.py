"""A safe parser for the expressions ``chaingrad draw`` takes, such as ``"(x + y) * z"``.

The expression is parsed with :mod:`ast` and built from a whitelist (numbers, variable
names, ``+ - * / **``, unary minus, and the Value methods ``exp log sqrt tanh sigmoid
relu sin cos abs``, as ``x.tanh()`` or ``tanh(x)``). It is never passed to ``eval``.
"""

from __future__ import annotations

import ast
import math

from .autograd import Value

FUNCTIONS = ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "abs")
OPERATORS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


class ExpressionError(ValueError):
    """The expression uses something outside the whitelist, or a value is missing."""


# Bounds checked before parsing: Python's parser runs out of memory on a few thousand
# nested operators, and a picture of more would not be read anyway.
MAX_LENGTH = 1000
MAX_OPERATORS = 300
MAX_BRACKETS = 50


def build(expression: str, values: dict[str, float]):
    """The Value graph of ``expression``, leaves named after the variables."""
    _check_size(expression)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"cannot parse {_clip(expression)}: {error.msg}") from None
    except (MemoryError, RecursionError):
        raise ExpressionError("the expression is nested too deeply to parse") from None
    _validate(tree.body)
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(FUNCTIONS))
    missing = [n for n in names if n not in values]
    if missing:
        example = " ".join(f"{n}=1.5" for n in missing)
        raise ExpressionError(f"no value for {', '.join(missing)}: give one, e.g. {example}")
    leaves = {n: Value(values[n], name=n) for n in names}
    return _build(tree.body, leaves)


def _check_size(expression: str) -> None:
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(f"the expression has {len(expression):,} characters; at most "
                              f"{MAX_LENGTH:,} are allowed")
    operators = sum(expression.count(sign) for sign in "+-*/@%") - expression.count("**")
    if operators > MAX_OPERATORS:
        raise ExpressionError(f"the expression has {operators:,} operators; at most "
                              f"{MAX_OPERATORS} are allowed")
    depth = deepest = 0
    for character in expression:
        depth += {"(": 1, ")": -1}.get(character, 0)
        deepest = max(deepest, depth)
    if deepest > MAX_BRACKETS:
        raise ExpressionError(f"the brackets are nested {deepest} deep; at most "
                              f"{MAX_BRACKETS} are allowed")


def _validate(node: ast.AST) -> None:
    """Refuse anything outside the whitelist before any value is looked at."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise ExpressionError(f"only numbers are allowed as constants, not {_show(node)}")
            if isinstance(node.value, float) and not math.isfinite(node.value):
                raise ExpressionError("a constant is too large for a float (it would be "
                                      "infinity); the largest is about 1.8e308")
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(f"{node.id!r} is a function: call it, e.g. {node.id}(x)")
        elif isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            stack += [node.left, node.right]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            stack.append(node.operand)
        elif isinstance(node, ast.Call) and not node.keywords and _method_call(node):
            stack.append(node.func.value)
        elif isinstance(node, ast.Call) and not node.keywords and _function_call(node):
            stack.append(node.args[0])
        else:
            raise ExpressionError(f"not allowed: {_show(node)} (use numbers, variables, "
                                  f"+ - * / **, and {', '.join(FUNCTIONS)})")


def _method_call(node: ast.Call) -> bool:
    function = node.func
    return isinstance(function, ast.Attribute) and function.attr in FUNCTIONS and not node.args


def _function_call(node: ast.Call) -> bool:
    function = node.func
    return isinstance(function, ast.Name) and function.id in FUNCTIONS and len(node.args) == 1


def _build(node: ast.AST, leaves: dict):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _build(node.left, leaves), _build(node.right, leaves)
        if isinstance(left, float) and isinstance(right, float):
            left = Value(left)
        return OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        operand = _build(node.operand, leaves)
        return -operand if isinstance(node.op, ast.USub) else operand
    if _method_call(node):
        return _call(node.func.attr, _build(node.func.value, leaves))
    return _call(node.func.id, _build(node.args[0], leaves))


def _call(name: str, argument):
    if not isinstance(argument, Value):
        argument = Value(argument)
    return getattr(argument, name)()


def _show(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every parsed node
        text = type(node).__name__
    return _clip(text)


def _clip(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def assignments(texts: list[str]) -> dict[str, float]:
    """``["x=1", "y=2"]`` as a dict; a name given twice is an ExpressionError."""
    values: dict[str, float] = {}
    for text in texts:
        name, value = assignment(text)
        if name in values:
            raise ExpressionError(f"{name} is given twice ({name}={values[name]:g} and "
                                  f"{name}={value:g}); give each variable once")
        values[name] = value
    return values


def assignment(text: str) -> tuple[str, float]:
    """``"x=1.5"`` as ``("x", 1.5)``; an ExpressionError for anything else."""
    name, sep, number = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ExpressionError(f"expected name=number, got {text!r}")
    try:
        value = float(number)
    except ValueError:
        raise ExpressionError(f"{name}: {number!r} is not a number") from None
    if not math.isfinite(value):
        raise ExpressionError(f"{name}: the value must be a finite number, got {number!r}")
    return name, value
