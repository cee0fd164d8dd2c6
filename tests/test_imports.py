"""The import structure, read from the source with ast (imports inside functions count too).

- No import cycle between the files of a package: autograd/ reads in one order.
- One direction between packages: autograd imports only numpy and the standard library;
  nn and viz import only chaingrad.autograd among our packages (plus their libraries).
- The old top-level names (autograd, nn, viz, lessons) are imported nowhere, not even in
  code that a test or a benchmark runs in a subprocess.
- A folder with its own ``autograd`` package and ``nn.py`` does not change what
  ``from chaingrad import Value, nn`` gives.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The folders that install as packages, and their import names (pyproject's package-dir).
PACKAGES = {
    "autograd": "chaingrad.autograd",
    "nn": "chaingrad.nn",
    "viz": "chaingrad.viz",
    "lessons": "chaingrad.lessons",
    "chaingrad": "chaingrad",
}
OLD_NAMES = {"autograd", "nn", "viz", "lessons"}
# Optional libraries, imported inside the functions that need them: cairosvg by viz.draw (PNG
# and PDF without Graphviz), torch by nn.bridge (to_torch / from_torch), IPython by fit's
# progress bar, only when it runs in a notebook (where IPython is the kernel).
OPTIONAL = {"cairosvg", "torch", "IPython"}


def module_name(path: Path) -> str:
    """chaingrad.autograd.node for autograd/node.py; the package name for an __init__.py."""
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [PACKAGES[folder], *rest]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_files() -> dict[str, Path]:
    files = {}
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            files[module_name(path)] = path
    return files


FILES = package_files()


def imported_modules(
    tree: ast.AST, module: str, is_package: bool, type_checking: bool = True
) -> set[str]:
    """Every module an ast imports (absolute names), wherever the import statement is.

    ``type_checking=False`` leaves out the block under ``if TYPE_CHECKING:``, which never
    runs (names for annotations only).
    """
    if not type_checking:
        tree = _without_type_checking_blocks(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .node import Node, from . import x
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:  # from chaingrad import nn imports the module chaingrad.nn
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in FILES else source)
    return found


def _without_type_checking_blocks(tree: ast.AST) -> ast.AST:
    class Remover(ast.NodeTransformer):
        def visit_If(self, node: ast.If) -> ast.AST | None:
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            return None if name == "TYPE_CHECKING" else self.generic_visit(node)

    return Remover().visit(tree)


def imports_of(module: str, type_checking: bool = True) -> set[str]:
    path = FILES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return imported_modules(tree, module, path.name == "__init__.py", type_checking)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of a directed graph as a list of its nodes, or None (depth-first search)."""
    colour = {node: "white" for node in graph}
    for start in graph:
        if colour[start] != "white":
            continue
        colour[start] = "grey"
        path, stack = [start], [iter(sorted(graph[start]))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                colour[path.pop()] = "black"
                stack.pop()
            elif colour.get(child) == "grey":
                return path[path.index(child):] + [child]
            elif colour.get(child) == "white":
                colour[child] = "grey"
                path.append(child)
                stack.append(iter(sorted(graph[child])))
    return None


@pytest.mark.parametrize("package", sorted(PACKAGES.values()))
def test_no_import_cycle_between_the_files_of_a_package(package):
    folder = next(f for f, name in PACKAGES.items() if name == package)
    members = {m for m, path in FILES.items() if path.relative_to(ROOT).parts[0] == folder}
    # Imports under `if TYPE_CHECKING:` (annotations only) never run, so they are left out.
    graph = {
        m: {i for i in imports_of(m, type_checking=False) if i in members and i != m}
        for m in members
    }
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle in {package}: {' -> '.join(cycle)}"


def test_type_checking_blocks_are_left_out_only_when_asked():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n")
    assert imported_modules(tree, "m", False) == {"typing", "a"}
    assert imported_modules(tree, "m", False, type_checking=False) == {"typing"}


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_autograd_reads_in_one_order():
    """Every file of autograd imports only files before it: the order a student reads in."""
    order = ["node", "op", "dispatch", "ops", "engine", "operators", "value", "tensor",
             "gradcheck", "files", "capture"]
    modules = [f"chaingrad.autograd.{name}" for name in order]
    assert set(modules) == {m for m in FILES if m.startswith("chaingrad.autograd.")}
    for position, module in enumerate(modules):
        later = set(modules[position:]) & imports_of(module)
        assert not later, f"{module} imports {sorted(later)}, which come after it"


def test_autograd_imports_everything_at_the_top():
    """No late imports in the engine: what a file needs is listed where a reader starts."""
    for module, path in FILES.items():
        if module != "chaingrad.autograd" and not module.startswith("chaingrad.autograd."):
            continue  # (chaingrad.autograder_command is not the engine)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        late = [node.lineno for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top]
        assert not late, f"{path.relative_to(ROOT)} imports inside code at lines {late}"


def declared_dependencies() -> set[str]:
    """The import names of pyproject's [project] dependencies (numpy, rich, ...)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)\]", text, re.S | re.M).group(1)
    names = re.findall(r'"([A-Za-z0-9_.-]+)', block)
    return {name.lower().replace("-", "_") for name in names}


def test_declared_dependencies_are_read():
    assert {"numpy", "matplotlib"} <= declared_dependencies()


def outside_imports(package: str) -> dict[str, set[str]]:
    """module -> what it imports from outside the standard library and its own package."""
    result = {}
    for module in FILES:
        if module != package and not module.startswith(package + "."):
            continue
        names = {
            name for name in imports_of(module)
            if name.split(".")[0] not in sys.stdlib_module_names
            and name != package and not name.startswith(package + ".")
        }
        if names:
            result[module] = names
    return result


def test_autograd_imports_only_numpy_and_the_standard_library():
    bad = {m: sorted(n for n in names if n.split(".")[0] != "numpy")
           for m, names in outside_imports("chaingrad.autograd").items()}
    assert not {m: n for m, n in bad.items() if n}, bad


@pytest.mark.parametrize("package", ["chaingrad.nn", "chaingrad.viz"])
def test_nn_and_viz_import_only_autograd_among_our_packages(package):
    libraries = declared_dependencies() | OPTIONAL
    bad = {}
    for module, names in outside_imports(package).items():
        wrong = sorted(
            name for name in names
            if not (name == "chaingrad.autograd" or name.startswith("chaingrad.autograd."))
            and (name.split(".")[0] == "chaingrad" or name.split(".")[0] not in libraries)
        )
        if wrong:
            bad[module] = wrong
    assert not bad, f"{package} may import only chaingrad.autograd and its libraries: {bad}"


# ------------------------------------------------------------------ the old names


def repository_python_files() -> list[Path]:
    skip = {".venv", ".venv310", ".git", "build", "dist", "lesson-output"}
    return [
        path for path in sorted(ROOT.rglob("*.py"))
        if not skip & set(path.relative_to(ROOT).parts) and "egg-info" not in str(path)
    ]


def old_name_imports(tree: ast.AST) -> list[str]:
    """Absolute imports of autograd, nn, viz or lessons, also in code held in strings."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in OLD_NAMES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in OLD_NAMES:
                found.append(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "import" in node.value:  # a script for a subprocess: python -c "..."
                try:
                    inner = ast.parse(node.value)
                except SyntaxError:
                    continue
                found += old_name_imports(inner)
    return found


def test_the_old_names_are_found_in_scripts_held_in_strings():
    code = 'script = "import sys; from viz.plots import plot_function"\nimport nn.layers\n'
    assert sorted(old_name_imports(ast.parse(code))) == ["nn.layers", "viz.plots"]
    assert old_name_imports(ast.parse("from chaingrad import nn\nfrom . import viz\n")) == []


def test_no_file_imports_the_old_top_level_names():
    this_file = Path(__file__).resolve()
    bad = {}
    for path in repository_python_files():
        if path == this_file:  # its examples and its fake package use the old names on purpose
            continue
        found = old_name_imports(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if found:
            bad[str(path.relative_to(ROOT))] = found
    assert not bad, f"imports of the old top-level names (use chaingrad.*): {bad}"


# ------------------------------------------------------------------ living beside others


def test_a_fake_autograd_package_and_an_nn_file_change_nothing(tmp_path):
    """A student's folder with an ``autograd`` package (HIPS's name) and a homework nn.py."""
    (tmp_path / "autograd").mkdir()
    (tmp_path / "autograd" / "__init__.py").write_text("FAKE = True\n")
    (tmp_path / "nn.py").write_text("FAKE = True\n")
    script = (
        "from chaingrad import Value, nn\n"
        "x = Value(3.0); y = x * x; y.backward()\n"
        "assert (y.data, x.grad) == (9.0, 6.0), (y.data, x.grad)\n"
        "assert nn.__name__ == 'chaingrad.nn' and hasattr(nn, 'MLP'), nn\n"
        "import autograd, nn as homework\n"  # the folder's own files are there all the same
        "assert autograd.FAKE and homework.FAKE\n"
        "print('ok')\n"
    )
    # python -c puts the working folder first on sys.path, as `python script.py` does.
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# ------------------------------------------------------------------ relative imports inside


def user_facing(path: Path) -> bool:
    """Lessons and exercise sheets are read by students: they spell the public chaingrad.*."""
    relative = path.relative_to(ROOT)
    return (relative.parts[0] == "lessons" and relative.name[:2].isdigit()) or (
        relative.parts[:2] == ("lessons", "exercises") and relative.name.startswith("assignment")
    )


def absolute_own_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import that spells chaingrad.* (or chaingrad itself)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if a.name.split(".")[0] == "chaingrad"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "chaingrad":
                found.append((node.lineno, node.module))
    return found


def test_the_finder_of_absolute_own_imports():
    code = "import chaingrad\nfrom chaingrad.autograd import Node\nfrom ..autograd import x\n"
    assert absolute_own_imports(ast.parse(code)) == [(1, "chaingrad"), (2, "chaingrad.autograd")]


def test_the_library_imports_its_own_packages_relatively():
    """Inside chaingrad, `from ..autograd import Node` names the folder beside (issue #25)."""
    bad = {}
    for path in FILES.values():
        if user_facing(path):
            continue
        found = absolute_own_imports(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if found:
            bad[str(path.relative_to(ROOT))] = found
    assert not bad, f"imports that spell chaingrad.* inside the library (use relative): {bad}"
