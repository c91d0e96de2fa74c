"""Webhook alerts against a real HTTP server on loopback."""

from __future__ import annotations

import json
import logging
import socket

import pytest

from probe.alerts import AlertMessage, WebhookAlerter, build_alert, redact_url
from probe.alerts.webhook import json_body, slack_body
from probe.diff import diff_sweeps
from probe.errors import AlertError, InputError
from probe.models import EndpointResult, ResourceResult, Severity
from tests.alerts.server import webhook_server
from tests.report.factories import ACM_ARN, KMS_ARN, resource_result
from tests.store.factory import MODERN, finding, ok

TOKEN = "T0KEN-s3cr3t-9f8e7d"


def _regressed() -> tuple[AlertMessage, list[str]]:
    old = [ok("a.test"), ok("b.test")]
    new = [ok("a.test", versions={**MODERN, "TLSv1.0": True},
              findings=(finding("tls.protocol.deprecated", Severity.HIGH, "TLSv1.0 is enabled", version="TLSv1.0"),)),
           ok("b.test", findings=(finding("vuln.heartbleed", Severity.CRITICAL, "heartbleed"),))]
    message = build_alert(diff_sweeps(old, new), new, alert_on="regression", sweep_id=7, label="nightly")
    assert message is not None
    return message, ["protocol TLSv1.0 enabled", "heartbleed"]


def test_retries_503_twice_then_delivers_one_json_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    message, expected = _regressed()
    sleeps: list[float] = []
    with webhook_server([503, 503, 200]) as server:
        WebhookAlerter(server.url, attempts=3, backoff_s=0.01, sleep=sleeps.append).send(message)
    assert len(server.requests) == 3 and sleeps == [0.01, 0.02]
    body = server.requests[-1]
    assert body["schema"] == "tlsprobe.alert/1" and body["sweep_id"] == 7 and body["label"] == "nightly"
    listed = [r["message"] for r in body["regressions"]] + [f["message"] for f in body["new_findings"]]
    for text in expected:
        assert any(text in item for item in listed)
    assert {f["rule"] for f in body["new_findings"]} == {"tls.protocol.deprecated", "vuln.heartbleed"}
    assert TOKEN not in caplog.text
    assert server.paths[0].endswith(TOKEN)  # the real URL was used


def test_slack_format(caplog: pytest.LogCaptureFixture) -> None:
    message, expected = _regressed()
    with webhook_server([200]) as server:
        WebhookAlerter(server.url, format="slack").send(message)
    (body,) = server.requests
    assert set(body) == {"text", "blocks"} and "2 regressions" in body["text"]
    sections = "\n".join(b["text"]["text"] for b in body["blocks"] if b["type"] == "section")
    for text in expected:
        assert text in sections
    assert body["blocks"][0]["type"] == "header"


def test_persistent_failure_raises_alert_error_without_the_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    message, _ = _regressed()
    with webhook_server([500]) as server, pytest.raises(AlertError) as caught:
        WebhookAlerter(server.url, attempts=3, backoff_s=0.01).send(message)
    assert len(server.requests) == 3
    text = str(caught.value)
    assert caught.value.exit_code == 3
    assert "HTTP 500" in text and "3 attempts" in text and "http://127.0.0.1" in text
    assert TOKEN not in text and "/hooks" not in text and TOKEN not in repr(caught.value)
    assert caplog.records and TOKEN not in caplog.text  # httpx logged the requests, redacted


def test_client_error_is_not_retried() -> None:
    message, _ = _regressed()
    with webhook_server([404]) as server, pytest.raises(AlertError, match="HTTP 404"):
        WebhookAlerter(server.url, attempts=3, backoff_s=0.01).send(message)
    assert len(server.requests) == 1


def test_timeouts_and_refused_connections_are_retried_then_fail() -> None:
    message, _ = _regressed()
    with webhook_server([200], delay_s=0.6) as server, pytest.raises(AlertError, match="timed out") as caught:
        WebhookAlerter(server.url, attempts=2, backoff_s=0.01, timeout_s=0.2).send(message)
    assert len(server.requests) == 2 and TOKEN not in str(caught.value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(AlertError, match="connection failed") as refused:
            WebhookAlerter(f"http://127.0.0.1:{port}/x/{TOKEN}", attempts=2, backoff_s=0.01).send(message)
    assert TOKEN not in str(refused.value)


def test_build_alert_modes() -> None:
    old = [ok("a.test")]
    new = [ok("a.test", findings=(finding("cert.untrusted", Severity.HIGH, "self-signed", waived=True),
                                  finding("tls.cipher.aes128", Severity.LOW, "aes128"))),
           ok("new.test", findings=(finding("cert.expired", Severity.HIGH, "expired"),))]
    diff = diff_sweeps(old, new)
    assert build_alert(diff, new, alert_on="regression") is not None  # the low aes128 finding is a regression
    quiet = diff_sweeps(new, new)
    assert build_alert(quiet, new, alert_on="regression") is None
    assert build_alert(quiet, new, alert_on="finding") is None  # nothing new since the baseline
    first_run = build_alert(None, new, alert_on="finding")
    assert first_run is not None and [f.endpoint for f in first_run.new_findings] == ["new.test:443"]


def test_redaction_and_validation() -> None:
    assert redact_url("https://user:pw@hooks.example.test:8443/services/T/B/X?token=1") == (
        "webhook at https://hooks.example.test")
    assert redact_url("not a url") == "webhook"
    with pytest.raises(InputError) as caught:
        WebhookAlerter(f"ftp://example.test/{TOKEN}")
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(WebhookAlerter(f"https://example.test/{TOKEN}"))


def test_alert_names_resources_by_their_id() -> None:
    old_key = resource_result("kms-key", KMS_ARN, None)
    new_key = resource_result("kms-key", KMS_ARN, None,
                              finding("kms.rotation_disabled", Severity.MEDIUM, "automatic key rotation is disabled"))
    expired = resource_result("acm-certificate", ACM_ARN, "api.example.com",
                              finding("acm.expired", Severity.HIGH, "certificate expired 3 day(s) ago"))
    new: list[EndpointResult | ResourceResult] = [ok("a.test"), new_key, expired]
    diff = diff_sweeps([ok("a.test")], [ok("a.test")], old_resources=[old_key], new_resources=[new_key, expired])
    message = build_alert(diff, new, alert_on="finding", sweep_id=3, label="cloud")
    assert message is not None and (message.endpoints, message.errors, message.resources) == (1, 0, 2)
    assert [(r.endpoint, r.rule) for r in message.regressions] == [(KMS_ARN, "kms.rotation_disabled")]
    assert [(f.endpoint, f.rule) for f in message.new_findings] == [(ACM_ARN, "acm.expired")]  # appeared
    body = slack_body(message)
    assert "1 endpoints, 0 errored, 2 resources" in json.dumps(body)
    sections = "\n".join(b["text"]["text"] for b in body["blocks"] if b["type"] == "section")
    assert f"{KMS_ARN}: new finding on kms-key" in sections and ".invalid" not in sections
    assert json_body(message)["resources"] == 2
