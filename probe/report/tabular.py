"""Tables through pandas: CSV (formula cells neutralised) and Parquet. Formatters return text or bytes."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import pandas as pd

from probe.models import TLS_VERSIONS, EndpointResult
from probe.report.escape import csv_cell

COLUMNS: tuple[str, ...] = (
    "endpoint",
    "host",
    "port",
    "ip",
    "status",
    "error_kind",
    "error_message",
    "compliant",
    *(f"tls_{v.replace('.', '_')}" for v in TLS_VERSIONS),
    "cert_subject",
    "cert_key",
    "cert_days_to_expiry",
    "rule",
    "severity",
    "clause",
    "waived",
    "message",
)


def _rows(results: Iterable[EndpointResult]) -> Iterable[dict[str, Any]]:
    for result in results:
        obs = result.observation
        cert = obs.certificates[0] if obs.certificates else None
        base: dict[str, Any] = {
            "endpoint": obs.target.key,
            "host": obs.target.host,
            "port": obs.target.port,
            "ip": obs.target.ip,
            "status": obs.status,
            "error_kind": obs.error.kind.value if obs.error else None,
            "error_message": obs.error.message if obs.error else None,
            "compliant": result.compliant,
            **{f"tls_{v.replace('.', '_')}": obs.tls_versions.get(v) for v in TLS_VERSIONS},
            "cert_subject": cert.subject if cert else None,
            "cert_key": f"{cert.key_type}-{cert.key_bits}" if cert else None,
            "cert_days_to_expiry": cert.days_to_expiry if cert else None,
        }
        if not result.findings:
            yield {**base, "rule": None, "severity": None, "clause": None, "waived": None, "message": None}
        for finding in result.findings:
            yield {
                **base,
                "rule": finding.rule,
                "severity": finding.severity.value,
                "clause": finding.clause,
                "waived": finding.waived,
                "message": finding.message,
            }


def results_frame(results: Iterable[EndpointResult]) -> pd.DataFrame:
    """One row per endpoint x finding (an endpoint without findings gets one row with an empty rule)."""
    frame = pd.DataFrame(list(_rows(results)), columns=list(COLUMNS))
    for column in ("compliant", "waived", *(c for c in COLUMNS if c.startswith("tls_"))):
        frame[column] = frame[column].astype("boolean")
    for column in ("port", "cert_days_to_expiry"):
        frame[column] = frame[column].astype("Int64")
    return frame


def render_csv(results: Iterable[EndpointResult]) -> str:
    """CSV text; every text cell is cleaned and one starting with = + - @ gets a leading quote."""
    frame = results_frame(results)
    text_columns = [c for c in frame.columns if frame[c].dtype == object or str(frame[c].dtype) in ("str", "string")]
    for column in text_columns:
        frame[column] = frame[column].map(lambda v: csv_cell(v) if isinstance(v, str) else v)
    return str(frame.to_csv(index=False, lineterminator="\n"))


def render_parquet(results: Iterable[EndpointResult]) -> bytes:
    """Parquet bytes (pyarrow) of `results_frame`."""
    buffer = io.BytesIO()
    results_frame(results).to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()
