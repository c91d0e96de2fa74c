"""Alerts: one message per run, sent through an `Alerter` (webhook today)."""

from probe.alerts.base import Alerter, AlertFinding, AlertMessage, build_alert
from probe.alerts.webhook import WebhookAlerter, redact_url

__all__ = ["AlertFinding", "AlertMessage", "Alerter", "WebhookAlerter", "build_alert", "redact_url"]
