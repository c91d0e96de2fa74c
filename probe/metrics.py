"""Prometheus text-format metrics of a run, written atomically (for node_exporter's textfile collector)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from probe.errors import InputError
from probe.models import TLS_VERSIONS, EndpointResult, Frozen, Severity

SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)


class RunInfo(Frozen):
    """Per-run facts the metrics carry besides the endpoints."""

    duration_s: float
    finished_at: float  # unix time
    succeeded: bool = True  # the sweep finished (state done)
    last_success: float | None = None  # unix time of the last done sweep before this one
    label: str = ""
    profile: str = ""


def render_metrics(results: Iterable[EndpointResult], run: RunInfo) -> str:
    """The Prometheus text exposition of a run and its endpoints."""
    registry = CollectorRegistry()
    ep = ["endpoint", "host", "port"]
    compliant = Gauge("tlsprobe_endpoint_compliant", "1 when the endpoint meets the policy, 0 when not "
                      "(absent for an errored endpoint)", ep, registry=registry)
    up = Gauge("tlsprobe_endpoint_up", "1 when the endpoint could be scanned, 0 when it errored", ep,
               registry=registry)
    findings = Gauge("tlsprobe_endpoint_findings", "Unwaived findings on the endpoint by severity",
                     [*ep, "severity"], registry=registry)
    expiry = Gauge("tlsprobe_certificate_expiry_days", "Days until the served certificate expires",
                   [*ep, "certificate", "key_type"], registry=registry)
    versions = Gauge("tlsprobe_tls_version_enabled", "1 when the endpoint accepts the protocol version",
                     [*ep, "version"], registry=registry)
    labels = ["label", "profile"]
    duration = Gauge("tlsprobe_run_duration_seconds", "Wall time of the run", labels, registry=registry)
    endpoints = Gauge("tlsprobe_run_endpoints", "Endpoints in the run", labels, registry=registry)
    errors = Gauge("tlsprobe_run_errors", "Endpoints that could not be scanned", labels, registry=registry)
    run_findings = Gauge("tlsprobe_run_findings", "Unwaived findings in the run by severity", [*labels, "severity"],
                         registry=registry)
    finished = Gauge("tlsprobe_run_finished_timestamp_seconds", "When the run finished (unix time)", labels,
                     registry=registry)
    last_success = Gauge("tlsprobe_last_success_timestamp_seconds", "When the last sweep that finished "
                         "completely ended (unix time)", labels, registry=registry)

    totals = dict.fromkeys(SEVERITIES, 0)
    count = errored = 0
    for result in results:
        count += 1
        target = result.observation.target
        values = (target.key, target.host, str(target.port))
        ok = result.observation.status == "ok"
        up.labels(*values).set(1 if ok else 0)
        if not ok:
            errored += 1
            continue
        if result.compliant is not None:
            compliant.labels(*values).set(1 if result.compliant else 0)
        per = dict.fromkeys(SEVERITIES, 0)
        for finding in result.findings:
            if not finding.waived:
                per[finding.severity.value] += 1
        for severity, n in per.items():
            findings.labels(*values, severity).set(n)
            totals[severity] += n
        for index, cert in enumerate(result.observation.certificates):
            expiry.labels(*values, str(index), cert.key_type).set(cert.days_to_expiry)
        for version in TLS_VERSIONS:
            if version in result.observation.tls_versions:
                versions.labels(*values, version).set(1 if result.observation.tls_versions[version] else 0)
    run_labels = (run.label, run.profile)
    duration.labels(*run_labels).set(run.duration_s)
    endpoints.labels(*run_labels).set(count)
    errors.labels(*run_labels).set(errored)
    for severity, n in totals.items():
        run_findings.labels(*run_labels, severity).set(n)
    finished.labels(*run_labels).set(run.finished_at)
    success = run.finished_at if run.succeeded else run.last_success
    if success is not None:
        last_success.labels(*run_labels).set(success)
    return generate_latest(registry).decode("utf-8")


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` via a temporary file in the same folder and os.replace (readers never see half)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None


def write_metrics(path: str | os.PathLike[str], results: Iterable[EndpointResult], run: RunInfo) -> None:
    """Render the run's metrics and write them atomically to `path` (--metrics-file)."""
    write_atomically(path, render_metrics(results, run))
