"""`chaingrad lessons N --notebook DIR`: every lesson as a notebook that runs without error.

Each generated notebook is executed by a real Jupyter kernel (nbclient + ipykernel, both
local: no network), so its checks run as asserts.
"""

import ast
import json
import re

import nbformat
import pytest
from nbclient import NotebookClient

from chaingrad.lessons.__main__ import main
from chaingrad.lessons.notebook import write_notebook
from chaingrad.lessons.runner import find_lessons

LESSONS = find_lessons()


def _execute(path, folder):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_every_lesson_runs_as_a_notebook(number, tmp_path):
    path = write_notebook(LESSONS[number], tmp_path)
    notebook = _execute(path, tmp_path)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 3 and kinds.count("code") >= 3
    sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert sum(line.startswith("assert ") for line in sources.splitlines()) >= 3, \
        "the checks become asserts"
    assert "StandIn" not in sources and not re.search(r"(?<![\w.])lesson\.", sources)
    assert not re.search(r"(?<![\w.])v\.\w", sources), "the runner's v.x is x in a notebook"
    lines = sources.splitlines()
    silent = [line for k, line in enumerate(lines) if line.startswith("assert ")
              and not lines[k - 1].startswith("print(")]
    assert not silent, f"checks must show their value before asserting: {silent[:2]}"
    plain = [output.get("data", {}).get("text/plain", "") + output.get("text", "")
             for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [text for text in plain if "\x1b[" in text], "terminal colour codes"
    if number == 13:  # the playground stays up for the student (the kernel's end stops it)
        assert not re.search(r"^\s*\w*\.?playground\.stop\(\)", sources, flags=re.MULTILINE)
        # in a notebook the playground is the widget, talking to the kernel, not a port
        assert any("application/vnd.jupyter.widget-view+json" in output.get("data", {})
                   for cell in notebook.cells for output in cell.get("outputs", []))
    if number == 1:  # the stepper plays inline, as the README says
        assert any("<iframe srcdoc=" in output.get("data", {}).get("text/html", "")
                   for cell in notebook.cells for output in cell.get("outputs", []))
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.output_type == "error"]
    assert not errors
    assert any((tmp_path / "lesson-output").iterdir()), "the lesson's pictures were written"


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_notebook_cells_are_plain_student_code(number):
    """No runner idiom reaches a notebook: no stand-in ``lesson`` object, no ``v.x``, no
    code run from a string, no private helper of the lesson file; every check shows its
    value before asserting it. (Read off the converted cells, without running them.)"""
    from chaingrad.lessons.notebook import notebook_cells

    code = [text for kind, text in notebook_cells(LESSONS[number]) if kind == "code"]
    trees = [ast.parse(text) for text in code]
    assigned = {node.id for tree in trees for node in ast.walk(tree)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    for text, tree in zip(code, trees):
        runner = sorted({node.id for node in ast.walk(tree)
                         if isinstance(node, ast.Name) and node.id in {"lesson", "StandIn"}})
        assert not runner, f"the runner's {runner} in a cell:\n{text}"
        unwrapped = [ast.unparse(node) for node in ast.walk(tree)
                     if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                     and node.value.id == "v" and "v" not in assigned]
        assert not unwrapped, f"the runner's v.x in a cell: {unwrapped[:2]}"
        calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name)}
        assert not calls & {"exec", "eval", "names"}, f"code run from a string:\n{text}"
        private = [node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                   and isinstance(node.value, ast.Name) and node.value.id == "lesson_file"
                   and node.attr.startswith("_")]
        assert not private, f"the lesson file's private helpers {private} in a cell"
        lines = text.splitlines()
        silent = [line for k, line in enumerate(lines) if line.lstrip().startswith("assert ")
                  and not (k and lines[k - 1].lstrip().startswith("print("))]
        assert not silent, f"checks must show their value before asserting: {silent[:2]}"


def test_a_failing_check_stops_the_notebook(tmp_path):
    """The asserts are real: a notebook whose check is wrong fails to run."""
    path = write_notebook(LESSONS[1], tmp_path)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        text = "".join(cell["source"])
        if "assert agrees(q.data, 3.0)" in text:
            cell["source"] = [text.replace("assert agrees(q.data, 3.0)",
                                           "assert agrees(q.data, 4.0)")]
            break
    else:
        pytest.fail("lesson 1's first check was not converted to an assert")
    path.write_text(json.dumps(notebook), encoding="utf-8")
    with pytest.raises(Exception, match="AssertionError"):
        _execute(path, tmp_path)


def test_the_command_line_writes_the_notebook(tmp_path, capsys):
    assert main(["2", "--notebook", str(tmp_path / "nb")]) == 0
    assert (tmp_path / "nb" / "02_neuron.ipynb").is_file()
    assert "02_neuron.ipynb" in capsys.readouterr().out.replace("\n", "")
    notebook = nbformat.read(tmp_path / "nb" / "02_neuron.ipynb", as_version=4)
    nbformat.validate(notebook)


