"""Tables: CSV through the csv module (formula cells neutralised), Parquet through pandas and pyarrow.

One row per endpoint x finding. CSV is part of the core install; Parquet needs the parquet extra
(`pip install 'tlsprobe[parquet]'`), and pandas is imported only when a frame or Parquet is asked for.
Formatters return text or bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from probe.extras import require
from probe.models import TLS_VERSIONS, EndpointResult
from probe.report.escape import csv_cell

if TYPE_CHECKING:
    import pandas as pd

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
    """One row per endpoint x finding (an endpoint without findings gets one row with an empty rule), as a
    pandas frame with nullable boolean and integer columns. Needs pandas (the parquet or bench extra)."""
    import pandas as pd

    frame = pd.DataFrame(list(_rows(results)), columns=list(COLUMNS))
    for column in ("compliant", "waived", *(c for c in COLUMNS if c.startswith("tls_"))):
        frame[column] = frame[column].astype("boolean")
    for column in ("port", "cert_days_to_expiry"):
        frame[column] = frame[column].astype("Int64")
    return frame


def render_csv(results: Iterable[EndpointResult]) -> str:
    """CSV text, the rows of `results_frame`: every text cell is cleaned and one starting with = + - @ gets a
    leading quote; booleans are True/False, a missing value is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in _rows(results):
        writer.writerow(csv_cell(v) if isinstance(v, str) else v for v in (row[c] for c in COLUMNS))
    return buffer.getvalue()


def render_parquet(results: Iterable[EndpointResult]) -> bytes:
    """Parquet bytes (pyarrow) of `results_frame`; `MissingExtra` without the parquet extra."""
    require("parquet", "Parquet output")
    buffer = io.BytesIO()
    results_frame(results).to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()
