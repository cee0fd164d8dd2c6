"""Files are written whole or not at all, with the usual permissions."""

import os
import stat

import pytest

from chaingrad.autograd.files import write_atomic


def test_writes_bytes_with_the_usual_mode(tmp_path):
    target = write_atomic(tmp_path / "sub" / "f.svg", b"<svg/>")
    assert target.read_bytes() == b"<svg/>"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_a_failure_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "weights.npz"
    target.write_bytes(b"old")

    def explode(file):
        file.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, explode)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.npz"]
