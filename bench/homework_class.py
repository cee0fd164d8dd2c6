"""Write a class of 30 homework submissions, to time ``chaingrad check`` on a whole class.

    python bench/homework_class.py submissions/
    time chaingrad check submissions/*.py --report grades.csv

Ten files per assignment: three right (the reference solutions), three with a typical
mistake, one untouched stub, one that crashes, one with an endless loop in an exercise and
one that never finishes loading (an endless loop at its top level). Measurement only.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "tests" / "exercise_solutions"

# assignment -> (three typical mistakes, a line to crash, a line to loop forever)
CHANGES = {
    "1": ([("return (grad_out * out * (1 - out),)", "return (-grad_out * out * (1 - out),)"),
           ("dE_dy = (Y - target) * Y * (1 - Y)", "dE_dy = (Y - target)"),
           ("dE_dz = dE_dy * W2 * (1 - h ** 2)", "dE_dz = dE_dy * W2 * (1 - h)")],
          ("    return 1.0, 1.0, z, x + y", "    return 1.0, 1.0, z, x + y + None"),
          ("    df_dq = z\n", "    while True:\n        pass\n")),
    "2": ([("    model.zero_grad()\n", ""),
           ("self.delta = -self.lr * grad + self.alpha * self.delta",
            "self.delta = -self.lr * grad"),
           ("2 * error / n", "error / n")],
          ("    n = len(p)\n", "    n = len(p) / 0\n"),
          ("    return w - lr * grad", "    while w == w:\n        pass")),
    "3": ([("return w, False", "return w, True"),
           ("W[k] += lr * (x - W[k])", "W += lr * (x - W)"),
           ("    np.fill_diagonal(W, 0.0)\n", "")],
          ("    k = int(", "    k = len(W[99]) + int("),
          ("    y = 1.0 if w @ x >= 0 else 0.0\n", "    while True:\n        y = 1.0\n")),
}


def main(folder: str) -> int:
    from chaingrad.lessons.exercises import builtin_assignments

    assignments = builtin_assignments()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for key, (mistakes, crash, loop) in CHANGES.items():
        right = (SOLUTIONS / f"assignment{key}.py").read_text(encoding="utf-8")
        files = {f"right{n}": right for n in (1, 2, 3)}
        for n, (old, new) in enumerate(mistakes, 1):
            files[f"mistake{n}"] = _change(right, old, new)
        files["untouched"] = assignments[key].stub_file()
        files["crashes"] = _change(right, *crash)
        files["loops"] = _change(right, *loop)
        files["never_loads"] = right.replace(f"ASSIGNMENT = {key}\n",
                                             f"ASSIGNMENT = {key}\nwhile True:\n    pass\n")
        for name, text in files.items():
            (out / f"a{key}_{name}.py").write_text(text, encoding="utf-8")
            count += 1
    print(f"wrote {count} submissions into {out}/")
    return 0


def _change(text: str, old: str, new: str) -> str:
    if old not in text:
        raise SystemExit(f"homework_class: the solution no longer contains {old!r}")
    return text.replace(old, new)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "submissions"))
