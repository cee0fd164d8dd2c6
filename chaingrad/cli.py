"""The ``chaingrad`` command (also ``python -m chaingrad``).

    chaingrad draw "(x + y) * z" x=-2 y=5 z=-4 -o f.svg [--explain] [--animate f.html]
    chaingrad lessons [N] [--auto] [--out DIR]
    chaingrad exercises [start N [DIR]]
    chaingrad check FILE... [--pictures DIR] [--report grades.csv] [--json] [--timeout S]
    chaingrad playground [--port N] [--host 127.0.0.1] [--no-browser]
    chaingrad --version

Each subcommand lives in a module with ``HELP``, ``add_arguments(parser)`` and
``run(arguments) -> exit code``; a user's mistake is one sentence on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import chaingrad

# subcommand -> the module that implements it
SUBCOMMANDS = {
    "draw": "chaingrad.draw_command",
    "lessons": "chaingrad.lessons.__main__",
    "exercises": "chaingrad.exercises_command",
    "check": "chaingrad.check_command",
    "playground": "chaingrad.lessons.playground.command",
}


def parser() -> argparse.ArgumentParser:
    """The whole command line: one subparser per entry of SUBCOMMANDS."""
    top = argparse.ArgumentParser(
        prog="chaingrad",
        description="chaingrad: draw computational graphs, step through the lessons.")
    top.add_argument("--version", action="version", version=f"chaingrad {chaingrad.__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["draw"]:
        from chaingrad.draw_command import protect_leading_minus

        argv = protect_leading_minus(argv)
    arguments = parser().parse_args(argv)
    return arguments.run(arguments) or 0


if __name__ == "__main__":
    sys.exit(main())
