"""Views of huge graphs: draw, animate, show and explain on chains of up to 1,000,000 nodes.

    python bench/bench_views.py [--sizes 10000 100000 1000000]

Each view runs in its own fresh process on a chain ``y = y * w`` (a Value graph, after
backward), and the table gives the view's own time and the process's peak memory
(including the graph itself). The target (issue 11): every view answers in under 10 s and
1 GB for any graph up to a million nodes. This is measurement, not testing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

VIEWS = ("draw builtin", "draw graphviz", "animate", "show", "explain")
HERE = os.path.dirname(os.path.abspath(__file__))


def _chain(size: int):
    from chaingrad.autograd import Value

    y = Value(1.0, name="x")
    w = Value(1.0000001, name="w")
    for _ in range(size - 2):
        y = y * w
    y.backward()
    return y


def _measure(view: str, size: int) -> dict:
    """Inside the child process: build the chain, run one view, report time and memory."""
    import io
    import resource
    import tempfile

    from rich.console import Console

    from chaingrad import viz

    root = _chain(size)
    console = Console(file=io.StringIO(), width=100)
    folder = tempfile.mkdtemp()
    started = time.perf_counter()
    answer = ""
    try:
        if view == "draw builtin":
            viz.draw(root, os.path.join(folder, "g.svg"), engine="builtin")
        elif view == "draw graphviz":
            viz.draw(root, os.path.join(folder, "g.svg"), engine="graphviz")
        elif view == "animate":
            viz.animate(root, os.path.join(folder, "a.html"))
        elif view == "show":
            viz.show(root, console=console)
        else:
            viz.explain(root, console=console)
    except ValueError as error:  # a refusal in one sentence is an answer too
        answer = f"refused: {str(error)[:60]}..."
    seconds = time.perf_counter() - started
    printed = len(console.file.getvalue())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "peak_bytes": peak, "printed": printed, "answer": answer}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args(argv)
    print("| nodes | view | seconds | peak memory (MB) | printed chars | note |")
    print("|---:|---|---:|---:|---:|---|")
    for size in args.sizes:
        for view in VIEWS:
            payload = json.dumps({"view": view, "size": size})
            done = subprocess.run([sys.executable, __file__, "--child", payload],
                                  capture_output=True, text=True, cwd=os.path.dirname(HERE))
            try:
                result = json.loads(done.stdout.strip().splitlines()[-1])
            except (IndexError, ValueError):
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"| {size:,} | {view} | - | - | - | failed: {tail[:60]} |")
                continue
            print(f"| {size:,} | {view} | {result['seconds']:.2f} | "
                  f"{result['peak_bytes'] / 2**20:.0f} | {result['printed']:,} | "
                  f"{result['answer']} |", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        request = json.loads(sys.argv[2])
        print(json.dumps(_measure(request["view"], request["size"])))
    else:
        sys.exit(main())
