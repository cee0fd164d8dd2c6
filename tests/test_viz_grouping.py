"""viz's collapsed drawing, one box per module: every node in the module it is computed
for, so a feed-forward model's boxes never have an edge from a later box back to an
earlier one, and each box counts the operations of its module."""

import re
from collections import Counter

import networkx as nx
import numpy as np
import pytest

from chaingrad import nn, viz
from chaingrad.autograd import Tensor
from chaingrad.nn import functional as F
from chaingrad.nn.attention import TransformerLM
from chaingrad.nn.scalar import MLP
from chaingrad.viz.dot import build_digraph
from chaingrad.viz.draw import picture

LEAVES = ("parameter", "input", "constant")
TRANSFORMER_MODULES = ["tokens", "positions", "blocks.0", "blocks.1", "norm", "head"]
RESIDUAL_MODULES = ["first", "act", "blocks.0", "blocks.1", "blocks.2", "last"]


def transformer_loss(name_outputs=True):
    model = TransformerLM(vocab_size=9, context=10, dim=16, num_heads=2, num_layers=2, seed=0)
    if name_outputs:
        nn.name_parameters(model)
    else:  # only the weights carry their path
        for path, parameter in model.named_parameters():
            parameter.name = path
    text = np.array([[2, 0, 1, 7, 3, 8, 3, 7, 1, 0]])
    loss = F.cross_entropy(model(text)[0, 5:-1], text[0, 6:])
    loss.name = "loss"
    loss.backward()
    return model, loss


class ResidualBlock(nn.Module):
    """x + W2 relu(W1 x): a block whose output adds its input back."""

    def __init__(self, width, seed):
        self.inner = nn.Linear(width, width, seed=seed)
        self.outer = nn.Linear(width, width, seed=seed + 1)

    def forward(self, x):
        return x + self.outer(F.relu(self.inner(x)))


class ResidualMLP(nn.Module):
    def __init__(self):
        self.first = nn.Linear(2, 8, seed=0)
        self.act = nn.ReLU()
        self.blocks = [ResidualBlock(8, seed=2 * k + 1) for k in range(3)]
        self.last = nn.Linear(8, 1, seed=9)

    def forward(self, x):
        x = self.act(self.first(x))
        for block in self.blocks:
            x = block(x)
        return self.last(x)


def residual_loss(name_outputs=True):
    model = ResidualMLP()
    if name_outputs:
        nn.name_parameters(model)
    else:
        for path, parameter in model.named_parameters():
            parameter.name = path
    x = Tensor(np.random.default_rng(0).normal(size=(4, 2)), name="x")
    loss = ((model(x) - Tensor(np.ones((4, 1)))) ** 2).mean()
    loss.name = "loss"
    loss.backward()
    return model, loss


def boxes(loss):
    pic = picture(loss, collapse_threshold=20, group_by=viz.module_prefix(2))
    graph = pic.graph
    assert graph.graph.get("collapsed")
    return pic, {graph.nodes[n]["name"]: n for n in graph if graph.nodes[n]["kind"] == "group"}


def back_edges(graph, modules, by_name):
    """Edges between module boxes that run from a later module to an earlier one."""
    position = {by_name[name]: k for k, name in enumerate(modules)}
    return [(graph.nodes[a]["name"], graph.nodes[b]["name"]) for a, b in graph.edges()
            if a in position and b in position and position[a] > position[b]]


def ops(graph, box):
    return Counter({op: n for op, n in graph.nodes[box]["ops"].items() if op not in LEAVES})


def own_ops(module, *shape):
    """The operations one module's forward creates, called alone on a leaf input."""
    x = Tensor(np.random.default_rng(1).normal(size=shape), requires_grad=True)
    full = viz.to_networkx(module(x).sum())
    return Counter(d["op"] for _, d in full.nodes(data=True) if d["op"]) - Counter({"sum": 1})


CASES = [(transformer_loss, TRANSFORMER_MODULES), (residual_loss, RESIDUAL_MODULES)]


