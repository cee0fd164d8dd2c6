"""Render times of viz.draw for scalar MLP graphs of about 200, 2,000 and 20,000 Values.

    python bench/bench_render.py            # both engines (graphviz only if dot is on PATH)

Two kinds of graph: a scalar MLP (weights named "L1.N3.w0" as nn.scalar names them)
applied to a batch of samples with a squared-error loss, so its node count grows with the
batch; and a long sum of tanh(a * b) over unnamed inputs, which no name can group.
Graphs above 500 nodes are collapsed before layout: by neuron, or else in depth bands.
Times include reading the graph, collapsing, layout and writing the SVG.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaingrad import viz  # noqa: E402
from chaingrad.autograd import Value  # noqa: E402
from chaingrad.viz.graph import traversal  # noqa: E402

SIZES = (200, 2_000, 20_000)


def mlp_graph(target: int) -> Value:
    """A loss over as many samples as it takes to reach ``target`` nodes."""
    from chaingrad import nn

    widths = [4, 1] if target <= 500 else [16, 16, 1]
    model = nn.scalar.MLP(2, widths, seed=0)
    total, loss, sample = 0, None, 0
    while total < target:
        x = [Value(0.1 * sample, name=f"x{sample}_0"), Value(-0.2 * sample, name=f"x{sample}_1")]
        error = (model(x) - 1.0) ** 2
        loss = error if loss is None else loss + error
        sample += 1
        total = len(traversal(loss))
    loss.name = "loss"
    loss.backward()
    return loss


def unnamed_graph(target: int) -> Value:
    """A long sum of tanh(a * b) over 50 unnamed inputs: nothing to group by name."""
    generator = random.Random(0)
    inputs = [Value(generator.uniform(-1.0, 1.0)) for _ in range(50)]
    total, count = inputs[0], 50
    while count < target:
        a, b = generator.choice(inputs), generator.choice(inputs)
        total = total + (a * b).tanh()
        count += 3
    total.name = "total"
    total.backward()
    return total


def main() -> None:
    engines = ["builtin"] + (["graphviz"] if shutil.which("dot") else [])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind, build in (("MLP (named)", mlp_graph), ("sum (unnamed)", unnamed_graph)):
            for size in SIZES:
                root = build(size)
                nodes = len(traversal(root))
                for engine in engines:
                    start = time.perf_counter()
                    viz.draw(root, Path(folder) / f"g{size}-{engine}.svg", engine=engine)
                    seconds = time.perf_counter() - start
                    rows.append((kind, nodes, engine, seconds))
                    print(f"{kind:<14} {nodes:>8} nodes  {engine:<9} {seconds:7.2f} s",
                          flush=True)
    print("\n| graph | Values | engine | seconds |\n|---|---:|---|---:|")
    for kind, nodes, engine, seconds in rows:
        print(f"| {kind} | {nodes:,} | {engine} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
