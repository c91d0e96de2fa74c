"""Secrets never leak: fake AWS credentials and a webhook URL with a token in the environment, a sweep with every
output format, metrics and debug logging; neither string is in any file written or anything printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.lab.hostile import HostileLab
from tests.alerts.server import webhook_server
from tests.hostile.conftest import no_traceback, run_cli

AWS_KEY_ID = "AKIAHOSTILETESTKEY42"
AWS_SECRET = "hostile/Secret+Key/do-not-print-0123456789"
SUFFIXES = (".json", ".csv", ".md", ".html", ".sarif", ".xml", ".txt", ".parquet")


def secrets_in(text: bytes, token: str) -> list[str]:
    return [s for s in (AWS_KEY_ID, AWS_SECRET, token) if s.encode() in text]


@pytest.mark.parametrize("webhook_up", [True, False], ids=["webhook-delivered", "webhook-down"])
@pytest.mark.timeout(180)
def test_no_secret_in_outputs_db_metrics_or_console(hostile_lab: HostileLab, tmp_path: Path, webhook_up: bool) -> None:
    with webhook_server([200 if webhook_up else 500]) as receiver:
        token = receiver.url.rsplit("/", 1)[1]
        env = {"AWS_ACCESS_KEY_ID": AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "TLSPROBE_WEBHOOK": receiver.url}
        targets = [f"{e.address}:{e.port}" if ":" not in e.address else f"[{e.address}]:{e.port}"
                   for e in (hostile_lab.endpoint(n) for n in ("ipv6", "before-1970", "fatal-alert"))]
        outputs = [f"-o{tmp_path / ('report' + suffix)}" for suffix in SUFFIXES]
        run = run_cli("scan", *targets, "--ca-file", str(hostile_lab.ca_file), "--deadline", "10", "--timeout", "2",
                      "--db", str(tmp_path / "history.db"), "--metrics-file", str(tmp_path / "metrics.prom"),
                      "--alert-on", "finding", "--log-level", "debug", *outputs, env=env)
        no_traceback(run.stdout, run.stderr)
        assert receiver.requests, "the webhook was called (the URL was really used)"
    assert run.code == (0 if webhook_up else 3), run.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {*SUFFIXES, ".db", ".prom"}
    for path in written:
        assert not secrets_in(path.read_bytes(), token), f"secret in {path.name}"
    assert not secrets_in((run.stdout + run.stderr).encode(), token), "secret printed"
    assert run.stderr.strip(), "debug logging printed something to check"
