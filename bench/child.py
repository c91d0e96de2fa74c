"""Bench servers run as child processes (their own GIL): start, wait for `READY <port>`, stop at end of stdin."""

from __future__ import annotations

import subprocess
import sys


class ChildServer:
    """`python -m <module> <args> --host HOST` that prints `READY <port>` and exits when its stdin closes."""

    def __init__(self, module: str, args: list[str], host: str, what: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args, "--host", host],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.stop()
            raise RuntimeError(f"{what} did not start: {line!r}")
        self.address = (host, int(line[1]))

    def stop(self) -> None:
        try:
            if self.proc.stdin is not None and self.proc.poll() is None:
                self.proc.stdin.close()  # the child exits at end of stdin
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
