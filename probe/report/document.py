"""The JSON scan document (schema tlsprobe.scan/2; /1 read too): build it from results, read it back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import ValidationError

from probe.errors import InputError
from probe.models import (
    SCHEMA_ID,
    SCHEMA_IDS,
    TLS_VERSIONS,
    DiscoveryError,
    EndpointResult,
    Finding,
    Frozen,
    Observation,
    PolicyRef,
    Resource,
    ResourceResult,
    Severity,
    Summary,
    resource_from_legacy,
)
from probe.report.escape import clean_text, json_safe
from probe.report.schema import validate_document

_ENDPOINT_ORDER = (
    "target", "status", "error", "engine", "connections", "duration_s", "tls_versions", "cipher_suites",
    "cipher_preference", "key_exchange_groups", "pq", "dh_bits", "dh_groups", "certificates", "client_auth",
    "vulnerabilities", "http", "notes",
)  # fmt: skip
_TARGET_ORDER = ("host", "port", "ip", "sni", "source")
_CERT_ORDER = (
    "subject", "issuer", "sans", "key_type", "key_bits", "curve", "signature_hash", "not_before", "not_after",
    "days_to_expiry", "chain_trusted", "trust", "hostname_match", "chain",
)  # fmt: skip
_RESOURCE_ORDER = ("provider", "kind", "id", "name", "account", "region", "attributes", "findings", "compliant")
_SEVERITIES_DESC = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))
_MAX_ECHO = 80


class ParsedDocument(Frozen):
    """A scan document read back (or about to be written): results plus the sweep's metadata."""

    policy: PolicyRef
    started_at: datetime
    finished_at: datetime
    results: tuple[EndpointResult, ...] = ()
    resources: tuple[ResourceResult, ...] = ()
    discovery_errors: tuple[DiscoveryError, ...] = ()
    summary: Summary

    def to_document(self) -> dict[str, Any]:
        """This document as the JSON-ready dict `build_document` makes (summary recomputed)."""
        return build_document(
            self.results,
            resources=self.resources,
            policy=self.policy,
            started_at=self.started_at,
            finished_at=self.finished_at,
            discovery_errors=self.discovery_errors,
        )


def summarize(results: Iterable[EndpointResult], resources: Iterable[ResourceResult] = ()) -> Summary:
    """Counts over endpoints (ok, errors, compliant) and resources (compliant), and unwaived findings of both
    per severity."""
    endpoints = ok = errors = compliant = 0
    counts: dict[Severity, int] = {}

    def count(findings: Iterable[Finding]) -> None:
        for finding in findings:
            if not finding.waived:
                counts[finding.severity] = counts.get(finding.severity, 0) + 1

    for result in results:
        endpoints += 1
        if result.observation.status == "ok":
            ok += 1
        else:
            errors += 1
        if result.compliant is True:
            compliant += 1
        count(result.findings)
    resource_count = resources_compliant = 0
    for item in resources:
        resource_count += 1
        resources_compliant += item.compliant is True
        count(item.findings)
    by_severity = {s.value: counts[s] for s in _SEVERITIES_DESC if counts.get(s)}
    return Summary(endpoints=endpoints, ok=ok, errors=errors, compliant=compliant, resources=resource_count,
                   resources_compliant=resources_compliant, findings_by_severity=by_severity)


def _ordered(data: Mapping[str, Any], first: Sequence[str]) -> dict[str, Any]:
    """`data` with the keys of `first` leading in that order, then the rest in their own order."""
    out = {key: data[key] for key in first if key in data}
    out.update((key, value) for key, value in data.items() if key not in out)
    return out


