"""Writing files safely: a temporary file in the same folder, then a rename.

A crash or an error half-way leaves the old file as it was, never a half-written one.
Shared by nn (weights), viz (pictures, pages) and the plots.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def check_path(path: Any, who: str) -> None:
    """A sentence naming ``who`` (the function the user called) for a path that is not one."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{who}: path must be a file name (a str or a pathlib.Path), got "
                        f"{type(path).__name__} {path!r:.40}")


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], object] | bytes) -> Path:
    """Create ``path`` from ``write(file)`` (or from bytes) in one step; return the path.

    An OSError names ``path`` as given, never the temporary file. A symbolic link is
    followed: the file it points to is replaced, and the link stays.
    """
    given = Path(path)
    path = given.resolve() if given.is_symlink() else given
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file", str(given))
    kind = _special_kind(path)
    if kind:  # a rename would replace the fifo or device itself (as root, even /dev/null)
        raise FileExistsError(errno.EEXIST, f"it is {kind}, not a regular file; choose a file "
                              "name", str(given))
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise _naming(error, given) from None
    try:
        with os.fdopen(handle, "wb") as file:
            if isinstance(write, (bytes, bytearray)):
                file.write(write)
            else:
                write(file)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _naming(error, given) from None
        raise
    return given


def _special_kind(path: Path) -> str:
    """What path is when it exists and is not a regular file or a folder, else ""."""
    try:
        mode = path.stat().st_mode
    except OSError:  # it does not exist (or cannot be seen): the rename will tell
        return ""
    kinds = {stat.S_ISFIFO: "a named pipe (fifo)", stat.S_ISCHR: "a character device",
             stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}
    return next((kind for test, kind in kinds.items() if test(mode)), "")


def _naming(error: OSError, path: Path) -> OSError:
    """The same kind of error, about the path the caller gave."""
    return type(error)(error.errno, error.strerror or str(error), str(path))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
