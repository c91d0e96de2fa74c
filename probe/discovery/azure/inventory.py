"""Key Vault posture of one subscription, read through the management plane (azure-mgmt-keyvault): vaults with
soft delete and purge protection, and their keys with type, size or curve, expiry and rotation policy."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import AzureError

from probe.discovery.azure.session import rest
from probe.discovery.azure.unit import Unit, resource_group
from probe.discovery.models import KeyVault, KeyVaultKey

__all__ = ["collect_key_vault", "iso_days"]

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


def iso_days(text: str | None) -> int | None:
    """Days in an ISO 8601 duration of the kind Key Vault uses ('P90D', 'P1Y', 'P3M', 'P2W'); None otherwise.
    A year counts 365 days, a month 30."""
    match = _DURATION.match(str(text or "").strip().upper())
    if not match or not any(match.groups()):
        return None
    years, months, weeks, days = (int(g or 0) for g in match.groups())
    return years * 365 + months * 30 + weeks * 7 + days


def _when(value: Any) -> datetime | None:
    """Key attributes carry Unix seconds (`exp`, `nbf`); tolerate ISO text too."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _rotation(policy: dict[str, Any] | None) -> tuple[bool, int | None, str | None]:
    """(rotation on, interval in days, expiry of new versions) from a key rotation policy."""
    policy = policy or {}
    expiry = (policy.get("attributes") or {}).get("expiryTime")
    for action in policy.get("lifetimeActions") or ():
        if str((action.get("action") or {}).get("type", "")).lower() != "rotate":
            continue
        trigger = action.get("trigger") or {}
        after_create = iso_days(trigger.get("timeAfterCreate"))
        if after_create is not None:
            return True, after_create, expiry
        before_expiry, lifetime = iso_days(trigger.get("timeBeforeExpiry")), iso_days(expiry)
        interval = lifetime - before_expiry if before_expiry is not None and lifetime is not None else None
        return True, interval, expiry
    return False, None, expiry


def _key(unit: Unit, client: Any, vault: dict[str, Any], key: dict[str, Any]) -> KeyVaultKey:
    props = key.get("properties") or {}
    if "rotationPolicy" not in props:  # not every API version lists it: read the key itself
        try:
            props = rest(client.keys.get(resource_group(str(vault["id"])), vault["name"], key["name"])).get(
                "properties") or props
        except AzureError as exc:
            unit.fail(exc, f"keys.get {vault['name']}/{key['name']}")
    attributes = props.get("attributes") or {}
    rotation, interval, expiry = _rotation(props.get("rotationPolicy"))
    return KeyVaultKey(
        subscription=unit.subscription, location=vault.get("location"), id=str(key["id"]), name=str(key["name"]),
        vault=str(vault["name"]), key_type=props.get("kty"), key_size=props.get("keySize"),
        curve=props.get("curveName"), enabled=attributes.get("enabled"), expires=_when(attributes.get("exp")),
        rotation_enabled=rotation, rotation_interval_days=interval, rotation_policy_expiry=expiry,
        tags={str(k): str(v) for k, v in (key.get("tags") or {}).items()},
    )


def collect_key_vault(unit: Unit) -> None:
    client = unit.client("keyvault")
    for vault in map(rest, client.vaults.list_by_subscription()):
        props = vault.get("properties") or {}
        unit.items.append(KeyVault(
            subscription=unit.subscription, location=vault.get("location"), id=str(vault["id"]),
            name=str(vault["name"]), sku=(props.get("sku") or {}).get("name"),
            soft_delete=props.get("enableSoftDelete"),
            soft_delete_retention_days=props.get("softDeleteRetentionInDays"),
            purge_protection=bool(props.get("enablePurgeProtection")),  # absent, not false, when off
            rbac_authorization=props.get("enableRbacAuthorization"),
            public_network_access=props.get("publicNetworkAccess"),
            tags={str(k): str(v) for k, v in (vault.get("tags") or {}).items()},
        ))
        try:
            keys = [rest(k) for k in client.keys.list(resource_group(str(vault["id"])), vault["name"])]
        except AzureError as exc:
            unit.fail(exc, f"keys.list {vault['name']}")
            continue
        for key in keys:
            unit.items.append(_key(unit, client, vault, key))
