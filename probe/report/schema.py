"""The published JSON Schemas of the scan document and their validators.

`scan.schema.json` is tlsprobe.scan/2 (endpoints and resources); `scan.schema.v1.json` is kept so that
documents written before resources were split from endpoints still validate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from probe.errors import InputError
from probe.report.escape import clean_text

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_RESOURCE = "scan.schema.json"
SCHEMA_RESOURCES = {"tlsprobe.scan/1": "scan.schema.v1.json", "tlsprobe.scan/2": SCHEMA_RESOURCE}
_MAX_REASON = 200


def load_schema(schema_id: str = "tlsprobe.scan/2") -> dict[str, Any]:
    """A scan document version's JSON Schema (draft 2020-12), a fresh copy on each call."""
    name = SCHEMA_RESOURCES.get(schema_id, SCHEMA_RESOURCE)
    text = resources.files("probe.report").joinpath(name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=2)
def _validator(schema_id: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # loaded on first validation, not at start-up

    schema = load_schema(schema_id)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _describe(error: ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "(document)"
    reason = clean_text(error.message)
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 1] + "…"
    return f"{clean_text(where)}: {reason}"


def schema_errors(doc: Mapping[str, Any]) -> list[str]:
    """Every schema violation of `doc`, one line each as `path: reason`; empty when valid."""
    return [_describe(error) for error in _validator(_version(doc)).iter_errors(doc)]


def _version(doc: Mapping[str, Any]) -> str:
    schema_id = doc.get("schema") if isinstance(doc, Mapping) else None
    return schema_id if isinstance(schema_id, str) and schema_id in SCHEMA_RESOURCES else "tlsprobe.scan/2"


def validate_document(doc: Mapping[str, Any]) -> None:
    """Raise InputError with a one-line reason unless `doc` is a valid scan document of its version."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(_version(doc)).iter_errors(doc))
    if error is not None:
        raise InputError(f"invalid scan document at {_describe(error)}")
