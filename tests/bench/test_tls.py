"""A tiny TLS bench cell runs against a real server process and produces a row."""

from __future__ import annotations

from probe.bench.tls_suite import run_cell, servers


def test_tiny_cells_produce_rows() -> None:
    with servers(["ecdsa-p256"]) as (procs, ca):
        full = run_cell(procs["ecdsa-p256"], ca, "ecdsa-p256", "1.2", "full", 0.0, 3)
        resumed = run_cell(procs["ecdsa-p256"], ca, "ecdsa-p256", "1.3", "resume", 0.0, 3)
        kept = run_cell(procs["ecdsa-p256"], ca, "ecdsa-p256", "1.3", "keepalive", 0.0, 3)
    assert full["connections"] == 3 and full["handshakes"] == 3 and full["resumed"] == 0
    assert resumed["resumed"] == 2  # the first connection has no session to offer
    assert kept["connections"] == 1 and kept["handshakes"] == 1
    for row in (full, resumed, kept):
        assert row["p50_ms"] > 0 and row["requests_per_s"] > 0
        assert row["server_cpu_ms"] > 0