def _protocol_order(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` keyed by protocol version, in protocol order; unknown versions after, sorted."""
    out = {version: values[version] for version in TLS_VERSIONS if version in values}
    out.update((key, values[key]) for key in sorted(values) if key not in out)
    return out


def _finding_entry(finding: Finding) -> dict[str, Any]:
    entry = finding.model_dump(mode="json", exclude={"evidence"})
    entry["evidence"] = json_safe({key: finding.evidence[key] for key in sorted(finding.evidence, key=str)})
    return _ordered(entry, ("rule", "severity", "clause", "message", "evidence", "waived", "waiver"))


def endpoint_entry(result: EndpointResult) -> dict[str, Any]:
    """One endpoint of the document: the observation flattened, then its findings and compliance."""
    observation = result.observation
    data = observation.model_dump(mode="json")
    data["target"] = _ordered(data["target"], _TARGET_ORDER)
    # All six versions always present: true accepted, false refused, null not determined.
    data["tls_versions"] = _protocol_order({**dict.fromkeys(TLS_VERSIONS), **data["tls_versions"]})
    data["cipher_suites"] = _protocol_order(data["cipher_suites"])
    data["certificates"] = [_ordered(cert, _CERT_ORDER) for cert in data["certificates"]]
    entry: dict[str, Any] = {"endpoint": observation.target.key}
    entry.update(_ordered(data, _ENDPOINT_ORDER))
    entry["findings"] = [_finding_entry(finding) for finding in result.findings]
    entry["compliant"] = result.compliant
    return entry


def resource_entry(item: ResourceResult) -> dict[str, Any]:
    """One resource of the document: its identity and attributes, then its findings and compliance."""
    entry = item.resource.model_dump(mode="json")
    entry["findings"] = [_finding_entry(finding) for finding in item.findings]
    entry["compliant"] = item.compliant
    return _ordered(entry, _RESOURCE_ORDER)


def _timestamp(moment: datetime) -> str:
    """ISO 8601; a naive time is taken as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def build_document(
    results: Iterable[EndpointResult],
    *,
    policy: PolicyRef,
    started_at: datetime,
    finished_at: datetime,
    discovery_errors: Sequence[DiscoveryError] = (),
    resources: Iterable[ResourceResult] = (),
) -> dict[str, Any]:
    """The tlsprobe.scan/2 document as a JSON-ready dict in a stable key order."""
    endpoints: list[dict[str, Any]] = []
    summary_input: list[EndpointResult] = []
    for result in results:
        endpoints.append(endpoint_entry(result))
        summary_input.append(result)
    held = list(resources)
    doc: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "policy": policy.model_dump(mode="json"),
        "started_at": _timestamp(started_at),
        "finished_at": _timestamp(finished_at),
        "endpoints": endpoints,
        "resources": [resource_entry(item) for item in held],
        "discovery_errors": [error.model_dump(mode="json") for error in discovery_errors],
        "summary": summarize(summary_input, held).model_dump(mode="json"),
    }
    safe: dict[str, Any] = json_safe(doc)
    return safe


# ---------------------------------------------------------------------------------------------- reading back


def _echo(value: object) -> str:
    text = clean_text(repr(value))
    return text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 1] + "…"


def _model_in(annotation: Any) -> type[Frozen] | None:
    """The model class inside an annotation such as `M`, `M | None` or `tuple[M, ...]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, Frozen):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _prune(annotation: Any, value: Any) -> Any:
    model = _model_in(annotation)
    if model is None:
        return value
    if isinstance(value, Mapping):
        return _known(model, value)
    if isinstance(value, list):
        return [_known(model, item) if isinstance(item, Mapping) else item for item in value]
    return value


def _known(model: type[Frozen], data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `data` that `model` (and its nested models) know: newer documents may carry more."""
    fields = model.model_fields
    return {key: _prune(fields[key].annotation, value) for key, value in data.items() if key in fields}


def _result_from_entry(entry: Mapping[str, Any]) -> EndpointResult:
    data = _known(Observation, entry)
    data["tls_versions"] = {k: v for k, v in entry["tls_versions"].items() if v is not None}
    if data.get("duration_s") is None:
        data.pop("duration_s", None)
    observation = Observation.model_validate(data)
    findings = tuple(Finding.model_validate(_known(Finding, finding)) for finding in entry["findings"])
    return EndpointResult(observation=observation, findings=findings, compliant=entry["compliant"])


def _resource_from_entry(entry: Mapping[str, Any]) -> ResourceResult:
    resource = Resource.model_validate(_known(Resource, entry))
    findings = tuple(Finding.model_validate(_known(Finding, finding)) for finding in entry["findings"])
    return ResourceResult(resource=resource, findings=findings, compliant=entry["compliant"])


def document_from_dict(doc: Mapping[str, Any], *, check_schema: bool = True) -> ParsedDocument:
    """A document dict as typed values; InputError with a one-line reason when it is not one.

    `check_schema=False` skips the JSON Schema pass (the typed models still check every value): for dicts
    this process built with `build_document`, not for input read from outside.
    """
    if not isinstance(doc, Mapping):
        raise InputError(f"not a scan document: expected a JSON object, got {type(doc).__name__}")
    schema_id = doc.get("schema")
    if schema_id not in SCHEMA_IDS:
        raise InputError(
            f"unsupported scan document schema {_echo(schema_id)}; expected one of {', '.join(map(repr, SCHEMA_IDS))}"
        )
    if check_schema:
        validate_document(doc)
    part = "document"
    try:
        results: list[EndpointResult] = []
        resources: list[ResourceResult] = []
        for index, entry in enumerate(doc["endpoints"]):
            part = f"endpoints/{index}"
            result = _result_from_entry(entry)
            legacy = resource_from_legacy(result)  # schema 1 listed ACM/KMS items as pseudo-endpoints
            if legacy is not None:
                resources.append(legacy)
            else:
                results.append(result)
        for index, entry in enumerate(doc.get("resources", ())):
            part = f"resources/{index}"
            resources.append(_resource_from_entry(entry))
        part = "document"
        return ParsedDocument(
            policy=PolicyRef.model_validate(_known(PolicyRef, doc["policy"])),
            started_at=doc["started_at"],
            finished_at=doc["finished_at"],
            results=tuple(results),
            resources=tuple(resources),
            discovery_errors=tuple(
                DiscoveryError.model_validate(_known(DiscoveryError, error)) for error in doc["discovery_errors"]
            ),
            summary=summarize(results, resources),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(part) for part in first["loc"])
        raise InputError(f"invalid scan document at {part}: {clean_text(where)}: {clean_text(first['msg'])}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"invalid scan document at {part}: {_echo(exc)}") from None


def read_document(text: str) -> ParsedDocument:
    """Parse a JSON scan document with its metadata; InputError with a one-line reason when malformed."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a JSON document: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"not a usable JSON document: {_echo(exc)}") from None
    try:
        return document_from_dict(doc)
    except RecursionError:
        raise InputError("invalid scan document: nested too deeply") from None


def parse_document(text: str) -> list[EndpointResult]:
    """The endpoint results of a JSON scan document (see `read_document` for the metadata)."""
    return list(read_document(text).results)
