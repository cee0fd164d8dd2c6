"""The ``chaingrad`` command (also ``python -m chaingrad``).

    chaingrad draw "(x + y) * z" x=-2 y=5 z=-4 -o f.svg [--explain] [--animate f.html]
    chaingrad lessons [N] [--step K] [--auto] [--out DIR]
    chaingrad exercises [start N [DIR]]
    chaingrad check FILE... [--pictures DIR] [--report grades.csv] [--feedback DIR] [--json]
    chaingrad autograder gradescope N -o autograder.zip
    chaingrad playground [--port N] [--host 127.0.0.1] [--no-browser]
    chaingrad --version

Each subcommand lives in a module with ``HELP``, ``add_arguments(parser)`` and
``run(arguments) -> exit code``; a user's mistake is one sentence on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from . import __version__
from ._interrupt import ready

# subcommand -> the module that implements it
SUBCOMMANDS = {
    "draw": "chaingrad.draw_command",
    "lessons": "chaingrad.lessons.__main__",
    "exercises": "chaingrad.exercises_command",
    "check": "chaingrad.check_command",
    "autograder": "chaingrad.autograder_command",
    "playground": "chaingrad.lessons.playground.command",
}


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line on stderr (exit 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}; see {self.prog} --help\n")


def parser() -> argparse.ArgumentParser:
    """The whole command line: one subparser per entry of SUBCOMMANDS."""
    top = Parser(
        prog="chaingrad",
        description=("chaingrad: draw computational graphs, step through the lessons, "
                     "do and grade homework (also on Gradescope), train networks in the browser."))
    top.add_argument("--version", action="version", version=f"chaingrad {__version__}")
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
        from .draw_command import protect_leading_minus

        argv = protect_leading_minus(argv)

    def parse_and_run() -> int:
        arguments = parser().parse_args(argv)
        return arguments.run(arguments) or 0

    return guarded(parse_and_run, f"chaingrad {argv[0] if argv and argv[0][0] != '-' else ''}")


def guarded(run: Callable[[], int], who: str) -> int:
    """Run a command; Ctrl-C, a full disk or a closed or full stdout end it with one
    sentence on stderr and a non-zero exit code, never a traceback."""
    try:
        try:
            ready()  # Ctrl-C is a KeyboardInterrupt from here on (quiet exit while starting)
            return run()
        finally:
            sys.stdout.flush()  # a full stdout (> /dev/full) shows here, not at exit
    except KeyboardInterrupt:
        _say(who, "interrupted")
        return 130
    except OSError as error:
        if error.filename is not None:
            where = f"cannot write {str(error.filename)!r}"
        elif error.errno in (errno.EPIPE, errno.ENOSPC, errno.EBADF):
            where = "cannot write the output"
        else:
            raise  # not a writing problem: a bug to see whole
        _say(who, f"{where}: {error.strerror or error}")
        return 1


def _say(who: str, message: str) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)  # so the exit's flush cannot fail again
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    print(f"{who.strip()}: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
