"""Atomic writes: no partial file under the final name, and the mode the umask gives."""

from __future__ import annotations

import os
import stat

import pytest

from mtlib.io import atomic_path, atomic_write_json, atomic_write_text, current_umask


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_honour_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    assert current_umask() == mask
    atomic_write_text(tmp_path / "a.txt", "x")
    atomic_write_json(tmp_path / "sub" / "b.json", {"a": 1})
    with atomic_path(tmp_path / "c.npy", suffix=".npy") as tmp:
        tmp.write_bytes(b"data")
    for name in ("a.txt", "sub/b.json", "c.npy"):
        assert mode(tmp_path / name) == expected, name
    # A rewrite gets the same mode (os.replace keeps the new file's, not the old one's).
    atomic_write_text(tmp_path / "a.txt", "y")
    assert mode(tmp_path / "a.txt") == expected


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "d.txt") as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