@pytest.mark.parametrize("name_outputs", [True, False], ids=["outputs named", "weights only"])
@pytest.mark.parametrize("make, modules", CASES, ids=["transformer", "residual MLP"])
def test_no_box_sends_an_edge_back_to_an_earlier_module(make, modules, name_outputs):
    _, loss = make(name_outputs)
    pic, by_name = boxes(loss)
    modules = [m for m in modules if name_outputs or m != "act"]  # no weights, no name
    assert set(modules) <= set(by_name)
    assert back_edges(pic.graph, modules, by_name) == []
    assert nx.is_directed_acyclic_graph(nx.DiGraph(pic.graph))
    order = pic.rank  # the drawing's own forward order agrees with every edge
    assert all(order[a] < order[b] for a, b in pic.graph.edges())


@pytest.mark.parametrize("make, modules", CASES, ids=["transformer", "residual MLP"])
def test_the_dot_source_has_no_edge_back_to_an_earlier_module(make, modules):
    _, loss = make()
    pic, by_name = boxes(loss)
    source = build_digraph(pic.node_ids, pic.labels, pic.edges, pic.edge_texts,
                           pic.edge_counts, pic.legend, pic.notes).source
    position = {by_name[name]: k for k, name in enumerate(modules)}
    edges = re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.MULTILINE)
    between = [(a, b) for a, b in edges if a in position and b in position]
    assert len(between) >= 3  # the blocks follow one another
    assert [(a, b) for a, b in between if position[a] > position[b]] == []


def test_each_transformer_box_counts_the_operations_of_its_module():
    model, loss = transformer_loss()
    pic, by_name = boxes(loss)
    graph = pic.graph
    block_ops = own_ops(model.blocks[0], 1, 10, 16)
    assert ops(graph, by_name["blocks.0"]) == block_ops
    assert ops(graph, by_name["blocks.1"]) == block_ops
    assert ops(graph, by_name["norm"]) == own_ops(model.norm, 1, 10, 16)
    assert ops(graph, by_name["head"]) == own_ops(model.head, 1, 10, 16)


def test_each_residual_block_box_counts_the_operations_of_its_block():
    model, loss = residual_loss()
    pic, by_name = boxes(loss)
    block_ops = own_ops(model.blocks[0], 4, 8)
    for k in range(3):
        assert ops(pic.graph, by_name[f"blocks.{k}"]) == block_ops
    assert ops(pic.graph, by_name["last"]) == own_ops(model.last, 4, 8)


def test_the_collapsed_xor_network_has_no_box_without_a_module():
    """The loss's own steps after the output neuron are drawn as themselves, not in boxes
    named after their depth or "constants"."""
    model = MLP(2, [4, 1], seed=0)
    y = model([1.0, 0.0])
    y.name = "y"
    loss = (y - 1.0) ** 2
    loss.name = "E"
    loss.backward()
    pic = picture(loss, collapse_threshold=10, parameters=model.parameters())
    titles = {d["name"] for _, d in pic.graph.nodes(data=True) if d["kind"] == "group"}
    assert titles == {"L1.N0", "L1.N1", "L1.N2", "L1.N3", "L2.N0"}
    ops_outside = [d["op"] for _, d in pic.graph.nodes(data=True) if d["kind"] != "group"]
    assert "-" in ops_outside  # y - 1, drawn as itself
    kinds = {d["name"]: d["kind"] for _, d in pic.graph.nodes(data=True)}
    assert kinds["1"] == "constant" and kinds["x0"] == "input"


def test_unnamed_tensor_leaves_are_constants_as_in_scalar_graphs():
    scalar = viz.to_networkx(viz_value_times_two())
    tensor = viz.to_networkx((Tensor([1.0, 2.0], name="t") * Tensor([2.0, 2.0])).sum())
    assert {d["kind"] for _, d in scalar.nodes(data=True) if d["name"] == "2"} == {"constant"}
    assert [d["kind"] for _, d in tensor.nodes(data=True) if d["given_name"] is None
            and not d["op"]] == ["constant"]


def viz_value_times_two():
    from chaingrad.autograd import Value

    return Value(3.0, name="a") * 2.0