def test_the_command_line_refuses_a_file_as_the_notebook_folder(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert main(["1", "--notebook", str(tmp_path / "taken")]) == 2
    assert "is a file, not a folder" in " ".join(capsys.readouterr().out.split())


def test_viz_displays_once_inline(tmp_path):
    """In a kernel: show/explain display once, plots and animate display without a path."""
    cells = [
        "from chaingrad import viz\nfrom chaingrad.autograd import Value\n"
        "x, y = Value(2.0, name='x'), Value(3.0, name='y')\nf = x * y\nf.backward()",
        "viz.show(f)",
        "viz.explain(f)",
        "viz.plot_history({'loss': [3.0, 2.0, 1.0], 'val_loss': [3.5, 2.5, 2.0]})",
        "viz.animate(f)",
        "viz.draw(f, engine='builtin')",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    show, explain, history, page, drawing = (c.outputs for c in notebook.cells[1:])
    assert len(show) == 1 and len(explain) == 1, (show, explain)
    assert "x" in json.dumps(show[0]["data"]) and "chain rule" in json.dumps(explain[0]["data"])
    assert len(history) == 1 and "image/png" in history[0]["data"]
    assert len(page) == 1 and "<iframe" in page[0]["data"]["text/html"]
    assert len(drawing) == 1 and "image/svg+xml" in drawing[0]["data"]


FAKE_LESSON = '''
TITLE = "a fake lesson"
MINUTES = 1


def run(lesson):
    lesson.step("One")
    lesson.say("""Some *prose*.""")
    v = lesson.code("""
        x = 2.0
        y = x * 3
    """)
    lesson.check("y = 6", v.y, 6.0)
    doubled = _double(v.y)
    lesson.check("doubled", doubled, 12.0, tol=1e-6)
    for k in range(2):
        lesson.check(f"k is small ({k})", k < 2, True)


def _double(value):
    return 2 * value
'''


def test_conversion_of_each_kind_of_statement(tmp_path, monkeypatch):
    import importlib
    import sys

    from chaingrad.lessons.notebook import notebook_cells
    from chaingrad.lessons.runner import Entry

    (tmp_path / "fake_lesson_99.py").write_text(FAKE_LESSON, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("fake_lesson_99")
    try:
        cells = notebook_cells(Entry(99, "fake_lesson_99", module))
    finally:
        sys.modules.pop("fake_lesson_99", None)
    kinds, texts = zip(*cells)
    assert kinds[:3] == ("markdown", "code", "markdown")
    assert "## Step 1 · One" in texts and "Some *prose*." in texts
    assert "x = 2.0\ny = x * 3" in texts  # the code, dedented
    checks = next(t for t in texts if "assert agrees(y, 6.0)" in t)
    assert "doubled = _double(y)" in checks  # bookkeeping copied, v.y read as y
    assert "assert agrees(doubled, 12.0, tol=1e-06), 'doubled'" in checks
    # the check inside the loop is shown and asserted there too: no lesson object left
    assert "for k in range(2):\n    print(f'k is small ({k}):', k < 2)\n" \
        "    assert agrees(k < 2, True), f'k is small ({k})'" in checks
    setup = texts[1]
    assert "_double = lesson_file._double" in setup  # the lesson file's helper
    assert "StandIn" not in setup and "lesson =" not in setup


def test_notebook_without_a_lesson_number_is_a_usage_error(capsys):
    assert main(["--notebook", "somewhere"]) == 2
    assert "needs a lesson number" in capsys.readouterr().out


TERMINAL_LESSON = '''
TITLE = "a lesson that opens a page for a person at the terminal"
MINUTES = 1


def run(lesson):
    lesson.step("One")
    v = lesson.code("""
        pages = ["https://example.org"]
    """)
    if not lesson.auto:
        webbrowser.open(v.pages[0])
    for page in v.pages:
        lesson.file(page, "the page")
    lesson.check("one page", len(v.pages), 1)
'''


def _cells_of(source, name, tmp_path, monkeypatch):
    import importlib
    import sys

    from chaingrad.lessons.notebook import notebook_cells
    from chaingrad.lessons.runner import Entry

    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    try:
        return notebook_cells(Entry(98, name, module))
    finally:
        sys.modules.pop(name, None)


def test_terminal_only_statements_are_left_out_and_loops_converted(tmp_path, monkeypatch):
    """``if not lesson.auto:`` is for a person at a terminal; a loop's files are shown."""
    cells = _cells_of(TERMINAL_LESSON, "terminal_lesson_97", tmp_path, monkeypatch)
    code = "\n".join(text for kind, text in cells if kind == "code")
    assert "webbrowser" not in code and not re.search(r"(?<![\w.])lesson\.", code)
    assert "for page in pages:\n    show_file(page, 'the page')" in code


PROSE_LESSON = '''
TITLE = "a lesson whose prose is computed"
MINUTES = 1


def run(lesson):
    lesson.step("One")
    v = lesson.code("""
        x = 2.0
    """)
    lesson.say(f"x is {v.x}")
'''


def test_a_statement_a_cell_cannot_hold_is_an_error_naming_its_line(tmp_path, monkeypatch):
    """No stand-in lesson object in a notebook: the converter refuses, and says where."""
    with pytest.raises(ValueError, match="line 11 of the lesson file.*literal"):
        _cells_of(PROSE_LESSON, "prose_lesson_96", tmp_path, monkeypatch)
