"""viz views other than draw: show (rich tree), explain (chain rule), animate (HTML), to_dot."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from graphs import course_example
from rich.console import Console

from chaingrad.autograd import Tensor, Value, backward_steps
from chaingrad.viz import animate, explain, show, to_dot
from chaingrad.viz.graph import to_networkx
from chaingrad.viz.labels import number
from chaingrad.viz.terminal import chain_rule_rows


def recording_console() -> Console:
    return Console(record=True, width=140, color_system=None)


def test_show_prints_every_node_with_value_and_gradient():
    f, nodes = course_example()
    console = recording_console()
    show(f, console=console)
    text = console.export_text()
    assert text.splitlines()[0].startswith("f = q * z")
    for node in (*nodes, f):
        assert f"{node.name}" in text
        assert f"data {number(node.data)}" in text and f"grad {number(node.grad)}" in text


def test_show_prints_a_shared_node_once():
    a = Value(3.0, name="a")
    b = a * a + a
    b.backward()
    console = recording_console()
    show(b, console=console)
    text = console.export_text()
    assert text.count(f"data {number(a.data)}") == 1
    assert text.count("a (see above)") == 2


def test_explain_states_the_chain_rule_with_numbers():
    f, (x, y, z, q) = course_example()
    rows = [text for _, _, text in chain_rule_rows(f)]
    expected = (f"∂f/∂x = ∂f/∂q · ∂q/∂x = ({number(q.grad)})(1) = {number(x.grad)}")
    assert expected in rows
    # At the output: the seed 1 times the local derivative (not "∂f/∂z = ∂f/∂f · ∂f/∂z").
    assert f"∂f/∂z = 1 · (local ∂f/∂z) = (1)({number(q.data)}) = {number(z.grad)}" in rows
    console = recording_console()
    explain(f, console=console)
    assert "∂f/∂x = ∂f/∂q · ∂q/∂x" in console.export_text()


def test_explain_adds_up_a_node_used_several_times():
    a = Value(3.0, name="a")
    b = a * a + a
    b.name = "b"
    b.backward()
    rows = chain_rule_rows(b)
    uses = [text for name, source, text in rows if name == "a" and source != "total"]
    assert len(uses) == 3 and all("+=" in text for text in uses)
    (total,) = [text for name, source, text in rows if source == "total"]
    assert total.endswith(f"= {number(a.grad)}")


def test_explain_handles_tensors():
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="W")
    loss = (w * w).sum()
    loss.name = "loss"
    loss.backward()
    rows = chain_rule_rows(loss)
    assert any("vector-Jacobian product" in text for _, _, text in rows)


def test_animate_has_one_frame_per_step(tmp_path):
    f, _ = course_example()
    path = animate(f, tmp_path / "f.html")
    page = path.read_text(encoding="utf-8")
    frames = re.findall(r'<li class="frame (forward|backward)"', page)
    graph = to_networkx(f)
    assert frames.count("forward") == graph.number_of_nodes()
    assert frames.count("backward") == len(list(backward_steps(f)))
    assert frames.index("backward") == graph.number_of_nodes()  # forward first
    svg = page[page.index("<svg"):page.index("</svg>") + len("</svg>")]
    ET.fromstring(svg)  # the inline picture is well-formed
    assert "∂f/∂q = -4" in page or f"∂f/∂q = {number(f.parents[0].grad)}" in page
    for needle in ('id="previous"', 'id="next"', "ArrowRight", "ArrowLeft"):
        assert needle in page


def test_animate_page_needs_no_network_and_escapes_names(tmp_path):
    x = Value(2.0, name="<script>alert(1)</script>")
    y = (x * x).tanh()
    y.backward()
    page = animate(y, tmp_path / "y.html").read_text(encoding="utf-8")
    assert page.count("<script") == 1  # only the page's own script
    assert not re.search(r"(src|href)\s*=", page)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


def test_animate_frames_match_data_nodes(tmp_path):
    f, _ = course_example()
    page = animate(f, tmp_path / "f.html").read_text(encoding="utf-8")
    frame_nodes = set(re.findall(r'data-node="(n\d+)"', page))
    svg_nodes = set(re.findall(r'<g id="(n\d+)" class="node', page))
    assert frame_nodes == svg_nodes == set(to_networkx(f).nodes)


def test_animate_needs_gradients(tmp_path):
    x = Value(1.0, name="x")
    with pytest.raises(ValueError, match="call backward"):
        animate(x.exp(), tmp_path / "a.html")


def test_to_dot_is_a_left_to_right_digraph():
    graphviz = pytest.importorskip("graphviz")
    f, _ = course_example()
    digraph = to_dot(f)
    assert isinstance(digraph, graphviz.Digraph)
    source = digraph.source
    assert "rankdir=LR" in source
    # Each edge's label is a small node on it: two arrows per edge, one label node each.
    assert source.count("->") == 2 * to_networkx(f).number_of_edges()
    assert source.count("arrowhead=none") == to_networkx(f).number_of_edges()
    assert "∂q/∂x = 1" in source


def test_graphviz_puts_each_edge_label_on_its_own_edge():
    """dot placed a label beside the wrong edge: the label is now a node between the two."""
    pytest.importorskip("graphviz")
    f, (x, y, z, q) = course_example()
    source = to_dot(f).source
    # the label of x -> q sits on the way from x to q, and nowhere else
    label_node = next(line.split()[2].strip('"') for line in source.splitlines()
                      if "arrowhead=none" in line and line.split()[0] == "n0")
    assert f'"{label_node}" -> n' in source
    assert source.count(f'"{label_node}" ->') == 1 and source.count(f'-> "{label_node}"') == 1


def test_a_constant_shows_no_gradient():
    """A constant is never learned: no ∂y/∂1.5 on its edge, no grad in its box."""
    w = Value(0.8, name="w")
    y = w * 1.5
    y.name = "y"
    y.backward()
    source = to_dot(y).source
    assert "∂y/∂w = 1.5" in source and "∂y/∂1.5" not in source
    assert source.count(">grad <") == 2  # the boxes of w and y, not the constant's


def test_animate_without_a_path_shows_inline_and_saves(tmp_path):
    f, _ = course_example()
    stepper = animate(f)
    html = stepper._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "&lt;script&gt;" in html  # page escaped
    path = stepper.save(tmp_path / "f.html")
    assert path.read_text(encoding="utf-8") == str(stepper)
    assert str(stepper) == animate(f, tmp_path / "g.html").read_text(encoding="utf-8")


def test_the_loss_after_a_named_output_is_not_part_of_the_output_neuron():
    """A network's output y (a plain name) passes no group on to the loss (y - 1) ** 2."""
    from chaingrad import nn
    from chaingrad.viz.draw import picture

    model = nn.scalar.MLP(2, [4, 1], seed=0)
    y = model([1.0, 0.0])
    y.name = "y"
    loss = (y - 1.0) ** 2
    loss.name = "E"
    loss.backward()
    pic = picture(loss, collapse_threshold=10, parameters=model.parameters())
    boxes = {pic.graph.nodes[n]["name"]: pic.graph.nodes[n] for n in pic.graph}
    output = boxes["L2.N0"]["output"]
    assert output["name"] == "y" and output["data"] == y.data


def test_show_and_explain_do_not_display_twice_in_jupyter():
    f, _ = course_example()
    console = Console(file=io.StringIO(), force_jupyter=False)
    tree = show(f, console=console)
    assert tree.printed_in_jupyter is False  # in a terminal the returned tree displays
    table = explain(f, console=console)
    assert table.printed_in_jupyter is False


def test_large_tensor_in_terminal_is_summarised():
    t = Tensor(np.arange(30.0), requires_grad=True, name="t")
    s = (t * 2.0).sum()
    s.backward()
    console = recording_console()
    show(s, console=console)
    text = console.export_text()
    assert "(30,) mean 14.5" in text
