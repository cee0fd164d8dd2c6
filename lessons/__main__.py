"""``python -m chaingrad.lessons [N] [--step K] [--auto] [--out DIR] [--notebook [DIR]]`` (or
``chaingrad lessons``): list the lessons, step through lesson N, or write it as a notebook."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from rich.console import Console

from .runner import count_steps, find_lessons, is_interactive, lesson_table, run_lesson

HELP = "list the lessons, or step through lesson N"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("number", nargs="?", help="the lesson to run")
    parser.add_argument("--auto", action="store_true",
                        help="run straight through without waiting for Enter")
    parser.add_argument("--step", type=int, default=1, metavar="K",
                        help="go on from step K (the steps before it run without being "
                             "shown: later steps need their variables)")
    parser.add_argument("--out", type=Path, default=Path("lesson-output"),
                        help="folder for the pictures and pages (default: lesson-output/)")
    parser.add_argument("--notebook", nargs="?", const=Path("."), type=Path, metavar="DIR",
                        help="write lesson N as a Jupyter notebook NN_topic.ipynb into DIR "
                             "(default: the current folder) instead of running it")


def main(argv: list[str] | None = None) -> int:
    """``python -m chaingrad.lessons``: parse ``argv`` and run; returns the exit status."""
    from ..cli import Parser, guarded

    parser = Parser(prog="python -m chaingrad.lessons", description=HELP)
    add_arguments(parser)
    arguments = parser.parse_args(argv)

    return guarded(lambda: run(arguments), "python -m chaingrad.lessons")


def _whole_number(text: str) -> int | str:
    """"01" is lesson 1; anything else ("abc", "²", "1.5") stays text: no such lesson."""
    try:
        return int(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    """List the lessons (no number) or run one; returns the exit status."""
    # Prose reads best in lines of at most 100 characters, even in a wide terminal.
    console = Console(highlight=False, width=min(100, shutil.get_terminal_size().columns))
    entries = find_lessons()
    if args.number is None and getattr(args, "notebook", None) is not None:
        console.print("[red]--notebook needs a lesson number[/red], e.g. "
                      "chaingrad lessons 1 --notebook notebooks")
        return 2
    if args.number is None:
        console.print(lesson_table(entries))
        console.print("Run one with: [bold]chaingrad lessons 1[/bold]  "
                      "(--auto to run without pauses, --out DIR for the files, "
                      "--notebook to write it as a Jupyter notebook)")
        return 0
    number = _whole_number(args.number)
    entry = entries.get(number)
    if entry is None or entry.module is None:
        valid = ", ".join(str(n) for n, e in sorted(entries.items()) if e.module)
        reason = "" if entry is None else f" ({entry.error})"
        console.print(f"[red]There is no lesson {args.number}{reason}.[/red] "
                      f"The lessons are: {valid}.")
        return 2
    if getattr(args, "notebook", None) is not None:
        return _write_notebook(entry, args.notebook, console)
    start, steps = getattr(args, "step", 1), count_steps(entry)
    if not 1 <= start <= steps:
        console.print(f"[red]--step {start}: lesson {entry.number} has steps 1 to {steps}."
                      f"[/red] Give one of them, e.g. chaingrad lessons {entry.number} "
                      f"--step {steps}")
        return 2
    problem = _unusable_folder(args.out)
    if problem:
        console.print(f"[red]--out {str(args.out)!r}: {problem}.[/red] "
                      "Give a folder, e.g. --out lesson-output")
        return 2
    auto = args.auto or not is_interactive()
    return run_lesson(entry, args.out, auto, console, start)


def _write_notebook(entry, folder: Path, console: Console) -> int:
    """Write the lesson as a notebook into ``folder``; 0, or 2 when the folder is unusable."""
    from .notebook import write_notebook

    problem = _unusable_folder(folder)
    if problem:
        console.print(f"[red]--notebook {str(folder)!r}: {problem}.[/red] "
                      "Give a folder, e.g. --notebook notebooks")
        return 2
    path = write_notebook(entry, folder)
    console.print(f"Wrote [bold]{path}[/bold]: open it in Jupyter (or upload it to Colab) "
                  "and run the cells in order.")
    return 0


def _unusable_folder(out: Path) -> str:
    """Why ``out`` cannot be the output folder ("" when it can): a file on the way, no rights."""
    for place in (out, *out.parents):
        if place.exists():
            if not place.is_dir():
                return f"{str(place)!r} is a file, not a folder"
            if not os.access(place, os.W_OK):
                return f"cannot write into {str(place)!r}"
            return ""
    return ""


if __name__ == "__main__":
    raise SystemExit(main())
