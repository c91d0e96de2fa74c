"""SARIF 2.1.0 (GitHub code scanning and friends): one rule per rule id, one result per unwaived finding.

An endpoint is the result's artifact, addressed as `tls://host:port`; a resource (an ACM certificate, a KMS
key ...) is addressed by its own id (the ARN, percent-encoded where a URI needs it), with a logical location
whose fully qualified name is the id. No IO here; `load_sarif_schema` reads the bundled official schema
(sarif-schema-2.1.0.json) for validation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any
from urllib.parse import quote

from probe.models import EndpointResult, Finding, Resource, ResourceResult, Severity
from probe.report.context import ReportContext, Result
from probe.report.escape import json_safe

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://github.com/tlsprobe/tlsprobe"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub ranks security results by this property (0.0-10.0).
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def load_sarif_schema() -> dict[str, Any]:
    """The bundled official SARIF 2.1.0 JSON schema."""
    text = resources.files("probe.report").joinpath("sarif-schema-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def endpoint_uri(result: EndpointResult) -> str:
    """`tls://host:port` (IPv6 hosts in brackets), percent-encoded where needed."""
    target = result.observation.target
    host = f"[{target.host}]" if ":" in target.host else quote(target.host, safe="-._~")
    return f"tls://{host}:{target.port}"


def resource_uri(resource: Resource) -> str:
    """The resource's id as a URI reference: an ARN as it is (`arn:aws:kms:…:key/1234`), other characters
    percent-encoded."""
    return quote(resource.id, safe=":/-._~@!$&'()*+,;=")


def _fingerprint(key: str, finding: Finding) -> str:
    return hashlib.sha256(f"{key}|{finding.rule}|{finding.message}".encode("utf-8", "replace")).hexdigest()


def _rule(rule_id: str, example: Finding, tag: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": rule_id.replace(".", "_"),
        "shortDescription": {"text": f"{rule_id} ({example.clause})"},
        "helpUri": TOOL_URI,
        "defaultConfiguration": {"level": _LEVEL[example.severity]},
        "properties": {
            "tags": ["security", tag],
            "clause": example.clause,
            "security-severity": _SECURITY_SEVERITY[example.severity],
        },
    }


def build_sarif(
    items: Iterable[Result], *, tool_version: str = "0.1.0", policy_id: str | None = None
) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict: endpoints' and resources' unwaived findings."""
    rules: dict[str, dict[str, Any]] = {}
    rule_index: dict[str, int] = {}
    worst: dict[str, Severity] = {}
    sarif_results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []

    def add(finding: Finding, key: str, location: dict[str, Any], tag: str, properties: dict[str, Any]) -> None:
        if finding.rule not in rules:
            rule_index[finding.rule] = len(rules)
            rules[finding.rule] = _rule(finding.rule, finding, tag)
        if finding.severity > worst.get(finding.rule, Severity.INFO):
            worst[finding.rule] = finding.severity
        sarif_results.append(
            {
                "ruleId": finding.rule,
                "ruleIndex": rule_index[finding.rule],
                "level": _LEVEL[finding.severity],
                "message": {"text": f"{key}: {finding.message}"},
                "locations": [location],
                "partialFingerprints": {"tlsprobeFinding/v1": _fingerprint(key, finding)},
                "properties": {
                    "severity": finding.severity.value,
                    "clause": finding.clause,
                    **properties,
                    "evidence": finding.evidence,
                },
            }
        )

    for item in items:
        if isinstance(item, ResourceResult):
            resource = item.resource
            location = {
                "physicalLocation": {"artifactLocation": {"uri": resource_uri(resource)}},
                "logicalLocations": [{"name": resource.short_id, "fullyQualifiedName": resource.id,
                                      "kind": "resource"}],
            }
            about = {"resource": resource.id, "provider": resource.provider, "kind": resource.kind}
            for finding in item.findings:
                if not finding.waived:
                    add(finding, resource.id, location, "cloud", about)
            continue
        result = item
        uri = endpoint_uri(result)
        key = result.observation.target.key
        if result.observation.status == "error":
            error = result.observation.error
            text = f"{key}: not scanned ({error.kind.value}: {error.message})" if error else f"{key}: not scanned"
            notifications.append(
                {
                    "level": "warning",
                    "message": {"text": text},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                }
            )
            continue
        location = {
            "physicalLocation": {"artifactLocation": {"uri": uri}},
            "logicalLocations": [{"name": key, "kind": "resource"}],
        }
        for finding in result.findings:
            if not finding.waived:
                add(finding, key, location, "tls", {"endpoint": key})
    for rule_id, severity in worst.items():
        rules[rule_id]["defaultConfiguration"]["level"] = _LEVEL[severity]
        rules[rule_id]["properties"]["security-severity"] = _SECURITY_SEVERITY[severity]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "tlsprobe",
                "version": tool_version,
                "informationUri": TOOL_URI,
                "rules": list(rules.values()),
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": sarif_results,
    }
    if policy_id:
        run["properties"] = {"policy": policy_id}
    log: dict[str, Any] = json_safe({"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]})
    return log


def render_sarif(items: Iterable[Result], context: ReportContext, *, tool_version: str | None = None) -> str:
    """The SARIF log as JSON text, with the run's policy; the tool version is tlsprobe's unless given."""
    if tool_version is None:
        from probe import __version__

        tool_version = __version__
    log = build_sarif(items, tool_version=tool_version, policy_id=context.policy.id)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
