"""Shared CLI plumbing: option types, logging to stderr, one-line errors and exit codes."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from probe.errors import InputErrors, TlsProbeError
from probe.report.atomic import write_atomically

stderr = Console(stderr=True, highlight=False)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def setup_logging(level: LogLevel, fmt: LogFormat) -> None:
    """Log to stderr at `level` in text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter() if fmt == LogFormat.JSON else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger("probe")
    root.handlers[:] = [handler]
    root.setLevel(level.value.upper())
    root.propagate = False


def one_line(text: str) -> str:
    """A message fit for one terminal line: control characters removed."""
    return _CONTROL.sub(" ", text).strip()


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `tlsprobe: error: <message>` on stderr and exit with `code`."""
    stderr.print(f"tlsprobe: error: {one_line(message)}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def fail_from(exc: TlsProbeError) -> NoReturn:
    """Exit with the error's code; several input problems are listed one per line."""
    if isinstance(exc, InputErrors) and len(exc.problems) > 1:
        stderr.print(f"tlsprobe: error: {len(exc.problems)} problems in the input:", markup=False)
        for problem in exc.problems:
            stderr.print(f"  {one_line(problem)}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code)
    fail(str(exc), exc.exit_code)


def write_output(content: str | bytes | Iterable[str | bytes], output: Path | None) -> None:
    """Write a report (text, or bytes such as Parquet; or its pieces, as a streamed report comes) to `output`
    atomically, or to stdout."""
    if output is None:
        pieces: Iterable[str | bytes] = [content] if isinstance(content, str | bytes) else content
        last = ""
        for piece in pieces:
            if isinstance(piece, bytes):
                if sys.stdout.isatty():
                    fail("this format is binary: give --output FILE")
                sys.stdout.buffer.write(piece)
                last = "\n"
            elif piece:
                sys.stdout.write(piece)
                last = piece[-1]
        if last != "\n":
            sys.stdout.write("\n")
        sys.stdout.flush()
        return
    try:
        write_atomically(output, content)
    except TlsProbeError as exc:
        fail_from(exc)


LogLevelOpt = Annotated[LogLevel, typer.Option("--log-level", help="Log level (to stderr).")]
LogFormatOpt = Annotated[LogFormat, typer.Option("--log-format", help="Log format (to stderr).")]
