"""viz: the networkx graph, draw() on both engines, escaping, the gradient check, collapse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from graphs import course_example

from chaingrad.autograd import Tensor, Value
from chaingrad.viz import graph as viz_graph
from chaingrad.viz.draw import EngineNotice, draw
from chaingrad.viz.graph import collapse, to_networkx, traversal
from chaingrad.viz.labels import number

ROOT = Path(__file__).resolve().parents[1]
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="the Graphviz program dot is not installed")
ENGINES = ["builtin", pytest.param("graphviz", marks=needs_dot)]
SVG = "{http://www.w3.org/2000/svg}"


def svg_text(svg: str | bytes) -> str:
    """All the text an SVG shows, one string per line (parsing it as XML)."""
    tree = ET.fromstring(svg if isinstance(svg, bytes) else svg.encode("utf-8"))
    lines, previous_y = [], None
    for element in tree.iter(f"{SVG}text"):
        text = "".join(element.itertext()).replace("\xa0", " ")
        if element.get("y") == previous_y:  # dot writes one line as several texts
            lines[-1] += text
        else:
            lines.append(text)
        previous_y = element.get("y")
    return "\n".join(lines)


# ------------------------------------------------------------------ networkx


def test_networkx_keeps_both_edges_of_x_times_x():
    x = Value(3.0, name="x")
    y = x * x
    y.backward()
    graph = to_networkx(y)
    (x_id,) = [n for n, d in graph.nodes(data=True) if d["name"] == "x"]
    y_id = graph.graph["root"]
    assert graph.number_of_edges(x_id, y_id) == 2
    assert sorted(k for _, _, k in graph.out_edges(x_id, keys=True)) == [0, 1]
    assert graph.nodes[x_id]["grad"] == 2 * x.data
    assert graph.nodes[y_id]["op"] == "*"


def test_networkx_attributes_and_kinds():
    f, (x, y, z, q) = course_example()
    graph = to_networkx(f)
    by_name = {d["name"]: d for _, d in graph.nodes(data=True)}
    assert set(by_name) == {"x", "y", "z", "q", "f"}
    for node in (x, y, z, q, f):
        attributes = by_name[node.name]
        assert (attributes["data"], attributes["grad"]) == (node.data, node.grad)
        assert attributes["shape"] == ()
        assert attributes["op"] == node.op
    assert by_name["x"]["kind"] == "input"
    assert by_name["q"]["kind"] == "intermediate"
    assert by_name["f"]["kind"] == "output"
    # parents come first in "order": every edge runs forward
    assert all(graph.nodes[u]["order"] < graph.nodes[v]["order"] for u, v in graph.edges())


def test_node_ids_come_from_graph_position_not_identity():
    first = to_networkx(course_example()[0])
    second = to_networkx(course_example()[0])
    assert list(first.nodes) == list(second.nodes)
    assert [first.nodes[n]["name"] for n in first] == [second.nodes[n]["name"] for n in second]
    assert sorted(first.edges(keys=True)) == sorted(second.edges(keys=True))


def test_unnamed_nodes_get_stable_names_and_constants_show_their_value():
    x = Value(2.0, name="x")
    y = (x * 3.0).tanh()
    graph = to_networkx(y)
    names = sorted(d["name"] for _, d in graph.nodes(data=True))
    assert names == sorted(["x", number(3.0), "v1", "v2"])
    kinds = {d["name"]: d["kind"] for _, d in graph.nodes(data=True)}
    assert kinds[number(3.0)] == "constant"


def test_an_indexed_node_shows_its_index():
    from chaingrad.viz.labels import formula

    t = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True, name="t")
    picks = {"a": t[2], "b": t[1, 1:3], "c": t[:, ::2], "d": t[..., 0], "e": t[np.array([0, 2])],
             "f": t[np.arange(3), np.arange(3)], "g": t[t.data > 9]}
    total = sum(node.sum() for node in picks.values())
    for name, node in picks.items():
        node.name = name
    graph = to_networkx(total)
    by_name = {d["name"]: node_id for node_id, d in graph.nodes(data=True)}
    shown = {name: formula(graph, by_name[name]) for name in picks}
    assert shown == {"a": "t[2]", "b": "t[1, 1:3]", "c": "t[:, ::2]", "d": "t[..., 0]",
                     "e": "t[[0, 2]]", "f": "t[[0, 1, 2], [0, 1, 2]]", "g": "t[mask]"}


def test_parameters_argument_marks_weights():
    w, x = Value(0.5, name="w"), Value(2.0, name="x")
    y = w * x
    graph = to_networkx(y, parameters=[w])
    kinds = {d["name"]: d["kind"] for _, d in graph.nodes(data=True)}
    assert kinds == {"w": "parameter", "x": "input", "v1": "output"}


def test_traversal_of_a_deep_chain_needs_no_recursion():
    node = Value(0.5, name="start")
    for _ in range(50_000):
        node = node * 1.0
    order = traversal(node)
    assert len(order) == 100_001  # every product plus its constant 1.0, plus the start
    assert order[0].name == "start" and order[-1] is node


# ------------------------------------------------------------------ the picture


@pytest.mark.parametrize("engine", ENGINES)
def test_course_example_shows_names_values_gradients_and_chain_rule(engine, tmp_path):
    f, (x, y, z, q) = course_example()
    path = draw(f, tmp_path / "f.svg", engine=engine)
    assert path == tmp_path / "f.svg"
    text = svg_text(path.read_bytes())
    for node in (x, y, z, q, f):
        assert node.name in text
        assert f"data {number(node.data)}" in text
        assert f"grad {number(node.grad)}" in text
    assert "q = x + y" in text.replace("\n", " ") or "= x + y" in text
    # the edge x -> q: local derivative 1, and upstream (dq) times local sent back to x
    assert "∂q/∂x = 1" in text
    assert f"{number(q.grad)} × 1 = {number(x.grad)}" in text
    assert "input" in text and "output" in text  # the legend


@pytest.mark.parametrize("engine", ENGINES)
def test_node_used_twice_shows_its_gradient_as_a_sum(engine, tmp_path):
    a = Value(3.0, name="a")
    b = a * a + a
    b.name = "b"
    b.backward()
    text = svg_text(draw(b, tmp_path / "b.svg", engine=engine).read_bytes())
    # a*a sends a twice (3 each), + sends 1: a.grad = 2a + 1
    assert a.grad == 2 * a.data + 1
    expected = f"grad {number(a.data)} + {number(a.data)} + 1 = {number(a.grad)}"
    assert expected in text


def test_before_backward_no_gradients_are_claimed(tmp_path):
    x = Value(1.0, name="x")
    y = x.exp()
    text = svg_text(draw(y, tmp_path / "y.svg", engine="builtin").read_bytes())
    assert "data 2.718" in text
    assert not [line for line in text.splitlines() if line.startswith("grad")]
    assert "×" not in text  # no gradient sent along the edges either
    assert "backward()" in text


def test_tensors_show_shape_dtype_and_values_or_summary(tmp_path):
    small = Tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True, name="small")
    big = Tensor(np.arange(20.0).reshape(4, 5), requires_grad=True, name="big")
    loss = (small.sum() * big).mean()
    loss.name = "loss"
    loss.backward()
    text = svg_text(draw(loss, tmp_path / "t.svg", engine="builtin").read_bytes())
    assert "shape (2, 2) float64" in text and "shape (4, 5) float64" in text
    assert "[ 1, -2]" in text and "[ 3,  4]" in text  # small: every value
    values = big.data
    norm = float(np.sqrt((values**2).sum()))
    assert f"min {number(values.min())}  mean {number(values.mean())}" in text  # big: summary
    assert f"norm {number(norm)}" in text
    assert str(float(values[1, 2])) not in text.split("big")[1].split("loss")[0]


def test_drawing_object_for_jupyter():
    f, _ = course_example()
    drawing = draw(f, engine="builtin")
    svg = drawing._repr_svg_()
    assert "grad -4" in svg_text(svg)


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
@pytest.mark.parametrize("engine", ENGINES)
def test_png_and_pdf_by_suffix(engine, suffix, magic, tmp_path):
    f, _ = course_example()
    path = draw(f, tmp_path / f"f{suffix}", engine=engine)
    assert path.read_bytes()[:4] == magic


def test_bad_suffix_and_engine_are_clear_errors(tmp_path):
    f, _ = course_example()
    with pytest.raises(ValueError, match="draw: cannot write .*f.gif"):
        draw(f, tmp_path / "f.gif")
    with pytest.raises(ValueError, match="unknown engine 'dott'"):
        draw(f, tmp_path / "f.svg", engine="dott")


def test_graphviz_engine_without_dot_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    f, _ = course_example()
    with pytest.raises(RuntimeError, match="engine='builtin'"):
        draw(f, tmp_path / "f.svg", engine="graphviz")


def test_files_are_written_atomically(tmp_path):
    f, _ = course_example()
    draw(f, tmp_path / "f.svg", engine="builtin")
    draw(f, tmp_path / "f.svg", engine="builtin")  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.svg"]


# ------------------------------------------------------------------ escaping


NASTY = ['<script>alert("x")</script>', 'a"b&c', "]]><!--", "{x}'\\"]


@pytest.mark.parametrize("engine", ENGINES)
def test_names_are_escaped(engine, tmp_path):
    leaves = [Value(float(i + 1), name=name) for i, name in enumerate(NASTY)]
    total = leaves[0]
    for leaf in leaves[1:]:
        total = total + leaf
    total.name = "<b>total</b>"
    total.backward()
    raw = draw(total, tmp_path / "n.svg", engine=engine).read_bytes()
    tree = ET.fromstring(raw)  # still well-formed XML
    assert not [e for e in tree.iter() if e.tag.split("}")[-1] in {"script", "b"}]
    text = svg_text(raw)
    for name in NASTY + ["<b>total</b>"]:
        assert name in text


def test_dot_source_escapes_names():
    from chaingrad.viz import to_dot

    x = Value(1.0, name='<script>a"b&c')
    y = x.exp()
    source = str(to_dot(y))
    assert "<script>" not in source
    assert "&lt;script&gt;a&quot;b&amp;c" in source


# ------------------------------------------------------------------ determinism


SCRIPT = """
import sys
from chaingrad import nn
from chaingrad.autograd import Value
from chaingrad.viz.draw import draw
model = nn.scalar.MLP(2, [4, 1], seed=0)
loss = (model([Value(0.5, name="x0"), Value(-1.0, name="x1")]) - 1.0) ** 2
loss.backward()
sys.stdout.write(draw(loss, engine=sys.argv[1]).svg)
"""


def run_python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          env=environment, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("engine", ENGINES)
def test_same_program_same_bytes_in_two_processes(engine):
    first = run_python(SCRIPT, engine, env={"PYTHONHASHSEED": "1"})
    second = run_python(SCRIPT, engine, env={"PYTHONHASHSEED": "2"})
    assert first.returncode == 0, first.stderr.decode()
    assert first.stdout == second.stdout
    assert b"L1.N0.w0" in first.stdout


def test_builtin_and_auto_work_with_an_empty_path(tmp_path):
    code = (
        "import warnings, sys\n"
        "from chaingrad.autograd import Value\n"
        "from chaingrad.viz.draw import draw\n"
        "x = Value(2.0, name='x'); y = x * x; y.backward()\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    draw(y, sys.argv[1] + '/a.svg', engine='auto')\n"
        "    draw(y, sys.argv[1] + '/b.svg', engine='auto')\n"
        "draw(y, sys.argv[1] + '/c.svg', engine='builtin')\n"
        "print(len([w for w in caught if 'builtin' in str(w.message)]))\n"
    )
    result = run_python(code, str(tmp_path), env={"PATH": ""})
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip() == b"1"  # said once, not twice
    for name in ("a.svg", "b.svg", "c.svg"):
        assert "grad 2 + 2 = 4" in svg_text((tmp_path / name).read_bytes())


@needs_dot
def test_auto_uses_graphviz_when_dot_is_there(tmp_path):
    f, _ = course_example()
    with _no_engine_notice():
        path = draw(f, tmp_path / "f.svg")
    assert 'class="graph"' in path.read_text()  # dot's SVG


class _no_engine_notice:
    def __enter__(self):
        import warnings

        self._catcher = warnings.catch_warnings(record=True)
        self.caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catcher.__exit__(*exc)
        assert not [w for w in self.caught if issubclass(w.category, EngineNotice)]


# ------------------------------------------------------------------ gradient check


@pytest.mark.parametrize("engine", ENGINES)
def test_check_marks_a_wrong_gradient_red(engine, tmp_path):
    x, w = Value(1.5, name="x"), Value(-0.5, name="w")
    y = (x * x) * w + x.tanh()
    y.name = "y"
    y.backward()
    true_dx = 2 * x.data * w.data + (1 - np.tanh(x.data) ** 2)
    assert x.grad == pytest.approx(true_dx, rel=1e-12)
    x.grad += 0.25  # as if a backward rule were wrong
    raw = draw(y, tmp_path / "c.svg", engine=engine, check=True).read_bytes()
    text = svg_text(raw)
    assert f"numeric {number(true_dx)}  MISMATCH" in text
    assert f"numeric {number(w.grad)}  ok" in text
    if engine == "builtin":
        bad = [g.get("id") for g in ET.fromstring(raw).iter(f"{SVG}g")
               if "bad" in (g.get("class") or "").split()]
        graph = to_networkx(y)
        assert bad == [n for n in graph if graph.nodes[n]["name"] == "x"]
    else:
        assert "#fee2e2" in raw.decode()


def test_check_agrees_on_a_tensor_graph():
    from chaingrad.viz.check import numeric_gradients

    rng = np.random.default_rng(0)
    a = Tensor(rng.normal(size=(3, 4)), requires_grad=True, name="a")
    b = Tensor(rng.normal(size=(4,)), requires_grad=True, name="b")
    loss = ((a * b).tanh().sum(axis=1) ** 2).mean()
    loss.backward()
    results = numeric_gradients(to_networkx(loss))
    assert set(results) == {n for n, d in to_networkx(loss).nodes(data=True)
                            if d["name"] in ("a", "b")}
    assert all(ok for _, ok in results.values())
    a.grad[1, 2] += 1e-2
    results = numeric_gradients(to_networkx(loss))
    assert sorted(ok for _, ok in results.values()) == [False, True]


# ------------------------------------------------------------------ big graphs


def scalar_mlp_loss(samples: int):
    from chaingrad import nn

    model = nn.scalar.MLP(2, [4, 1], seed=0)
    loss = None
    for s in range(samples):
        error = (model([0.1 * s, -0.2 * s]) - 1.0) ** 2
        loss = error if loss is None else loss + error
    loss.name = "loss"
    loss.backward()
    return loss


def test_collapse_groups_by_neuron_and_counts_hidden_nodes():
    loss = scalar_mlp_loss(8)
    full = to_networkx(loss)
    small = collapse(full, threshold=50)
    titles = {d["name"] for _, d in small.nodes(data=True) if d["kind"] == "group"}
    assert {"L1.N0", "L1.N1", "L1.N2", "L1.N3", "L2.N0"} <= titles
    hidden = sum(d.get("count", 0) for _, d in small.nodes(data=True))
    visible = sum(1 for _, d in small.nodes(data=True) if d["kind"] != "group")
    assert hidden + visible == full.number_of_nodes()
    assert small.graph["root"] in small  # the output stays visible
    assert collapse(full, threshold=10**6) is full


@pytest.mark.parametrize("engine", ENGINES)
def test_draw_collapses_above_the_threshold(engine, tmp_path):
    loss = scalar_mlp_loss(8)
    total = len(traversal(loss))
    text = svg_text(draw(loss, tmp_path / "big.svg", engine=engine,
                         collapse_threshold=50).read_bytes())
    assert f"{total} nodes drawn as" in text
    assert "L1.N2" in text and "nodes hidden" in text


def test_unnamed_chain_collapses_into_depth_bands():
    node = Value(0.1)
    for _ in range(1500):
        node = (node * 0.5).tanh()
    small = collapse(to_networkx(node), threshold=100)
    assert small.number_of_nodes() <= 100
    assert any(d["name"].endswith("steps before the output") for _, d in small.nodes(data=True))


def test_grouping_function_can_be_replaced(tmp_path):
    loss = scalar_mlp_loss(8)
    small = collapse(to_networkx(loss), threshold=50,
                     group_of=lambda name: name.split(".")[0] if name else None)
    titles = {d["name"] for _, d in small.nodes(data=True) if d["kind"] == "group"}
    assert {"L1", "L2"} <= titles and "L1.N0" not in titles


def test_prefix_group():
    assert viz_graph.prefix_group("L1.N3.w0") == "L1.N3"
    assert viz_graph.prefix_group("x") is None
    assert viz_graph.prefix_group(None) is None
