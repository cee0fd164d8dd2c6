"""docs/engine.md points at the lines of real definitions.

Every link of the form [`name`](../autograd/file.py#L10-L20) must name a function or class
(``Class.method`` for a method) defined in that file, and the line range must be exactly
its definition. After editing the engine, ``python tests/test_engine_doc.py --fix``
rewrites the ranges; a name that no longer exists has to be fixed by hand.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "engine.md"
LINK = re.compile(r"\[`([\w.]+)`\]\(\.\./([\w/]+\.py)#L(\d+)-L(\d+)\)")


def definitions(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (first line, last line) for every top-level def/class and every method."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {}
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in tree.body:
        if isinstance(node, kinds):
            found[node.name] = (node.lineno, node.end_lineno)
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, kinds):
                    found[f"{node.name}.{member.name}"] = (member.lineno, member.end_lineno)
    return found


def links(text: str) -> list[re.Match]:
    return list(LINK.finditer(text))


def test_the_doc_has_links_to_every_file_of_the_engine():
    named = {match.group(2) for match in links(DOC.read_text(encoding="utf-8"))}
    engine = {f"autograd/{p.name}" for p in (ROOT / "autograd").glob("*.py")}
    assert engine - {"autograd/__init__.py"} <= named, sorted(engine - named)


def test_every_link_names_a_definition_and_its_exact_lines():
    wrong = []
    for match in links(DOC.read_text(encoding="utf-8")):
        name, file, first, last = match.group(1), match.group(2), *map(int, match.groups()[2:])
        path = ROOT / file
        assert path.is_file(), f"docs/engine.md links to {file}, which does not exist"
        lines = definitions(path).get(name)
        assert lines is not None, f"docs/engine.md names {name} in {file}, not defined there"
        if lines != (first, last):
            wrong.append(f"{name} in {file}: the doc says {first}-{last}, it is at "
                         f"{lines[0]}-{lines[1]}")
    assert not wrong, "\n".join(wrong + ["(python tests/test_engine_doc.py --fix)"])


def test_a_moved_definition_is_caught(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("x = 1\n\n\ndef f():\n    return 2\n\n\nclass C:\n    def g(self):\n"
                      "        pass\n")
    assert definitions(source) == {"f": (4, 5), "C": (8, 10), "C.g": (9, 10)}


def fix() -> None:
    """Rewrite every link's line range from the source (names are left as they are)."""
    def refreshed(match: re.Match) -> str:
        name, file = match.group(1), match.group(2)
        first, last = definitions(ROOT / file)[name]
        return f"[`{name}`](../{file}#L{first}-L{last})"

    DOC.write_text(LINK.sub(refreshed, DOC.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:] == ["--fix"]:
    fix()
