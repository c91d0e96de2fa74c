"""Alerts: one message per run, sent through an `Alerter` (webhook today)."""

from __future__ import annotations

from typing import Any

from probe.alerts.base import Alerter, AlertFinding, AlertMessage, build_alert

__all__ = ["AlertFinding", "AlertMessage", "Alerter", "WebhookAlerter", "build_alert", "redact_url"]


def __getattr__(name: str) -> Any:
    """WebhookAlerter and redact_url load httpx: import them only when an alert is sent."""
    if name in ("WebhookAlerter", "redact_url"):
        from probe.alerts import webhook

        return getattr(webhook, name)
    raise AttributeError(name)
