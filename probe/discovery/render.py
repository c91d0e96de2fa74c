"""Discovery documents: JSON (round-trips), CSV and a plain table. Formatters return text, no IO."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

from pydantic import TypeAdapter, ValidationError

from probe.discovery.models import DeclaredPolicy, DiscoveryResult, PostureItem, ScopeStatus
from probe.errors import InputError
from probe.models import DiscoveryError, Target

__all__ = ["DISCOVERY_SCHEMA", "FORMATS", "parse_document", "render", "to_document"]

DISCOVERY_SCHEMA = "tlsprobe.discovery/1"
FORMATS = ("json", "table", "csv")
_POSTURE: TypeAdapter[PostureItem] = TypeAdapter(PostureItem)
_CSV_FIELDS = ("host", "port", "sni", "provider", "kind", "account", "region", "scheme", "declared_policy", "arn",
               "certificate_arns")


def to_document(result: DiscoveryResult) -> dict[str, Any]:
    """The JSON document: targets with sources, posture items, discovery errors, scope statuses."""
    return {
        "schema": DISCOVERY_SCHEMA,
        "targets": [t.model_dump(mode="json") for t in result.targets],
        "posture": [p.model_dump(mode="json") for p in result.posture],
        "discovery_errors": [e.model_dump(mode="json") for e in result.errors],
        "scopes": [s.model_dump(mode="json") for s in result.scopes],
        "declared_policies": {k: v.model_dump(mode="json") for k, v in sorted(result.policies.items())},
        "summary": {"targets": len(result.targets), "posture": len(result.posture), "errors": len(result.errors),
                    "scopes": len(result.scopes), "scopes_failed": sum(s.status == "error" for s in result.scopes)},
    }


def parse_document(text: str, origin: str = "discovery document") -> DiscoveryResult:
    """Read a JSON discovery document back; InputError (one line) when it is not one."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("schema") != DISCOVERY_SCHEMA:
            raise InputError(f"{origin}: not a {DISCOVERY_SCHEMA} document")
        return DiscoveryResult(
            targets=tuple(Target.model_validate(t) for t in data.get("targets", [])),
            posture=tuple(_POSTURE.validate_python(p) for p in data.get("posture", [])),
            errors=tuple(DiscoveryError.model_validate(e) for e in data.get("discovery_errors", [])),
            scopes=tuple(ScopeStatus.model_validate(s) for s in data.get("scopes", [])),
            policies={k: DeclaredPolicy.model_validate(v) for k, v in data.get("declared_policies", {}).items()},
        )
    except json.JSONDecodeError as exc:
        raise InputError(f"{origin}: invalid JSON at line {exc.lineno}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(f"{origin}: {where}: {first.get('msg')}") from None


def _row(target: Target) -> dict[str, Any]:
    s = target.source
    return {"host": target.host, "port": target.port, "sni": target.sni or "", "provider": s.provider,
            "kind": s.kind, "account": s.account or "", "region": s.region or "", "scheme": s.scheme or "",
            "declared_policy": s.declared_policy or "", "arn": s.arn or "",
            "certificate_arns": " ".join(s.certificate_arns)}


def _csv(result: DiscoveryResult) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for target in result.targets:
        writer.writerow({k: _safe_cell(v) for k, v in _row(target).items()})
    return out.getvalue()


def _safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def _table(result: DiscoveryResult) -> str:
    columns = ("host", "port", "kind", "account", "region", "scheme", "declared_policy")
    rows = [[str(_row(t)[c]) for c in columns] for t in result.targets]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    lines.append("")
    kinds = Counter(p.item for p in result.posture)
    breakdown = f" ({', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))})" if kinds else ""
    lines.append(f"{len(result.targets)} targets, {len(result.posture)} posture items{breakdown}, "
                 f"{len(result.errors)} discovery errors")
    for error in result.errors:
        lines.append(f"  error: {error.account or '-'} {error.region or '-'} {error.service}: {error.error}")
    return "\n".join(lines) + "\n"


def render(fmt: str, result: DiscoveryResult) -> str:
    """Text of a discovery result in json, table or csv."""
    if fmt == "json":
        return json.dumps(to_document(result), indent=2) + "\n"
    if fmt == "csv":
        return _csv(result)
    if fmt == "table":
        return _table(result)
    raise InputError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
