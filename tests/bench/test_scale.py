"""The scale bench's own parts: targets spread over 127.0.0.0/8, its arithmetic, and a miniature run that writes
its reports (the figures themselves come from `tlsprobe bench scale`, not from tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from probe.bench.scale import extrapolate, goals, reported, run_scale, spread_address, write_sweep_targets


def test_targets_spread_over_127_slash_8_outside_the_labs(tmp_path: Path) -> None:
    addresses = {spread_address(i) for i in range(100_000)}
    assert len(addresses) == 100_000
    assert all(a.startswith("127.") and not a.startswith("127.0.") for a in addresses)
    path = write_sweep_targets(tmp_path / "t.csv", 1000, [("open.test", "127.0.151.1", 4433)])
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 1000 and sum(r["host"] == "open.test" for r in rows) == 1


def test_goals_and_extrapolation_arithmetic() -> None:
    rows = [
        {"scenario": "memory", "mode": "single, --output x.json", "targets": 10_000, "client_rss_mb": 100.0,
         "reported": 10_000},
        {"scenario": "memory", "mode": "single, --output x.json", "targets": 100_000, "client_rss_mb": 120.0,
         "reported": 100_000},
        {"scenario": "fleet", "mode": "single process", "targets": 200, "client_cpu_s": 20.0},
        {"scenario": "fleet", "mode": "--cluster local:2", "targets": 200, "client_cpu_s": 2.0,
         "worker_cpu_s": "9.0 11.0", "connections": 5000, "observation_bytes": 3000},
    ]
    [line] = goals(rows, [10_000, 100_000])
    assert "1.20x" in line and line.endswith("met")
    estimate = " ".join(extrapolate(rows))
    assert "100 ms of worker CPU" in estimate and "10.0 ms of client CPU" in estimate
    assert "278 endpoints/s: 28 worker cores" in estimate and "at least 35 one-thread workers" in estimate


@pytest.mark.timeout(600)
def test_a_miniature_run_writes_the_table_and_counts_every_target(tmp_path: Path) -> None:
    result = run_scale(tmp_path, sizes=[150, 300], fleet_size=3, rtt=5.0, cluster="local:2")
    rows = result["rows"]
    assert [r["scenario"] for r in rows] == ["fleet"] * 3 + ["memory"] * 5
    for row in rows:
        assert row["reported"] == row["targets"] and row["exit"] in (0, 1), row
        assert row["client_rss_mb"] > 20
    clustered = [r for r in rows if "cluster" in r["mode"]]
    assert len(clustered) == 3 and all(len(str(r["worker_rss_mb"]).split()) == 2 for r in clustered)
    single = next(r for r in rows if r["mode"].startswith("single process"))
    assert single["ok"] == 3 and single["connections"] > 3 and single["lab_cpu_s"] is not None
    text = (tmp_path / "bench-scale.md").read_text()
    assert "## Goals" in text and "## Extrapolation" in text and "1,000,000 endpoints in an hour" in text
    assert len(list(csv.DictReader((tmp_path / "bench-scale.csv").open()))) == len(rows)


def test_reported_counts_endpoint_entries(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{\n  "endpoints": [\n    {\n      "endpoint": "a:1",\n      "target": {\n        "endpoint": '
                    '"x"\n      }\n    }\n  ]\n}\n')
    assert reported(path) == 1
