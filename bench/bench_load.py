"""How long ``nn.load`` takes on a weights file of many small entries (issue #23, class 8).

    python bench/bench_load.py [--members 10000 100000] [--repeats 3] [--source DIR]

Writes a .npz of N entries of 10 float64 each (100,000 entries: about 33 MB) to a
temporary folder, then loads it ``--repeats`` times in this process and prints the best
CPU time (time.process_time) and the cost per entry. ``--source`` imports chaingrad from
another checkout (e.g. a worktree of main) to compare A against B: run both alternately.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--source", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.source))
    import numpy as np

    from chaingrad import nn

    print(f"chaingrad from {os.path.dirname(nn.__file__)}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        for n in args.members:
            path = os.path.join(folder, f"w{n}.npz")
            np.savez(path, **{f"layer{i}.weight": np.full(10, float(i)) for i in range(n)})
            times = []
            for _ in range(args.repeats):
                start = time.process_time()
                state = nn.load(path)
                times.append(time.process_time() - start)
                assert len(state) == n
            best = min(times)
            size = os.path.getsize(path) / 1e6
            print(f"{n:>8,} entries ({size:5.1f} MB): best {best:7.3f} s CPU, "
                  f"{best / n * 1e6:6.1f} µs per entry")


if __name__ == "__main__":
    main()
