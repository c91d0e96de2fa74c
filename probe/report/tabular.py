"""Tables: CSV through the csv module (every cell cleaned, formula cells neutralised), Parquet through pandas and
pyarrow. The one CSV writer of tlsprobe.

One row per finding of each endpoint and each resource, in stream order; an endpoint or a resource without
findings gets one row with an empty rule. `type` tells the rows apart:

- `endpoint`: `endpoint` (its key, host:port@ip), `host`, `port`, `ip`, `sni`, the scan's `status` and error,
  the accepted protocol versions (`tls_*`) and the default certificate; `provider`, `kind`, `id`, `account`,
  `region` say where discovery found it (the listener's or distribution's ARN in `id`), empty for a target given
  on the command line.
- `resource` (an ACM certificate, a KMS key ...): `provider`, `kind`, `id` (the full ARN or provider id),
  `name`, `account`, `region`; the endpoint columns are empty. No host name is made up for a resource.

The first columns (`endpoint,host,port,ip,status,`) are those of earlier versions. Booleans are `true`/`false`,
a missing value is an empty cell. CSV is part of the core install; Parquet needs the parquet extra
(`pip install 'tlsprobe[parquet]'`), and pandas is imported only when a frame or Parquet is asked for.
Formatters return text or bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from probe.extras import require
from probe.models import TLS_VERSIONS, EndpointResult, Finding, ResourceResult
from probe.report.context import ReportContext, Result
from probe.report.escape import csv_cell
from probe.report.view import sorted_findings

if TYPE_CHECKING:
    import pandas as pd

_TLS_COLUMNS = tuple(f"tls_{v.replace('.', '_')}" for v in TLS_VERSIONS)
COLUMNS: tuple[str, ...] = (
    "endpoint", "host", "port", "ip", "status", "error_kind", "error_message", "compliant",
    *_TLS_COLUMNS,
    "cert_subject", "cert_key", "cert_days_to_expiry", "sni",
    "type", "provider", "kind", "id", "name", "account", "region",
    "rule", "severity", "clause", "waived", "waiver_reason", "message",
)  # fmt: skip
_BOOLEAN_COLUMNS = ("compliant", "waived", *_TLS_COLUMNS)
_INTEGER_COLUMNS = ("port", "cert_days_to_expiry")


def _endpoint_base(result: EndpointResult) -> dict[str, Any]:
    obs = result.observation
    target = obs.target
    source = target.source
    cert = obs.certificates[0] if obs.certificates else None
    return {
        "endpoint": target.key,
        "host": target.host,
        "port": target.port,
        "ip": target.ip,
        "status": obs.status,
        "error_kind": obs.error.kind.value if obs.error else None,
        "error_message": obs.error.message if obs.error else None,
        "compliant": result.compliant,
        **{column: obs.tls_versions.get(v) for column, v in zip(_TLS_COLUMNS, TLS_VERSIONS, strict=True)},
        "cert_subject": cert.subject if cert else None,
        "cert_key": f"{cert.key_type}-{cert.key_bits}" if cert else None,
        "cert_days_to_expiry": cert.days_to_expiry if cert else None,
        "sni": target.sni,
        "type": "endpoint",
        "provider": source.provider,
        "kind": source.kind,
        "id": source.arn,
        "account": source.account,
        "region": source.region,
    }


def _resource_base(item: ResourceResult) -> dict[str, Any]:
    resource = item.resource
    return {
        "compliant": item.compliant,
        "type": "resource",
        "provider": resource.provider,
        "kind": resource.kind,
        "id": resource.id,
        "name": resource.name,
        "account": resource.account,
        "region": resource.region,
    }


def _finding_cells(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "clause": finding.clause,
        "waived": finding.waived,
        "waiver_reason": finding.waiver.reason if finding.waiver else None,
        "message": finding.message,
    }


def _rows(items: Iterable[Result]) -> Iterator[dict[str, Any]]:
    """Every row as a dict over COLUMNS (missing values None)."""
    empty = dict.fromkeys(COLUMNS)
    for item in items:
        base = {**empty, **(_resource_base(item) if isinstance(item, ResourceResult) else _endpoint_base(item))}
        findings = sorted_findings(item)
        if not findings:
            yield base
        for finding in findings:
            yield {**base, **_finding_cells(finding)}


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return csv_cell(value)
    return "" if value is None else value


def csv_text(items: Iterable[Result], rows_per_piece: int = 500) -> Iterator[str]:
    """The CSV report in pieces of `rows_per_piece` rows (the header first), as the results stream."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for count, row in enumerate(_rows(items), 1):
        writer.writerow([_csv_value(row[column]) for column in COLUMNS])
        if count % rows_per_piece == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def render_csv(items: Iterable[Result], context: ReportContext | None = None) -> str:
    """CSV text with a header row (COLUMNS), one row per finding of each endpoint and resource: every text cell
    is cleaned and one a spreadsheet would take for a formula (= + - @ ...) gets a leading quote."""
    return "".join(csv_text(items))


def results_frame(items: Iterable[Result]) -> pd.DataFrame:
    """The CSV's rows as a pandas frame with nullable boolean and integer columns. Needs pandas (the parquet
    or bench extra)."""
    import pandas as pd

    frame = pd.DataFrame(list(_rows(items)), columns=list(COLUMNS))
    for column in _BOOLEAN_COLUMNS:
        frame[column] = frame[column].astype("boolean")
    for column in _INTEGER_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    for column in (c for c in COLUMNS if c not in _BOOLEAN_COLUMNS + _INTEGER_COLUMNS):
        frame[column] = frame[column].astype("string")
    return frame


def render_parquet(items: Iterable[Result], context: ReportContext | None = None) -> bytes:
    """Parquet bytes (pyarrow) of `results_frame`; `MissingExtra` without the parquet extra."""
    require("parquet", "Parquet output")
    buffer = io.BytesIO()
    results_frame(items).to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()
