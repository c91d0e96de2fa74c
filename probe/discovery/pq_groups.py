"""Declared key-exchange groups of AWS security policies: the bundled table tables/pq-groups.csv, each row citing
its documentation page (DescribeSslPolicies and the other APIs return no groups).

Rows: the ELB `*-PQ-2025-09` policies and API Gateway REST's `SecurityPolicy_TLS13_1_2_*_PQ_2025_09` policies
(hybrid ML-KEM groups; a PQ policy may still allow TLS 1.0: PQ declared is not compliance); CloudFront, which has no
PQ-named policy but documents X25519MLKEM768 and SecP256r1MLKEM768 for TLS 1.3 viewers under every policy. API
Gateway v2 has no PQ policy. A policy of these families absent from the table declares no post-quantum group.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

from probe.discovery.models import DeclaredPolicy

__all__ = ["PQ_FAMILIES", "declared_groups", "declared_groups_source"]

PQ_FAMILIES = ("elbv2", "elb", "apigateway", "apigatewayv2", "cloudfront")


@cache
def _rows() -> dict[tuple[str, str], tuple[tuple[str, ...], str]]:
    text = resources.files("probe.discovery").joinpath("tables", "pq-groups.csv").read_text(encoding="utf-8")
    return {(row["family"], row["policy"]): (tuple(g for g in row["groups"].split(";") if g), row["source"])
            for row in csv.DictReader(io.StringIO(text))}


def declared_groups(policy: DeclaredPolicy) -> tuple[str, ...]:
    """The key-exchange groups a declared policy names: the bundled table's for AWS families (none when the policy
    is not in it), else what the provider read into the declaration (`groups`, where the API has them)."""
    if policy.family in PQ_FAMILIES:
        family = "elbv2" if policy.family == "elb" else policy.family
        found = _rows().get((family, policy.name))
        return found[0] if found else ()
    return tuple(getattr(policy, "groups", ()) or ())


def declared_groups_source(policy: DeclaredPolicy) -> str | None:
    """The documentation page the table cites for the policy's groups; None when the table has no row."""
    family = "elbv2" if policy.family == "elb" else policy.family
    found = _rows().get((family, policy.name))
    return found[1] if found else None
