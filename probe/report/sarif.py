"""SARIF 2.1.0 (GitHub code scanning and friends): one rule per rule id, one result per unwaived finding.

An endpoint is the result's artifact, addressed as `tls://host:port`. No IO here; `load_sarif_schema` reads
the bundled official schema (sarif-schema-2.1.0.json) for validation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any
from urllib.parse import quote

from probe.models import EndpointResult, Finding, Severity
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


def _fingerprint(key: str, finding: Finding) -> str:
    return hashlib.sha256(f"{key}|{finding.rule}|{finding.message}".encode("utf-8", "replace")).hexdigest()


def _rule(rule_id: str, example: Finding) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": rule_id.replace(".", "_"),
        "shortDescription": {"text": f"{rule_id} ({example.clause})"},
        "helpUri": TOOL_URI,
        "defaultConfiguration": {"level": _LEVEL[example.severity]},
        "properties": {
            "tags": ["security", "tls"],
            "clause": example.clause,
            "security-severity": _SECURITY_SEVERITY[example.severity],
        },
    }


def build_sarif(
    results: Iterable[EndpointResult], *, tool_version: str = "0.1.0", policy_id: str | None = None
) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    rules: dict[str, dict[str, Any]] = {}
    rule_index: dict[str, int] = {}
    worst: dict[str, Severity] = {}
    sarif_results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for result in results:
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
        for finding in result.findings:
            if finding.waived:
                continue
            if finding.rule not in rules:
                rule_index[finding.rule] = len(rules)
                rules[finding.rule] = _rule(finding.rule, finding)
            if finding.severity > worst.get(finding.rule, Severity.INFO):
                worst[finding.rule] = finding.severity
            sarif_results.append(
                {
                    "ruleId": finding.rule,
                    "ruleIndex": rule_index[finding.rule],
                    "level": _LEVEL[finding.severity],
                    "message": {"text": f"{key}: {finding.message}"},
                    "locations": [
                        {
                            "physicalLocation": {"artifactLocation": {"uri": uri}},
                            "logicalLocations": [{"name": key, "kind": "resource"}],
                        }
                    ],
                    "partialFingerprints": {"tlsprobeFinding/v1": _fingerprint(key, finding)},
                    "properties": {
                        "severity": finding.severity.value,
                        "clause": finding.clause,
                        "endpoint": key,
                        "evidence": finding.evidence,
                    },
                }
            )
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


def render_sarif(
    results: Iterable[EndpointResult], *, tool_version: str = "0.1.0", policy_id: str | None = None
) -> str:
    """The SARIF log as JSON text."""
    return (
        json.dumps(build_sarif(results, tool_version=tool_version, policy_id=policy_id), indent=2, ensure_ascii=False)
        + "\n"
    )
