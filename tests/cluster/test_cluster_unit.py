"""The cluster engine's parts that need no cluster: `--cluster` parsing, streams, the dispatch rule, a chunk
scanned in this process, the workers' version check, an unreachable scheduler and a missing dask extra."""

from __future__ import annotations

import importlib.metadata
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.cluster import ClusterSpec, parse_cluster
from probe.cluster.chunk import Chunk, ChunkSettings, scan_chunk
from probe.cluster.routing import Streams, stream_of
from probe.errors import InputError
from probe.models import Target
from tests.packaging.test_extras import run_without


def test_cluster_values() -> None:
    assert parse_cluster(None) is None
    assert parse_cluster("local") == ClusterSpec("local")
    assert parse_cluster("local:3", chunk_size=7) == ClusterSpec("local", workers=3, chunk_size=7)
    assert parse_cluster("tcp://10.1.2.3:8786") == ClusterSpec("tcp", address="tcp://10.1.2.3:8786")
    spec = parse_cluster("tcp://sched.example:8786")
    assert spec is not None and spec.describe() == "tcp://sched.example:8786" and spec.chunk_size_for(10) == 40


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("local:0", {}, "N >= 1"),
        ("local:x", {}, "N >= 1"),
        ("http://h:1", {}, "expected local"),
        ("tcp://h", {}, "tcp://HOST:PORT"),
        ("tcp://h:99999", {}, "tcp://HOST:PORT"),
        ("tls://h:8786", {}, "--cluster-tls-ca and --cluster-tls-cert"),
        ("tcp://h:8786", {"tls_ca": Path("ca.pem")}, "needs --cluster tls://"),
        ("local", {"tls_cert": Path("c.pem")}, "not a local cluster"),
        ("local", {"chunk_size": 0}, "--chunk-size must be at least 1"),
        (None, {"chunk_size": 5}, "--chunk-size needs --cluster"),
    ],
)
def test_unusable_cluster_values_are_input_errors(value: str | None, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_cluster(value, **kwargs)  # type: ignore[arg-type]


def test_tls_files_must_exist(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(InputError, match=r"--cluster-tls-cert .*missing\.pem: file not found"):
        parse_cluster("tls://h:8786", tls_ca=ca, tls_cert=tmp_path / "missing.pem")
    spec = parse_cluster("tls://h:8786", tls_ca=ca, tls_cert=ca)
    assert spec is not None and spec.kind == "tls"


def test_one_address_always_lands_in_one_stream() -> None:
    assert stream_of("127.0.16.1", 64) == stream_of("127.0.16.1", 64)  # not Python's per-process salted hash
    assert stream_of("127.0.16.1", 64) == zlib.crc32(b"127.0.16.1") % 64  # crc32, stable across processes and machines
    spread = {stream_of(f"10.0.{i // 256}.{i % 256}", 16) for i in range(1000)}
    assert spread == set(range(16))


def test_streams_send_full_chunks_first_partial_ones_when_told_or_lingering() -> None:
    streams = Streams(3, chunk_size=2)
    a, b = "127.0.16.1", next(f"127.0.16.{i}" for i in range(2, 99) if stream_of(f"127.0.16.{i}", 3) != stream_of(
        "127.0.16.1", 3))
    first, second, third = (Target(host=f"{n}.test", ip=ip) for n, ip in (("a1", a), ("a2", a), ("b1", b)))
    for target in (first, second, third):
        streams.add(streams.of(target), target, now=0.0)
    stream_a, stream_b = streams.of(first), streams.of(third)
    assert not streams.has_room(stream_a) and streams.has_room(stream_b) and streams.buffered == 3
    assert streams.pick(0.1, linger=1.0, flush=False) is stream_a, "a full chunk goes first"
    assert streams.take(stream_a) == [first, second]
    stream_a.busy = True
    assert streams.pick(0.1, linger=1.0, flush=False) is None, "a young partial chunk waits for more"
    assert streams.pick(0.1, linger=1.0, flush=True) is stream_b
    assert streams.pick(2.0, linger=1.0, flush=False) is stream_b, "... unless it lingered"
    stream_b.busy = True
    assert streams.pick(2.0, linger=1.0, flush=True) is None, "one chunk per stream in flight"
    assert streams.drain() == [third] and streams.buffered == 0


def test_a_chunk_scanned_here_reports_every_target_once_in_order() -> None:
    targets = [Target(host="127.0.16.200", port=1, ip="127.0.16.200"), Target(host="127.0.16.200", port=1,
                                                                              ip="127.0.16.200")]
    chunk = Chunk(id="c-1", stream=0, targets=tuple(t.model_dump_json() for t in targets),
                  settings=ChunkSettings(timeout=2, deadline=10, no_http=True))
    result = scan_chunk(chunk)
    assert result["id"] == "c-1" and len(result["observations"]) == 2, "duplicates are kept, none is lost"
    assert all('"kind":"refused"' in text for text in result["observations"])


def test_worker_versions_are_named() -> None:
    from probe.cluster.client import version_problems

    found = {"tcp://10.0.0.2:1": "0.1.0", "tcp://10.0.0.3:1": "0.2.0",
             "tcp://10.0.0.4:1": importlib.metadata.PackageNotFoundError("tlsprobe")}
    assert version_problems(found, "0.1.0") == [
        "worker tcp://10.0.0.3:1 runs tlsprobe 0.2.0",
        "worker tcp://10.0.0.4:1 has no tlsprobe installed",
    ]


def test_nothing_listening_at_the_scheduler_exits_2_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", "127.0.16.6:1", "--cluster", "tcp://127.0.16.7:8786", "--db",
                                      str(tmp_path / "h.db")])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == ("tlsprobe: error: cannot reach the Dask scheduler at tcp://127.0.16.7:8786: "
                                     "Connection refused")
    assert not (tmp_path / "h.db").exists()


def test_cluster_without_the_dask_extra_exits_2_with_the_pip_line(tmp_path: Path) -> None:
    done = run_without(("distributed",), "scan", "127.0.16.6:1", "--cluster", "local:2", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "tlsprobe: error: --cluster needs the dask extra (distributed not installed): pip install 'tlsprobe[dask]'"
    )
    plain = run_without(("dask", "distributed"), "scan", "--help", cwd=tmp_path)
    assert plain.returncode == 0 and "--cluster" in plain.stdout
