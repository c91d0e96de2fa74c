"""`tlsprobe bench tls|kms` write CSVs with the documented columns, plots and a summary."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from probe.cli.bench import app

KMS_COLUMNS = {"strategy", "contexts", "messages", "size", "max_messages", "max_age_s", "kms_calls",
               "kms_calls_encrypt", "kms_calls_decrypt", "p50_ms", "p95_ms", "p99_ms", "msgs_per_s",
               "hit_msgs_per_s", "usd_per_month"}
TLS_COLUMNS = {"key", "version", "strategy", "rtt_ms", "p50_ms", "p95_ms", "p99_ms", "requests_per_s",
               "connections", "server_cpu_ms_per_handshake"}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_kms_command_writes_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["kms", "--strategies", "dek-cache,local-only", "--messages", "30",
                                      "--size", "512", "--contexts", "1,3", "--max-messages", "4", "--rtt", "1",
                                      "--repeat", "2", "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path / "bench-kms.csv")
    assert set(rows[0]) >= KMS_COLUMNS
    assert len(rows) == 4
    dek = [r for r in rows if r["strategy"] == "dek-cache"]
    assert [int(r["kms_calls_encrypt"]) for r in dek] == [8, 9]  # ceil(30/4); 3 x ceil(10/4)
    assert "p50_ms_ci_lo" in rows[0]
    for name in ("bench-kms.md", "bench-kms-cost.csv", "bench-kms-cost.png", "bench-kms-cdf.png",
                 "bench-kms-env.json"):
        assert (tmp_path / name).stat().st_size > 0


def test_tls_command_writes_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tls", "--rtt", "0", "--keys", "ecdsa-p256", "--versions", "1.3",
                                      "--strategies", "full", "--requests", "3", "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path / "bench-tls.csv")
    assert set(rows[0]) >= TLS_COLUMNS and len(rows) == 1
    assert int(rows[0]["connections"]) == 3
    assert (tmp_path / "bench-tls-handshake.png").stat().st_size > 0


def test_bad_option_exits_2() -> None:
    result = CliRunner().invoke(app, ["tls", "--keys", "rsa1024"])
    assert result.exit_code == 2
