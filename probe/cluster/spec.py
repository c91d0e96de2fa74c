"""The `--cluster` value: where a run's chunks are scanned. Parsed without importing Dask.

- `local` or `local:N`: a `LocalCluster` of N worker processes (default: the core count), one thread each,
  bound to 127.0.0.1, started for the run and stopped after it;
- `tcp://HOST:PORT`: an existing Dask scheduler (`dask scheduler`), whose workers run `dask worker`;
- `tls://HOST:PORT`: the same over TLS, with Dask's security settings (`--cluster-tls-ca`, `--cluster-tls-cert`,
  `--cluster-tls-key`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from probe.errors import InputError, TlsProbeError

ClusterKind = Literal["local", "tcp", "tls"]
DEFAULT_CONNECT_TIMEOUT_S = 10.0


class ClusterError(TlsProbeError):
    """The cluster cannot be used: the scheduler is unreachable, it has no workers, or a worker lacks tlsprobe
    (or runs another version of it). Exit code 2, one line."""


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed `--cluster`, with the chunking and TLS settings that go with it."""

    kind: ClusterKind
    workers: int | None = None  # local: worker processes (None: the core count)
    address: str | None = None  # tcp:// or tls:// scheduler address
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    chunk_size: int | None = None  # targets per chunk (None: 4 x --concurrency)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S

    @property
    def local_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def describe(self) -> str:
        if self.kind == "local":
            return f"local:{self.local_workers}"
        return str(self.address)

    def chunk_size_for(self, concurrency: int) -> int:
        return self.chunk_size or max(8, 4 * concurrency)


def parse_cluster(
    value: str | None,
    *,
    tls_ca: Path | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    chunk_size: int | None = None,
) -> ClusterSpec | None:
    """The cluster of `--cluster VALUE` (None without one); InputError with a one-line reason otherwise."""
    tls_given = [name for name, path in (("--cluster-tls-ca", tls_ca), ("--cluster-tls-cert", tls_cert),
                                         ("--cluster-tls-key", tls_key)) if path is not None]
    if value is None or value == "":
        if tls_given or chunk_size is not None:
            given = [*tls_given, *(["--chunk-size"] if chunk_size is not None else [])]
            raise InputError(f"{', '.join(given)} needs --cluster")
        return None
    if chunk_size is not None and chunk_size < 1:
        raise InputError("--chunk-size must be at least 1")
    text = value.strip()
    if text == "local" or text.startswith("local:"):
        if tls_given:
            raise InputError(f"{tls_given[0]} is for --cluster tls://HOST:PORT, not a local cluster")
        count = text.partition(":")[2]
        workers = None
        if count:
            if not count.isdigit() or int(count) < 1:
                raise InputError(f"--cluster {value!r}: local:N needs N >= 1 worker processes")
            workers = int(count)
        return ClusterSpec("local", workers=workers, chunk_size=chunk_size)
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("tcp", "tls"):
        raise InputError(f"--cluster {value!r}: expected local, local:N, tcp://HOST:PORT or tls://HOST:PORT")
    host, colon, port = rest.rstrip("/").rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--cluster {value!r}: expected {scheme}://HOST:PORT (the scheduler's address)")
    if scheme == "tcp" and tls_given:
        raise InputError(f"{tls_given[0]} needs --cluster tls://HOST:PORT, not tcp://")
    if scheme == "tls":
        if tls_ca is None or tls_cert is None:
            raise InputError("--cluster tls:// needs --cluster-tls-ca and --cluster-tls-cert (and the key, unless "
                             "the certificate file holds it)")
        for name, path in (("--cluster-tls-ca", tls_ca), ("--cluster-tls-cert", tls_cert),
                           ("--cluster-tls-key", tls_key)):
            if path is not None and not path.is_file():
                raise InputError(f"{name} {path}: file not found")
    kind: ClusterKind = "tls" if scheme == "tls" else "tcp"
    return ClusterSpec(kind, address=f"{scheme}://{host}:{port}", tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key,
                       chunk_size=chunk_size)


__all__ = ["DEFAULT_CONNECT_TIMEOUT_S", "ClusterError", "ClusterKind", "ClusterSpec", "parse_cluster"]
