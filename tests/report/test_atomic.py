"""The one atomic file writer (probe.report.atomic): reports and metrics."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from probe.errors import InputError
from probe.report.atomic import write_atomically


def _leftovers(folder: Path, keep: str) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name != keep]


def test_writes_text_and_bytes_creating_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "report.md"
    write_atomically(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    write_atomically(target, b"PAR1\x00")
    assert target.read_bytes() == b"PAR1\x00"
    assert _leftovers(target.parent, "report.md") == []


def test_replaces_whole_and_keeps_the_permissions(tmp_path: Path) -> None:
    target = tmp_path / "metrics.prom"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    before = target.stat().st_ino
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n" and target.stat().st_ino != before
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failed_write_leaves_no_temporary_and_says_why(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # os.replace cannot put a file over a directory
    (target / "inside").write_text("x")
    with pytest.raises(InputError, match=r"^cannot write .*taken: "):
        write_atomically(target, "text")
    assert _leftovers(tmp_path, "taken") == []


def test_an_unwritable_folder_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        write_atomically(blocker / "report.json", "{}")
