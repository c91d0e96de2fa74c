"""One exception tree. Third-party errors are mapped to these at the edge."""

from __future__ import annotations


class TlsProbeError(Exception):
    """Base of every error tlsprobe raises on purpose."""

    exit_code = 2
    sweep_id: int | None = None  # set when the error stopped a sweep that was begun (and can be resumed)


class InputError(TlsProbeError):
    """Unusable input (targets, profile, waivers, flags): exit code 2, one-line reason."""


class InputErrors(InputError):
    """Several input problems found in one validation pass, reported together."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        first = problems[0] if problems else "invalid input"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class StoreError(TlsProbeError):
    """The history database cannot be used (locked, corrupt, full disk)."""


class AlertError(TlsProbeError):
    """An alert could not be delivered; the run's results are stored."""

    exit_code = 3
