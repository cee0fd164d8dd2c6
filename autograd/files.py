"""Writing files safely: a temporary file in the same folder, then a rename.

A crash or an error half-way leaves the old file as it was, never a half-written one.
Shared by nn (weights), viz (pictures, pages) and the plots.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], object] | bytes) -> Path:
    """Create ``path`` from ``write(file)`` (or from bytes) in one step; return the path."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            if isinstance(write, (bytes, bytearray)):
                file.write(write)
            else:
                write(file)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
