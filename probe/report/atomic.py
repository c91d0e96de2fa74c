"""The one atomic file writer: reports (--output), metrics (--metrics-file). The only IO in probe.report.

The content goes to a uniquely named temporary file in the target's folder, is flushed to disk, and replaces
the target with os.replace, so a reader (node_exporter, a CI step) sees the old file or the new one, never half
of one; concurrent writers never share a temporary file, and a failed write leaves none behind.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from probe.errors import InputError

_DEFAULT_MODE = 0o644


def write_atomically(path: str | os.PathLike[str], content: str | bytes | Iterable[str | bytes]) -> None:
    """Write text (UTF-8) or bytes to `path`, creating its folder; the target keeps its permissions (a new file
    gets 0644). `content` may be pieces (a streamed report), written as they come. InputError with a one-line
    reason when it cannot be written."""
    target = Path(path)
    pieces: Iterable[str | bytes] = [content] if isinstance(content, str | bytes) else content
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = _DEFAULT_MODE
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                for piece in pieces:
                    handle.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
