"""The published JSON Schema of the scan document (probe/report/scan.schema.json) and its validator."""

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
_MAX_REASON = 200


def load_schema() -> dict[str, Any]:
    """The scan document's JSON Schema (draft 2020-12), a fresh copy on each call."""
    text = resources.files("probe.report").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # loaded on first validation, not at start-up

    schema = load_schema()
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
    return [_describe(error) for error in _validator().iter_errors(doc)]


def validate_document(doc: Mapping[str, Any]) -> None:
    """Raise InputError with a one-line reason unless `doc` is a valid tlsprobe.scan/1 document."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(doc))
    if error is not None:
        raise InputError(f"invalid scan document at {_describe(error)}")
