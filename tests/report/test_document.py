"""The JSON scan document: structure, schema, summary, round trip, and reading malformed input."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from probe.errors import InputError
from probe.models import TLS_VERSIONS, CertificateInfo, EndpointResult, Finding, Observation, Severity, Target
from probe.report import (
    build_document,
    format_json,
    load_schema,
    parse_document,
    read_document,
    schema_errors,
    summarize,
    validate_document,
)
from tests.report.factories import (
    DISCOVERY_ERRORS,
    HOSTILE,
    NOW,
    POLICY,
    error_result,
    hostile_result,
    mixed_results,
    ok_result,
)


def _document(results: list[EndpointResult] | None = None) -> dict[str, Any]:
    return build_document(
        mixed_results() if results is None else results,
        policy=POLICY,
        started_at=NOW,
        finished_at=NOW.replace(minute=5),
        discovery_errors=DISCOVERY_ERRORS,
    )


def test_schema_is_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"] == {"const": "tlsprobe.scan/2"}
    old = load_schema("tlsprobe.scan/1")  # kept: documents written before resources had their own list
    Draft202012Validator.check_schema(old)
    assert old["properties"]["schema"] == {"const": "tlsprobe.scan/1"} and "resources" not in old["properties"]


def test_document_follows_design_shape() -> None:
    doc = _document()
    validate_document(doc)
    assert list(doc) == ["schema", "policy", "started_at", "finished_at", "endpoints", "resources", "discovery_errors",
                         "summary"]
    assert doc["schema"] == "tlsprobe.scan/2" and doc["resources"] == []
    assert doc["policy"] == {"id": "OP-POL-001", "profile": "op-pol-001"}
    legacy = doc["endpoints"][1]
    assert legacy["endpoint"] == "legacy.example.com:443@127.0.10.2"
    assert list(legacy["target"])[:5] == ["host", "port", "ip", "sni", "source"]
    assert legacy["target"]["source"]["declared_policy"] == "ELBSecurityPolicy-2016-08"
    assert list(legacy["tls_versions"]) == list(TLS_VERSIONS)
    assert legacy["tls_versions"]["TLSv1.0"] is True
    assert list(legacy["cipher_suites"]) == ["TLSv1.2", "TLSv1.3"]
    assert legacy["findings"][1]["waived"] is True
    assert legacy["findings"][1]["waiver"]["expires"] == "2025-12-31"
    assert legacy["compliant"] is False
    errored = doc["endpoints"][3]
    assert errored["status"] == "error"
    assert errored["error"] == {"kind": "timeout", "message": "no answer in 5.0 s"}
    assert errored["compliant"] is None
    assert errored["tls_versions"] == dict.fromkeys(TLS_VERSIONS)  # unknown, not "refused"
    assert len(doc["endpoints"][2]["certificates"]) == 2
    assert doc["discovery_errors"][0]["error"] == "AccessDenied"


def test_schema_documents_every_model_field() -> None:
    """A field added to the models must be added to the published schema too."""
    defs = load_schema()["$defs"]
    endpoint = set(defs["endpoint"]["properties"])
    assert set(Observation.model_fields) <= endpoint
    assert set(Target.model_fields) <= set(defs["target"]["properties"])
    assert set(CertificateInfo.model_fields) <= set(defs["certificate"]["properties"])


def test_summary_counts_unwaived_findings() -> None:
    results = mixed_results()
    summary = summarize(results)
    assert (summary.endpoints, summary.ok, summary.errors, summary.compliant) == (4, 3, 1, 2)
    # legacy: high + medium unwaived (one high waived); dual: low.
    assert summary.findings_by_severity == {"high": 1, "medium": 1, "low": 1}
    assert list(summary.findings_by_severity) == ["high", "medium", "low"]
    assert _document()["summary"] == summary.model_dump(mode="json")


def test_summary_of_nothing() -> None:
    summary = summarize([])
    assert (summary.endpoints, summary.ok, summary.errors, summary.compliant) == (0, 0, 0, 0)
    assert summary.findings_by_severity == {}
    validate_document(_document([]))


def test_build_document_consumes_an_iterator_once() -> None:
    doc = build_document(iter(mixed_results()), policy=POLICY, started_at=NOW, finished_at=NOW)
    assert doc["summary"]["endpoints"] == len(doc["endpoints"]) == 4


def test_naive_times_are_taken_as_utc() -> None:
    doc = build_document([], policy=POLICY, started_at=datetime(2025, 1, 1), finished_at=datetime(2025, 1, 1, 0, 1))
    assert doc["started_at"] == "2025-01-01T00:00:00+00:00"
    validate_document(doc)


def test_round_trip_gives_equal_results() -> None:
    results = mixed_results() + [hostile_result(text, host=f"h{i}.example.com") for i, text in enumerate(HOSTILE)]
    doc = _document(results)
    text = format_json(doc)
    assert parse_document(text) == results
    document = read_document(text)
    assert document.policy == POLICY
    assert document.started_at == NOW
    assert document.discovery_errors == DISCOVERY_ERRORS
    assert document.summary == summarize(results)
    assert json.loads(format_json(document)) == doc


def test_reader_ignores_fields_it_does_not_know() -> None:
    doc = _document()
    doc["endpoints"][0]["hsts"] = {"max_age": 31536000}
    doc["endpoints"][0]["target"]["zone"] = "eu-west-1a"
    doc["future"] = True
    validate_document(doc)
    assert parse_document(json.dumps(doc)) == mixed_results()


def _broken(mutate: Any) -> dict[str, Any]:
    doc = copy.deepcopy(_document())
    mutate(doc)
    return doc


BROKEN = {
    "wrong schema id": lambda d: d.update(schema="tlsprobe.scan/3"),
    "bad severity": lambda d: d["endpoints"][1]["findings"][0].update(severity="severe"),
    "missing status": lambda d: d["endpoints"][0].pop("status"),
    "unknown status": lambda d: d["endpoints"][0].update(status="maybe"),
    "bad error kind": lambda d: d["endpoints"][3]["error"].update(kind="exploded"),
    "error without error object": lambda d: d["endpoints"][3].update(error=None),
    "ok with an error object": lambda d: d["endpoints"][0].update(error={"kind": "timeout", "message": "x"}),
    "errored with a string compliant": lambda d: d["endpoints"][3].update(compliant="yes"),
    "port out of range": lambda d: d["endpoints"][0]["target"].update(port=70000),
    "missing tls version": lambda d: d["endpoints"][0]["tls_versions"].pop("SSLv2"),
    "string connections": lambda d: d["endpoints"][0].update(connections="57"),
    "bad time": lambda d: d.update(started_at="yesterday"),
    "summary severity": lambda d: d["summary"]["findings_by_severity"].update(severe=1),
    "missing summary": lambda d: d.pop("summary"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_schema_rejects_broken_documents(name: str) -> None:
    doc = _broken(BROKEN[name])
    assert schema_errors(doc)
    with pytest.raises(InputError):
        validate_document(doc)
    with pytest.raises(InputError) as caught:
        parse_document(json.dumps(doc))
    assert "\n" not in str(caught.value)


def test_wrong_schema_id_reason_is_one_line_and_clean() -> None:
    doc = _document()
    doc["schema"] = "evil\n\x1b[31mschema"
    with pytest.raises(InputError) as caught:
        parse_document(json.dumps(doc))
    message = str(caught.value)
    assert "unsupported scan document schema" in message
    assert "\n" not in message and "\x1b" not in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not a JSON document"),
        ("{", "not a JSON document"),
        ("[1, 2]", "expected a JSON object"),
        ('"tlsprobe.scan/1"', "expected a JSON object"),
        ("null", "expected a JSON object"),
        ('{"schema": "tlsprobe.scan/1"}', "invalid scan document"),
        ("[" * 100_000 + "]" * 100_000, "JSON document"),
        ('{"schema": "tlsprobe.scan/1", "n": 1' + "0" * 5000 + "}", "JSON document"),
    ],
)
def test_malformed_text_is_an_input_error(text: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_document(text)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_impossible_date_passing_the_pattern_is_an_input_error() -> None:
    doc = _document()
    doc["endpoints"][0]["certificates"][0]["not_after"] = "2025-13-45T99:00:00Z"
    validate_document(doc)  # the pattern alone cannot tell
    with pytest.raises(InputError) as caught:
        parse_document(json.dumps(doc))
    assert "endpoints/0" in str(caught.value)


def test_evidence_of_any_shape_is_serialised() -> None:
    evidence: dict[str, Any] = {"suites": ("A", "B"), "bits": {512}, "seen": NOW, "ratio": float("nan")}
    finding = Finding(
        rule="tls.kex.weak_dh",
        severity=Severity.MEDIUM,
        clause="OP-POL-001 3.1.2.2",
        message="DH 1024 bits",
        evidence=evidence,
    )
    result = ok_result(findings=(finding,))
    doc = build_document([result], policy=POLICY, started_at=NOW, finished_at=NOW)
    validate_document(doc)
    assert doc["endpoints"][0]["findings"][0]["evidence"] == {
        "bits": [512],
        "ratio": None,
        "seen": NOW.isoformat(),
        "suites": ["A", "B"],
    }
    assert json.loads(format_json(doc)) == doc


def test_errored_endpoint_round_trips() -> None:
    result = error_result()
    text = format_json(_document([result]))
    (back,) = parse_document(text)
    assert back == result
    assert back.observation.target.connect_port == 9443
