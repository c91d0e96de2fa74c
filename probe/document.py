"""`ScanDocument`: the typed model of the JSON scan document (`tlsprobe.scan/2`), as the library returns it.

`ScanDocument.model_dump(mode="json")` parses equal to what `tlsprobe scan --format json` writes: each
endpoint is its Observation's fields plus `endpoint` (the key), `findings` and `compliant`; each resource
(a KMS key, an ACM certificate...) is its Resource's fields plus `findings` and `compliant`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, PlainSerializer

from probe.models import (
    SCHEMA_ID,
    DiscoveryError,
    EndpointResult,
    Finding,
    Frozen,
    Observation,
    PolicyRef,
    Resource,
    ResourceResult,
    Summary,
)

# The document writes run times with datetime.isoformat(); keep that form on the way out.
Timestamp = Annotated[datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str, when_used="json")]


class EndpointReport(Observation):
    """One endpoint of the document: what was observed, judged."""

    endpoint: str = Field(description="the endpoint's key: host:port, with @ip when dialled elsewhere")
    tls_versions: dict[str, bool | None] = Field(  # type: ignore[assignment]
        default_factory=dict, description="all six versions: true accepted, false refused, null not determined"
    )
    findings: tuple[Finding, ...] = ()
    compliant: bool | None = None

    def result(self) -> EndpointResult:
        """The EndpointResult this entry was made from (undetermined versions left out)."""
        data = self.model_dump(exclude={"endpoint", "findings", "compliant"})
        data["tls_versions"] = {k: v for k, v in self.tls_versions.items() if v is not None}
        return EndpointResult(
            observation=Observation.model_validate(data), findings=self.findings, compliant=self.compliant
        )


class ResourceReport(Resource):
    """One resource of the document: what it is, judged."""

    findings: tuple[Finding, ...] = ()
    compliant: bool | None = None

    def result(self) -> ResourceResult:
        """The ResourceResult this entry was made from."""
        resource = Resource.model_validate(self.model_dump(exclude={"findings", "compliant"}))
        return ResourceResult(resource=resource, findings=self.findings, compliant=self.compliant)


class ScanDocument(Frozen):
    """A scan document: the policy, when it ran, every endpoint with its findings, discovery errors, counts."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    schema_id: str = Field(default=SCHEMA_ID, alias="schema")
    policy: PolicyRef
    started_at: Timestamp
    finished_at: Timestamp
    endpoints: tuple[EndpointReport, ...] = ()
    resources: tuple[ResourceReport, ...] = ()
    discovery_errors: tuple[DiscoveryError, ...] = ()
    summary: Summary

    @classmethod
    def build(
        cls,
        results: Iterable[EndpointResult],
        *,
        policy: PolicyRef,
        started_at: datetime,
        finished_at: datetime,
        discovery_errors: Sequence[DiscoveryError] = (),
        resources: Iterable[ResourceResult] = (),
    ) -> ScanDocument:
        """The document of these results, exactly as `--format json` writes it."""
        from probe.report.document import build_document

        data: dict[str, Any] = build_document(
            results, policy=policy, started_at=started_at, finished_at=finished_at, discovery_errors=discovery_errors,
            resources=resources,
        )
        return cls.model_validate(data)

    def results(self) -> list[EndpointResult]:
        """Every endpoint as an EndpointResult (what reports, diffs and the store take)."""
        return [entry.result() for entry in self.endpoints]


__all__ = ["EndpointReport", "ResourceReport", "ScanDocument"]
