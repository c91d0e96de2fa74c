"""Issue 4's done-means: sweep, change a lab endpoint, sweep again; diff, exit code, webhook, metrics."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from probe.cli.main import app
from probe.lab.manager import running_lab
from probe.lab.paths import DEFAULT_DEFINITION
from tests.alerts.server import webhook_server

HOST = "compliant.lab.tlsprobe.test"


def weakened_definition(tmp_path: Path) -> Path:
    """The shipped lab definition with the compliant endpoint changed: TLS 1.0 enabled and an RSA-2048 key."""
    data = yaml.safe_load(DEFAULT_DEFINITION.read_text())
    for endpoint in data["endpoints"]:
        if endpoint["name"] == "compliant":
            endpoint["server"]["min_version"] = "TLSv1.0"
            endpoint["server"]["ciphers"] = "ECDHE+AESGCM+AES256:ECDHE+AES256:@SECLEVEL=0"
            endpoint["server"]["certificates"] = [{"key": "rsa", "bits": 2048}]
    path = tmp_path / "weakened.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def sweep(db: Path, port: int, ca: Path, *extra: str) -> Any:
    # --connect-to keeps the endpoint's identity (host:443 on 127.0.10.2) while its server moves port;
    # --no-http: port 443 is HTTPS, and the lab server sends no HSTS (http.hsts.missing), not what this is about
    return CliRunner().invoke(
        app,
        ["scan", f"{HOST}:443", "--connect-to", f"{HOST}:443:127.0.10.2:{port}", "--ca-file", str(ca),
         "--db", str(db), "--label", "nightly", "--deadline", "20", "--format", "json", "--no-http", *extra],
    )  # fmt: skip


def test_weakened_endpoint_is_a_regression_with_exit_1_webhook_and_metrics(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with running_lab(tmp_path / "lab1", names=["compliant"]) as lab:
        first = sweep(db, lab.endpoint("compliant").port, lab.ca_file)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["endpoints"][0]["compliant"] is True

    metrics = tmp_path / "tlsprobe.prom"
    with (
        running_lab(tmp_path / "lab2", names=["compliant"], definition=weakened_definition(tmp_path)) as lab,
        webhook_server([200]) as hook,
    ):
        second = sweep(
            db, lab.endpoint("compliant").port, lab.ca_file,
            "--baseline", "previous", "--fail-on", "high", "--alert-webhook", hook.url, "--metrics-file", str(metrics),
        )  # fmt: skip
    assert second.exit_code == 1, second.output
    assert hook.url not in second.output

    diff = CliRunner().invoke(app, ["diff", "--db", str(db), "--label", "nightly", "--baseline", "previous",
                                    "--format", "json", "--fail-on", "high"])  # fmt: skip
    assert diff.exit_code == 1, diff.output
    regressions = json.loads(diff.stdout)["regressions"]
    # TLS 1.0 cannot come alone: OpenSSL's min_version TLSv1.0 enables 1.1 too, and TLS 1.0 has only
    # CBC suites (HMAC-SHA1): exactly those changes, and the weaker key, are the regressions
    named = sorted((r["kind"], r["rule"], r["severity"], r["message"]) for r in regressions)
    assert named == [
        ("key", "cert.key.weak", "medium", "certificate key weakened from RSA-3072 to RSA-2048"),
        ("protocol", "tls.protocol.deprecated", "high", "protocol TLSv1.0 enabled"),
        ("protocol", "tls.protocol.deprecated", "high", "protocol TLSv1.1 enabled"),
        ("suite", "tls.cipher.sha1_mac", "medium", "cipher suite TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA enabled"),
    ]
    assert {r["endpoint"] for r in regressions} == {f"{HOST}:443@127.0.10.2"}

    assert len(hook.requests) == 1, "one webhook per run"
    body = json.dumps(hook.requests[0])
    assert "TLSv1.0" in body and HOST in body

    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    assert families, "metrics file parses"
    compliant = [s for f in families.values() for s in f.samples if "compliant" in s.name and s.labels]
    assert compliant and all(s.value == 0 for s in compliant)

    with sqlite3.connect(db) as conn:
        states = [row[0] for row in conn.execute("SELECT state FROM sweeps ORDER BY id")]
    assert states == ["done", "done"]
