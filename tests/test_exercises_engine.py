"""Assignments 4 (your own engine) and 5 (your own tensors), and what they stand on: viz
drawing micrograd-like graphs, and a student's graph sent as plain data and rebuilt.

The reference solutions live in tests/exercise_solutions/; each typical mistake is the
reference with one thing broken, and must get its own hint.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import chaingrad.lessons.exercises.assignment4 as a4
import chaingrad.lessons.exercises.assignment5  # noqa: F401  (registers assignment 5)
from chaingrad import viz
from chaingrad.lessons.exercises import ASSIGNMENTS, Wrong, graphs, run_checks

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
SVG = "{http://www.w3.org/2000/svg}"


def solution_text(key: str) -> str:
    return (SOLUTIONS / f"assignment{key}.py").read_text(encoding="utf-8")


def load(tmp_path: Path, text: str, name: str = "engine_submission"):
    """A submission as a module, for calling a check on it directly."""
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def grade(tmp_path: Path, key: str, text: str, only: tuple = (), **options) -> dict:
    """Grade through the grader (checks here, the code in a child); ``only`` these labels."""
    path = tmp_path / f"assignment{key}_submission.py"
    path.write_text(text, encoding="utf-8")
    skip = [e.label() for e in ASSIGNMENTS[key].exercises if only and e.label() not in only]
    results = run_checks(path, {key: ASSIGNMENTS[key]}, timeout=60, skip=skip, **options)
    return {r.exercise: r for r in results}


def red_names(svg: bytes, root) -> list[str]:
    """The names of the boxes the builtin renderer painted as wrong."""
    graph = viz.to_networkx(root)
    bad = [g.get("id") for g in ET.fromstring(svg).iter(f"{SVG}g")
           if "bad" in (g.get("class") or "").split()]
    return sorted(graph.nodes[n]["name"] for n in bad)


def svg_text(svg: bytes) -> str:
    """All the text an SVG shows, one line per text element."""
    return "\n".join("".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text"))


def broken(old: str, new: str) -> str:
    text = solution_text("4")
    assert old in text
    return text.replace(old, new)


# ------------------------------------------------------------------ viz reads micrograd


def micrograd_graph():
    engine = pytest.importorskip("micrograd.engine")
    a, b = engine.Value(2.0), engine.Value(-3.0)
    a.label, b.label = "a", "b"
    d = (a * b + a ** 2).relu() + b * 2
    d.label = "d"
    d.backward()
    return a, b, d


def test_a_real_micrograd_graph_draws_with_values_and_gradients(tmp_path):
    a, b, d = micrograd_graph()
    assert (d.data, a.grad, b.grad) == (-6.0, 0.0, 2.0)
    svg = viz.draw(d, tmp_path / "m.svg", engine="builtin").read_bytes()
    text = svg_text(svg)
    assert "a\n" in text and "data -6" in text and "grad 0 + 2 = 2" in text
    assert "b * 2" in text or "2 * b" in text
    assert "∂v5/∂b = 2" in text  # the local derivative of the product on its edge
    graph = viz.to_networkx(d)
    by_name = {attrs["name"]: attrs for _, attrs in graph.nodes(data=True)}
    assert by_name["b"]["grad"] == 2.0 and by_name["d"]["kind"] == "output"
    assert by_name["a"]["data"] == 2.0 and by_name["v1"]["op"] == "**"
    again = viz.draw(d, tmp_path / "m2.svg", engine="builtin").read_bytes()
    assert again == svg  # node identity does not come from id() or a set's order
    assert "digraph" in str(viz.to_dot(d))


def test_show_and_explain_read_a_micrograd_graph_and_animate_says_it_cannot():
    from rich.console import Console

    _, _, d = micrograd_graph()
    console = Console(record=True, width=100)
    viz.show(d, console=console)
    assert "d = v4 + v5" in console.export_text() or "d = v5 + v4" in console.export_text()
    viz.explain(d, console=console)
    text = console.export_text()
    assert "∂d/∂b = (2) + (0) = 2" in text or "∂d/∂b = (0) + (2) = 2" in text
    with pytest.raises(TypeError, match="animate: reads chaingrad's own graphs only"):
        viz.animate(d, "never.html")


def test_micrograds_x_times_x_is_one_input_used_twice():
    engine = pytest.importorskip("micrograd.engine")
    x = engine.Value(3.0)
    x.label = "x"
    square = x * x
    u = square + x
    u.label = "u"
    u.backward()
    assert len(square._prev) == 1  # micrograd keeps {x} for x * x
    graph = viz.to_networkx(u)
    product = next(n for n in graph if graph.nodes[n]["op"] == "*")
    assert graph.in_degree(product) == 2  # two edges, as for chaingrad's x * x
    rows = viz.terminal.chain_rule_rows(u)
    assert ("x", "total", "∂u/∂x = (1) + (3) + (3) = 7") in rows


def test_a_set_of_inputs_is_ordered_by_content_not_by_id():
    engine = pytest.importorskip("micrograd.engine")
    names = []
    for _ in range(5):
        x, y = engine.Value(1.0), engine.Value(2.0)
        x.label, y.label = "x", "y"
        f = x * y
        f.backward()
        graph = viz.to_networkx(f)
        names.append([graph.nodes[n]["name"] for n in sorted(graph)])
    assert all(n == names[0] for n in names)


class Loose:
    def __init__(self, data, prev=(), op="", label=""):
        self.data, self.grad, self._prev, self._op, self.label = data, 0.0, prev, op, label


def test_check_with_expected_gradients_paints_exactly_the_disagreeing_node(tmp_path):
    a = Loose(1.5, label="a")
    s = Loose(3.0, (a, a), "+", "s")
    a.grad, s.grad = 1.0, 1.0  # the a + a bug: a received from one use only
    svg = viz.draw(s, tmp_path / "c.svg", engine="builtin",
                   check={a: 2.0, s: 1.0}).read_bytes()
    assert red_names(svg, s) == ["a"]
    text = svg_text(svg)
    assert "expected 2  MISMATCH" in text and "expected 1  ok" in text


def test_check_true_on_a_loose_graph_uses_the_known_rules(tmp_path):
    a = Loose(0.5, label="a")
    t = Loose(np.tanh(0.5), (a,), "tanh", "t")
    t.grad, a.grad = 1.0, 1 - 0.5 ** 2  # the input's square, not the output's
    svg = viz.draw(t, tmp_path / "n.svg", engine="builtin", check=True).read_bytes()
    assert red_names(svg, t) == ["a"]


def test_an_unknown_op_draws_without_local_derivatives():
    a = Loose(2.0, label="a")
    f = Loose(7.0, (a,), "mystery", "f")
    graph = viz.to_networkx(f)
    assert [graph.nodes[n]["op"] for n in sorted(graph)] == ["", "mystery"]
    f.grad, a.grad = 1.0, 3.0
    text = svg_text(str(viz.draw(f, engine="builtin")).encode())
    assert "mystery(a)" in text and "grad 3" in text and "∂f/∂a" not in text


def test_ops_whose_rule_cannot_run_draw_without_local_derivatives(tmp_path):
    a = Loose(-8.0, label="a")
    cube_root = Loose(float("nan"), (a,), "**0.3333333333333333", "r")  # complex in Python
    huge = Loose(float("inf"), (a,), "**1e308", "h")  # overflows
    total = Loose(float("nan"), (cube_root, huge), "+", "t")
    text = svg_text(viz.draw(total, tmp_path / "h.svg", engine="builtin").read_bytes())
    assert "∂r/∂a" not in text and "∂h/∂a" not in text


def test_a_cycle_and_a_bad_prev_are_refused_in_a_sentence():
    a = Loose(1.0, label="a")
    b = Loose(2.0, (a,), "exp", "b")
    a._prev = (b,)
    with pytest.raises(ValueError, match="cycle"):
        viz.draw(b)
    c = Loose(1.0, prev="ab", op="+")
    with pytest.raises(ValueError, match="_prev is a str"):
        viz.to_networkx(c)


# ------------------------------------------------------------------ plain data and back


def test_export_then_rebuild_keeps_numbers_ops_labels_and_edges():
    a = Loose(2.0, label="a")
    b = Loose(-3.0, label="b")
    p = Loose(-6.0, (a, b), "*")
    f = Loose(-4.0, (p, a), "+", "f")
    for node, grad in ((f, 1.0), (p, 1.0), (a, -2.0), (b, 2.0)):
        node.grad = grad
    exported = graphs.export_graph(f)
    assert exported["nodes"][-1] == {"data": -4.0, "grad": 1.0, "op": "+", "label": "f",
                                     "children": [2, 0]}
    nodes = graphs.rebuild(exported)
    root = nodes[-1]
    assert [c.label or c._op for c in root._prev] == ["*", "a"]
    assert root._prev[1] is root._prev[0]._prev[0]  # a is one node, used twice
    assert viz.to_networkx(root).number_of_nodes() == 4


def test_export_walks_a_long_chain_without_recursion_and_stops_at_its_limit():
    x = Loose(1.0, label="x")
    y = x
    for _ in range(10_000):
        y = Loose(1.0, (y,), "exp")
    assert len(graphs.export_graph(y, limit=20_000)["nodes"]) == 10_001
    with pytest.raises(ValueError, match="more than 2,000 nodes"):
        graphs.export_graph(y)


@pytest.mark.parametrize("hostile, why", [
    (None, "non-empty list"),
    ({"nodes": []}, "non-empty list"),
    ({"nodes": "abc"}, "non-empty list"),
    ({"nodes": [{"data": 1.0}]}, "is not"),
    ({"nodes": [{"data": "1", "grad": 0.0, "op": "", "label": None, "children": []}]},
     "non-number"),
    ({"nodes": [{"data": True, "grad": 0.0, "op": "", "label": None, "children": []}]},
     "non-number"),
    ({"nodes": [{"data": 1.0, "grad": 0.0, "op": 3, "label": None, "children": []}]},
     "bad op"),
    ({"nodes": [{"data": 1.0, "grad": 0.0, "op": "", "label": None, "children": [0]}]},
     "do not come before"),
    ({"nodes": [{"data": 1.0, "grad": 0.0, "op": "", "label": None, "children": [-1]}]},
     "do not come before"),
    ({"nodes": [{"data": 1.0, "grad": 0.0, "op": "", "label": None, "children": [True]}]},
     "do not come before"),
    ({"nodes": [{"data": 1.0, "grad": 0.0, "op": "", "label": None, "children": []}] * 2001},
     "at most 2000"),
])
def test_rebuild_refuses_anything_but_the_exported_shape(hostile, why):
    with pytest.raises(ValueError, match=why):
        graphs.rebuild(hostile)


def test_rebuild_cuts_long_texts_and_draws_control_characters_safely(tmp_path):
    node = {"data": 1.0, "grad": 0.0, "op": "", "label": "\x1b[31m" + "x" * 100,
            "children": []}
    root = graphs.rebuild({"nodes": [node]})[-1]
    assert len(root.label) == graphs.MAX_TEXT
    svg = viz.draw(root, tmp_path / "s.svg", engine="builtin").read_text()
    assert "\x1b" not in svg


# ------------------------------------------------------------------ assignment 4


def test_the_reference_engine_backpropagates_a_10000_node_chain(tmp_path):
    engine = load(tmp_path, solution_text("4"), "reference_engine")
    x = engine.Value(0.5)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_the_reference_solution_passes_assignment_4(tmp_path):
    results = grade(tmp_path, "4", solution_text("4"))
    assert {label: r.message for label, r in results.items() if r.result != "pass"} == {}
    assert sum(r.points for r in results.values()) == ASSIGNMENTS["4"].points


def test_every_untouched_stub_of_assignment_4_is_not_written_yet(tmp_path):
    results = grade(tmp_path, "4", ASSIGNMENTS["4"].stub_file())
    assert len(results) == len(ASSIGNMENTS["4"].exercises) == 7
    for r in results.values():
        assert r.result == "fail" and "not written yet" in r.message, r.message


def test_each_stub_of_assignment_4_has_a_task_a_formula_and_a_worked_number():
    for e in ASSIGNMENTS["4"].exercises:
        assert "Task" in e.stub, e.label()
        assert "Worked number" in e.stub, e.label()


MISTAKES = {
    "= instead of += (a + a)": (
        ("            self.grad += out.grad\n            other.grad += out.grad",
         "            self.grad = out.grad\n            other.grad = out.grad"),
        "4.2 Value", "write += in _backward"),
    "tanh's derivative from the input": (
        ("self.grad += (1 - t * t) * out.grad", "self.grad += (1 - self.data ** 2) * out.grad"),
        "4.2 Value", "1 − t² with t = tanh(a), the output"),
    "2 * v without __rmul__": (
        ("    def __rmul__(self, other):\n        return self * other\n", ""),
        "4.1 Value", "define it"),
    "a recursive topological sort": (
        ("def topological_order(root):\n",
         "def topological_order(root):\n    return _recursive(root, [], set())\n\n\n"
         "def _recursive(node, order, seen):\n    if node not in seen:\n"
         "        seen.add(node)\n        for child in node._prev:\n"
         "            _recursive(child, order, seen)\n        order.append(node)\n"
         "    return order\n\n\ndef _unused(root):\n"),
        "4.3 topological_order", "raised RecursionError: a recursive sort"),
    "a node visited twice": (
        ("            if child not in seen:\n", "            if True:\n"),
        "4.3 topological_order", "more than once"),
    "a gradient not zeroed between steps": (
        ("    for p in model.parameters():\n        p.grad = 0.0\n", ""),
        "4.6 train_step", "set every p.grad = 0"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_typical_mistake_gets_its_own_hint(mistake, tmp_path):
    (old, new), label, hint = MISTAKES[mistake]
    results = grade(tmp_path, "4", broken(old, new), only=(label,))
    assert results[label].result == "fail", results[label].message
    assert hint in results[label].message, results[label].message


def red_boxes(svg: bytes) -> list[str]:
    """The names of the boxes painted as wrong, in a picture of either engine (the
    builtin renderer marks the group "bad", Graphviz fills the box with the red fill)."""
    from chaingrad.viz.style import BAD

    names = []
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        classes = (group.get("class") or "").split()
        if "node" not in classes:
            continue
        filled = {shape.get("fill") for shape in group if shape.tag != f"{SVG}text"}
        if "bad" in classes or BAD[0] in filled:
            first = next(group.iter(f"{SVG}text"))
            names.append("".join(first.itertext()).strip())
    return sorted(names)


def picture_of(tmp_path: Path, text: str, label: str) -> tuple[str, bytes]:
    """Grade through the grader (checks in the parent, the code in a child) with
    pictures; the exercise's message and its picture's bytes."""
    results = grade(tmp_path, "4", text, only=(label,), pictures=tmp_path / "pictures")
    result = results[label]
    assert result.result == "fail" and result.picture.endswith(".svg"), result.message
    return result.message, Path(result.picture).read_bytes()


def test_the_picture_of_the_fan_out_bug_marks_the_node_used_twice(tmp_path):
    (old, new), label, _ = MISTAKES["= instead of += (a + a)"]
    message, svg = picture_of(tmp_path, broken(old, new), label)
    assert "a + a" in message
    assert red_boxes(svg) == ["a"]
    assert "expected 2  MISMATCH" in svg_text(svg).replace("\xa0", " ")


def test_the_picture_of_a_wrong_backward_marks_the_nodes_below_the_mistake(tmp_path):
    (old, new), _, _ = MISTAKES["tanh's derivative from the input"]
    message, svg = picture_of(tmp_path, broken(old, new), "4.4 Value")
    assert "(a * b).tanh() + a" in message
    assert "The first wrong gradient, from the output back, is at a * b" in message
    assert red_boxes(svg) == ["a", "b", "v1"]  # a * b (unnamed: v1) and its inputs
    assert re.search(r"expected -?\d.*MISMATCH", svg_text(svg))


def test_the_fan_out_bug_in_backward_is_caught_on_a_public_formula(tmp_path):
    (old, new), _, _ = MISTAKES["= instead of += (a + a)"]
    message, svg = picture_of(tmp_path, broken(old, new), "4.4 Value")
    assert "(a + b) * a" in message and "hidden" not in message
    assert "a" in red_boxes(svg)


def test_the_picture_is_the_same_with_the_builtin_renderer(tmp_path):
    (old, new), _, _ = MISTAKES["= instead of += (a + a)"]
    module = load(tmp_path, broken(old, new), "direct_fan_out")
    answer = a4.child_local(module, "a + a", {"a": 1.5}, 1.0)
    expected = graphs.reference("a + a", {"a": 1.5})
    wrong = a4._wrong("said", "hint", answer, expected)
    svg = viz.draw(wrong.graph, tmp_path / "b.svg", engine="builtin",
                   check=wrong.marks).read_bytes()
    assert red_boxes(svg) == red_names(svg, wrong.graph) == ["a"]


def test_the_mlp_check_evaluates_the_weights_itself():
    weights = [0.5, -1.0, 0.25, 2.0, 0.1]  # MLP(2, [1, 1]): one tanh neuron, one linear
    out = a4.mlp_numpy(weights, 2, [1, 1], np.array([[2.0, 1.0]]))
    assert out[0, 0] == pytest.approx(2.0 * np.tanh(0.25) + 0.1)
    assert a4.parameter_count(2, [3, 1]) == 13
    layers = [[[0.5, -1.0, 0.25]], [[2.0, 0.1]]]
    assert a4.predict(layers, np.array([[2.0, 1.0]]))[0] == pytest.approx(out[0, 0])
    with pytest.raises(Wrong, match="shape"):
        a4.predict([[[1.0, 2.0]]], np.array([[2.0, 1.0]]))


# ------------------------------------------------------------------ assignment 5


def broken5(old: str, new: str) -> str:
    text = solution_text("5")
    assert old in text
    return text.replace(old, new)


def test_the_reference_solution_passes_assignment_5_on_many_hidden_draws(tmp_path):
    for _ in range(5):  # each run draws new hidden shapes
        results = grade(tmp_path, "5", solution_text("5"))
        assert {k: r.message for k, r in results.items() if r.result != "pass"} == {}
    assert sum(r.points for r in results.values()) == ASSIGNMENTS["5"].points


def test_every_untouched_stub_of_assignment_5_is_not_written_yet(tmp_path):
    results = grade(tmp_path, "5", ASSIGNMENTS["5"].stub_file())
    assert len(results) == len(ASSIGNMENTS["5"].exercises) == 7
    for e in ASSIGNMENTS["5"].exercises:
        assert "Task" in e.stub and "Worked number" in e.stub, e.label()
    for r in results.values():
        assert r.result == "fail" and "not written yet" in r.message, r.message


MISTAKES5 = {
    "a broadcast gradient without keepdims": (
        ("grad = grad.sum(axis=axis, keepdims=True)", "grad = grad.sum(axis=axis)"),
        "5.1 unbroadcast", "keepdims=True"),
    "the cross-entropy gradient not divided by N": (
        ("return float(loss), (p - onehot) / n", "return float(loss), p - onehot"),
        "5.3 softmax_cross_entropy", "Divide by N"),
    "softmax without the max taken off": (
        ("    shifted = logits - logits.max(axis=1, keepdims=True)\n"
         "    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
         "    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)\n"
         "    log_p = np.log(p)"),
        "5.3 softmax_cross_entropy", "take each row's max off"),
    "col2im assigning instead of adding": (
        ("kw] += \\", "kw] = \\"),
        "5.6 conv2d_backward", "add (+=) into dx"),
    "max-pool's gradient spread over the window": (
        ("                    dx[a, b, i * size + r[a, b], j * size + s[a, b]] += "
         "grad_out[a, b, i, j]\n",
         "                    dx[a, b, i * size:(i + 1) * size, j * size:(j + 1) * size] = "
         "grad_out[a, b, i, j]\n"),
        "5.7 maxpool_backward", "argmax only"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES5))
def test_each_tensor_mistake_gets_its_own_hint(mistake, tmp_path):
    import warnings

    (old, new), label, hint = MISTAKES5[mistake]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp(1000) in the unstable one
        results = grade(tmp_path, "5", broken5(old, new))
    assert results[label].result == "fail", results[label].message
    assert hint in results[label].message, results[label].message


def test_chaingrad_exercises_lists_and_starts_both_assignments(tmp_path, capsys):
    from chaingrad.cli import main

    assert main(["exercises"]) == 0
    listing = capsys.readouterr().out
    assert "Your own engine" in listing and "Your own tensors" in listing
    assert "topological_order" in listing and "maxpool_backward" in listing
    for key in ("4", "5"):
        assert main(["exercises", "start", key, str(tmp_path)]) == 0
        stub = (tmp_path / f"assignment{key}.py").read_text(encoding="utf-8")
        assert f"ASSIGNMENT = {key}" in stub
        compile(stub, f"assignment{key}.py", "exec")  # the stub file is valid Python


# ------------------------------------------------------------------ hostile submissions


def test_chaingrads_own_engine_and_ops_are_refused(tmp_path):
    text = broken("class Value:\n", "import chaingrad\n\n\nclass Value:\n")
    text = text.replace("    def backward(self):\n        order = topological_order(self)",
                        "    def backward(self):\n        chaingrad.Value(1.0)\n"
                        "        order = topological_order(self)")
    results = grade(tmp_path, "4", text, only=("4.4 Value",))
    assert "refused" in results["4.4 Value"].message
    tensors = solution_text("5").replace(
        "def unbroadcast(grad, shape):\n",
        "def unbroadcast(grad, shape):\n    import chaingrad.nn.functional as F\n"
        "    F.conv2d  # reaching chaingrad's ops\n") .replace(
        "def matmul_backward(A, B, grad):\n",
        "def matmul_backward(A, B, grad):\n    from chaingrad import Tensor\n    Tensor(A)\n")
    results = grade(tmp_path, "5", tensors)
    assert "refused" in results["5.2 matmul_backward"].message
    assert results["5.2 matmul_backward"].points == 0


def test_a_graph_with_a_cycle_is_a_sentence_not_a_crash(tmp_path):
    text = broken('        out = Value(self.data + other.data, (self, other), "+")\n',
                  '        out = Value(self.data + other.data, (self, other), "+")\n'
                  '        self._prev = (out,)\n')
    results = grade(tmp_path, "4", text, only=("4.1 Value",))
    assert results["4.1 Value"].result != "pass"
    assert "cycle" in results["4.1 Value"].message


def test_a_patched_helper_that_answers_nonsense_earns_nothing(tmp_path):
    text = solution_text("4") + (
        "\n\nimport chaingrad.lessons.exercises.graphs as _g\n"
        "_g.evaluate = lambda *a, **k: {'data': 'lots', 'grads': None}\n"
        "_g.export_graph = lambda *a, **k: {'nodes': [{'data': 1}] * 10**4}\n")
    results = grade(tmp_path, "4", text, only=("4.1 Value", "4.2 Value", "4.4 Value"))
    for label in ("4.1 Value", "4.2 Value", "4.4 Value"):
        assert results[label].result != "pass" and results[label].points == 0, label
        assert results[label].message, label


def test_a_value_whose_data_is_not_a_number_is_named(tmp_path):
    text = broken("        self.data = float(data)\n", "        self.data = str(data)\n")
    results = grade(tmp_path, "4", text, only=("4.1 Value",))
    assert results["4.1 Value"].result != "pass"
    assert "not a number" in results["4.1 Value"].message or "str" in \
        results["4.1 Value"].message
