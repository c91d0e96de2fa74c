"""Waivers: load them from a file, and mark (never drop) the findings they cover."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from probe.errors import InputError
from probe.models import Finding, Resource, Target, Waiver

__all__ = ["apply_waivers", "load_waivers", "waiver_matches"]


def _entries(data: Any, origin: str) -> list[Any]:
    if data is None:
        return []
    if isinstance(data, dict) and set(data) == {"waivers"}:
        data = data["waivers"] or []
    if not isinstance(data, list):
        raise InputError(f"waivers {origin}: expected a list of waivers, got {type(data).__name__}")
    return data


def load_waivers(path: Path) -> list[Waiver]:
    """Waivers from a YAML or JSON file: a list (or {"waivers": [...]}) of {rule, endpoint, reason, expires}."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"waivers {path}: cannot read: {exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"waivers {path}: not valid {path.suffix.lstrip('.') or 'YAML'}: "
                         f"{str(exc).splitlines()[0]}") from exc
    waivers: list[Waiver] = []
    for number, entry in enumerate(_entries(data, str(path)), start=1):
        if not isinstance(entry, dict):
            raise InputError(f"waivers {path}: entry {number}: expected a mapping, got {type(entry).__name__}")
        if "expired" in entry:
            raise InputError(f"waivers {path}: entry {number}: 'expired' is computed, not written")
        try:
            waivers.append(Waiver.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "entry"
            raise InputError(f"waivers {path}: entry {number}: {field}: {first['msg']}") from exc
        if not waivers[-1].reason.strip():
            raise InputError(f"waivers {path}: entry {number}: reason: must not be empty")
    return waivers


def _endpoint_names(subject: Target | Resource) -> tuple[str, ...]:
    if isinstance(subject, Resource):  # a resource by its id (ARN), the id's resource part or its name
        names = (subject.id, subject.short_id, subject.name or "")
        return tuple(name.lower() for name in names if name)
    host = subject.host.lower()
    bracketed = f"[{host}]" if ":" in host else host
    return (host, f"{bracketed}:{subject.port}", subject.key.lower())


def waiver_matches(waiver: Waiver, finding: Finding, target: Target | Resource) -> bool:
    """True when the waiver's rule and endpoint patterns (fnmatch) cover this finding on this target or
    resource (its `endpoint` pattern then matches the resource's id, ARN resource part or name)."""
    if not fnmatchcase(finding.rule, waiver.rule):
        return False
    pattern = waiver.endpoint.lower()
    return any(fnmatchcase(name, pattern) for name in _endpoint_names(target))


def _apply_one(finding: Finding, matching: list[Waiver], today: date) -> Finding:
    if finding.waived or not matching:
        return finding
    valid = [w for w in matching if w.expires >= today]
    if valid:
        best = max(valid, key=lambda w: w.expires)
        return finding.model_copy(update={"waived": True, "waiver": best.model_copy(update={"expired": False})})
    if "expired_waiver" in finding.evidence:
        return finding
    latest = max(matching, key=lambda w: w.expires)
    expired = latest.model_copy(update={"expired": True})
    evidence = {**finding.evidence, "expired_waiver": {
        "endpoint": latest.endpoint, "reason": latest.reason, "expires": latest.expires.isoformat()}}
    message = f"{finding.message} (a waiver matched but expired on {latest.expires.isoformat()})"
    return finding.model_copy(update={"evidence": evidence, "message": message, "waiver": expired})


def apply_waivers(
    findings: Iterable[Finding], target: Target | Resource, waivers: Sequence[Waiver], *, today: date
) -> tuple[Finding, ...]:
    """Same findings, same order: covered ones marked waived with their waiver; expired waivers noted, not applied.

    A waiver is valid through its `expires` date. An expired match leaves the finding unwaived, attaches the
    waiver with `expired=True`, and records `evidence["expired_waiver"]` and a note in the message.
    """
    return tuple(
        _apply_one(finding, [w for w in waivers if waiver_matches(w, finding, target)], today) for finding in findings
    )
