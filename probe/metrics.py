"""Prometheus text-format metrics of a run, written atomically (for node_exporter's textfile collector).

Endpoints are labelled `endpoint` (host:port@ip), `host`, `port`; resources (ACM certificates, KMS keys ...)
`provider`, `kind`, `id` (the full ARN), `name`, `account`, `region`, under their own metric names
(`tlsprobe_resource_*`). The run's findings count both.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from probe.models import TLS_VERSIONS, EndpointResult, Finding, Frozen, ResourceResult, Severity
from probe.report.atomic import write_atomically

SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)


class RunInfo(Frozen):
    """Per-run facts the metrics carry besides the endpoints."""

    duration_s: float
    finished_at: float  # unix time
    succeeded: bool = True  # the sweep finished (state done)
    last_success: float | None = None  # unix time of the last done sweep before this one
    label: str = ""
    profile: str = ""


def _unwaived_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    per = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        if not finding.waived:
            per[finding.severity.value] += 1
    return per


def render_metrics(results: Iterable[EndpointResult | ResourceResult], run: RunInfo) -> str:
    """The Prometheus text exposition of a run, its endpoints and its resources (in `results`, any order)."""
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
    res = ["provider", "kind", "id", "name", "account", "region"]
    resource_compliant = Gauge("tlsprobe_resource_compliant", "1 when the resource meets the policy, 0 when not "
                               "(absent when not judged)", res, registry=registry)
    resource_findings = Gauge("tlsprobe_resource_findings", "Unwaived findings on the resource by severity",
                              [*res, "severity"], registry=registry)
    labels = ["label", "profile"]
    duration = Gauge("tlsprobe_run_duration_seconds", "Wall time of the run", labels, registry=registry)
    endpoints = Gauge("tlsprobe_run_endpoints", "Endpoints in the run", labels, registry=registry)
    errors = Gauge("tlsprobe_run_errors", "Endpoints that could not be scanned", labels, registry=registry)
    resources = Gauge("tlsprobe_run_resources", "Resources in the run", labels, registry=registry)
    run_findings = Gauge("tlsprobe_run_findings", "Unwaived findings in the run by severity", [*labels, "severity"],
                         registry=registry)
    finished = Gauge("tlsprobe_run_finished_timestamp_seconds", "When the run finished (unix time)", labels,
                     registry=registry)
    last_success = Gauge("tlsprobe_last_success_timestamp_seconds", "When the last sweep that finished "
                         "completely ended (unix time)", labels, registry=registry)

    totals = dict.fromkeys(SEVERITIES, 0)
    count = errored = resource_count = 0
    for result in results:
        if isinstance(result, ResourceResult):
            resource_count += 1
            item = result.resource
            ident = (item.provider, item.kind, item.id, item.name or "", item.account or "", item.region or "")
            if result.compliant is not None:
                resource_compliant.labels(*ident).set(1 if result.compliant else 0)
            for severity, n in _unwaived_by_severity(result.findings).items():
                resource_findings.labels(*ident, severity).set(n)
                totals[severity] += n
            continue
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
        for severity, n in _unwaived_by_severity(result.findings).items():
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
    resources.labels(*run_labels).set(resource_count)
    for severity, n in totals.items():
        run_findings.labels(*run_labels, severity).set(n)
    finished.labels(*run_labels).set(run.finished_at)
    success = run.finished_at if run.succeeded else run.last_success
    if success is not None:
        last_success.labels(*run_labels).set(success)
    return generate_latest(registry).decode("utf-8")


def write_metrics(path: str | os.PathLike[str], results: Iterable[EndpointResult | ResourceResult],
                  run: RunInfo) -> None:
    """Render the run's metrics (endpoints and resources in `results`) and write them atomically to `path`
    (--metrics-file)."""
    write_atomically(path, render_metrics(results, run))
