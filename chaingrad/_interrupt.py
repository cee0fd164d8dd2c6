"""Ctrl-C while a chaingrad command is still starting: a quiet exit, not a traceback.

A command (``python -m chaingrad.lessons 1``, ``chaingrad check ...``) spends its first
half second importing numpy, matplotlib and rich; a Ctrl-C there would print a
KeyboardInterrupt traceback from deep inside numpy. ``chaingrad/__init__.py`` calls
:func:`quiet_while_starting` first thing when the process is a chaingrad command (never
when chaingrad is imported by a program or a notebook), and ``cli.guarded`` calls
:func:`ready` once the command runs: from then on Ctrl-C is a KeyboardInterrupt again,
which the command turns into one sentence.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

EXIT_CODE = 130  # what a shell reports for a process ended by Ctrl-C


def _started_as_a_command() -> bool:
    """``python -m chaingrad...`` (argv[0] is "-m" while its packages load) or the script.

    Another program run with ``-m`` that imports chaingrad keeps Python's Ctrl-C.
    """
    argv = getattr(sys, "argv", None) or [""]
    if argv[0] != "-m":
        return os.path.basename(argv[0]) in ("chaingrad", "chaingrad.exe")
    original = list(getattr(sys, "orig_argv", []))  # python -X importtime -m chaingrad.lessons
    for index, argument in enumerate(original[1:], start=1):
        if argument.startswith("-m"):
            module = argument[2:] or (original[index + 1] if index + 1 < len(original) else "")
            return module == "chaingrad" or module.startswith("chaingrad.")
    return False


def _exit_quietly(signum: int, frame: Any) -> None:
    try:
        os.write(2, b"\nchaingrad: interrupted\n")
    finally:
        os._exit(EXIT_CODE)  # nothing is half-written yet: the imports are not done


def quiet_while_starting() -> None:
    """Until :func:`ready`, Ctrl-C ends a starting command at once, with no traceback."""
    if (_started_as_a_command() and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        signal.signal(signal.SIGINT, _exit_quietly)


def ready() -> None:
    """The command runs: Ctrl-C raises KeyboardInterrupt again (the command handles it)."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is _exit_quietly):
        signal.signal(signal.SIGINT, signal.default_int_handler)
