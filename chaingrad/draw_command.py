"""``chaingrad draw``: the graph of an expression, with its values and gradients."""

from __future__ import annotations

import argparse
import sys

from .expression import ExpressionError, assignments, build

HELP = "draw an expression's graph with its values and gradients"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expression", help='for example "(x + y) * z" or "tanh(w * x + b)"')
    parser.add_argument("values", nargs="*", metavar="name=number", help="the variables' values")
    parser.add_argument("-o", "--output", default="graph.svg",
                        help="picture to write: .svg, .png or .pdf (default graph.svg)")
    parser.add_argument("--engine", choices=("auto", "graphviz", "builtin"), default="auto")
    parser.add_argument("--explain", action="store_true",
                        help="print the chain rule step by step")
    parser.add_argument("--animate", metavar="PAGE.html", help="also write a step-by-step page")


OPTIONS = ("-h", "--help", "-o", "--output", "--engine", "--explain", "--animate")


def protect_leading_minus(argv: list[str]) -> list[str]:
    """``chaingrad draw "-x * y"`` or ``"--x"``: an expression starting with a minus is not
    an option, unless it is one of draw's own options."""
    if len(argv) > 1 and argv[1].startswith("-") and not (
            argv[1] in OPTIONS or argv[1].startswith(tuple(f"{o}=" for o in OPTIONS[1:]))
            or (argv[1].startswith("-o") and len(argv[1]) > 2 and argv[1][2] != "-")):
        argv = [argv[0], " " + argv[1], *argv[2:]]
    return argv


def run(arguments: argparse.Namespace) -> int:
    """Draw, and report a user's mistake as one sentence on stderr with exit code 2."""
    try:
        return _draw(arguments)
    except ExpressionError as error:
        return _fail(str(error))
    except RecursionError:
        return _fail("the expression is nested too deeply")
    except OSError as error:  # an output path that cannot be written
        return _fail(f"cannot write {error.filename!r}: {error.strerror}")
    except (ArithmeticError, ValueError) as error:  # e.g. log of a negative number
        return _fail(str(error).removeprefix("draw: "))
    except RuntimeError as error:  # not the user's mistake, e.g. Graphviz failed
        print(f"chaingrad draw: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def _fail(message: str) -> int:
    print(f"chaingrad draw: {message}", file=sys.stderr)
    return 2


def _draw(arguments: argparse.Namespace) -> int:
    from .viz import animate, draw, explain

    values = assignments(arguments.values)
    root = build(arguments.expression, values)
    if not hasattr(root, "backward"):
        raise ExpressionError("the expression has no variables: nothing to differentiate")
    root.name = root.name or "f"
    root.backward()
    path = draw(root, arguments.output, engine=arguments.engine)
    print(f"{root.name} = {root.data:.6g}; wrote {path}")
    if arguments.explain:
        explain(root)
    if arguments.animate:
        print(f"wrote {animate(root, arguments.animate)}")
    return 0
