"""Declared TLS configuration: expand a listener's policy name into protocols and suites (judged in
probe.policy.declared).

A target's `source.declared_policy` names a policy of a *family* (elbv2, elb, apigateway, cloudfront),
found from its `source.kind`. Expansions come from the discovery run (`DiscoveryResult.policies`, e.g.
ELBv2's describe_ssl_policies) or from the bundled tables in tables/*.csv, each row naming its source page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

from probe.discovery.ciphers import normalise_protocol, to_iana
from probe.discovery.models import DeclaredPolicy
from probe.models import TLS_VERSIONS, Target

__all__ = [
    "declared_policy_for",
    "expand_policy",
    "policy_family",
    "policy_key",
    "table_policy",
]

_TABLES = {
    "elbv2": "elbv2.csv", "elb": "classic-elb.csv", "apigateway": "apigateway.csv", "cloudfront": "cloudfront.csv",
}
_FAMILY_BY_KIND_PREFIX = (
    ("elbv2", "elbv2"), ("elb", "elb"), ("apigateway", "apigateway"), ("cloudfront", "cloudfront"),
    # Azure and GCP declarations are expanded from each resource's properties by their providers (registered in
    # DiscoveryResult.policies under the resource's id); there is no bundled table for these families.
    ("azure-appgw", "azure-appgw"), ("azure-afd", "azure-afd"), ("azure-frontdoor", "azure-frontdoor"),
    ("azure-apim", "azure-apim"), ("gcp-", "gcp-ssl-policy"),
)


def policy_family(kind: str) -> str | None:
    """Policy family of a target kind ('elbv2-listener' -> 'elbv2'); None for kinds without a policy."""
    for prefix, family in _FAMILY_BY_KIND_PREFIX:
        if kind.startswith(prefix):
            return family
    return None


def policy_key(family: str, name: str, scope: str | None = None) -> str:
    """Key of an expanded policy in DiscoveryResult.policies: `family:name`, or `family@scope:name`
    for a policy that exists only on one resource (a classic ELB custom policy; scope = its ARN)."""
    return f"{family}@{scope}:{name}" if scope else f"{family}:{name}"


def expand_policy(family: str, name: str, protocols: Iterable[str], ciphers: Iterable[str],
                  source: str) -> DeclaredPolicy:
    """A DeclaredPolicy in the scanner's vocabulary from AWS's names (unknown names kept aside)."""
    versions = {v for p in protocols if (v := normalise_protocol(p))}
    suites: list[str] = []
    unknown: list[str] = []
    for raw in ciphers:
        iana = to_iana(raw)
        if iana is None:
            unknown.append(raw)
        elif iana not in suites:
            suites.append(iana)
    ordered = tuple(v for v in TLS_VERSIONS if v in versions)
    return DeclaredPolicy(family=family, name=name, protocols=ordered, ciphers=tuple(suites), source=source,
                          unknown_ciphers=tuple(unknown))


@cache
def _table(family: str) -> dict[str, DeclaredPolicy]:
    text = resources.files("probe.discovery").joinpath("tables", _TABLES[family]).read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return {
        row["policy"]: expand_policy(family, row["policy"], row["protocols"].split(";"),
                                     row["ciphers"].split(";"), row["source"])
        for row in rows
    }


def table_policy(family: str, name: str) -> DeclaredPolicy | None:
    """A bundled-table expansion; ELBv2 falls back to the classic table (same predefined names)."""
    for table in (family, "elb") if family == "elbv2" else (family,):
        found = _table(table).get(name) if table in _TABLES else None
        if found:
            return found.model_copy(update={"family": family})
    return None


def declared_policy_for(target: Target, policies: Mapping[str, DeclaredPolicy] | None = None) -> DeclaredPolicy | None:
    """The expanded declared policy of a target: resource-specific, then discovered, then bundled."""
    source = target.source
    family = policy_family(source.kind)
    if family is None or not source.declared_policy:
        return None
    known = policies or {}
    for key in (policy_key(family, source.declared_policy, source.arn), policy_key(family, source.declared_policy)):
        if key in known:
            return known[key]
    return table_policy(family, source.declared_policy)
