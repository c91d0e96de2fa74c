"""Webhook alerts over httpx: generic JSON or Slack-compatible, with retries and backoff.

The URL is a secret (Slack and most chat webhooks carry their token in it): it never appears in an
exception, a log record or a report. Errors name the webhook by scheme and host at most.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from probe.alerts.base import AlertMessage
from probe.errors import AlertError, InputError
from probe.report.escape import clean_text, json_safe

AlertFormat = Literal["json", "slack"]
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_SLACK_SECTION_LIMIT = 2900
_MAX_LINES = 50
_LOGGERS = ("httpx", "httpcore")


def redact_url(url: str) -> str:
    """Scheme and host of a webhook URL, nothing else (no user info, path, query or port secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "webhook"
    if not parts.scheme or not host:
        return "webhook"
    return f"webhook at {parts.scheme}://{host}"


class _RedactFilter(logging.Filter):
    """Rewrites log records of httpx/httpcore so the secret URL (or its path) never reaches a handler."""

    def __init__(self, secrets: tuple[str, ...], replacement: str) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)
        self.replacement = replacement

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(secret in text for secret in self.secrets):
            for secret in self.secrets:
                text = text.replace(secret, self.replacement)
            record.msg, record.args = text, ()
        return True


def _lines(message: AlertMessage) -> list[str]:
    lines = [f"[{r.severity.value}] {r.endpoint}: {r.message}" + (f" ({r.rule})" if r.rule else "")
             for r in message.regressions]
    lines += [f"[{f.severity.value}] {f.endpoint}: new finding {f.rule}: {f.message}" for f in message.new_findings]
    lines = [clean_text(line) for line in lines]
    if len(lines) > _MAX_LINES:
        lines = [*lines[:_MAX_LINES], f"… and {len(lines) - _MAX_LINES} more"]
    return lines


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _counts(message: AlertMessage) -> str:
    counts = f"{message.endpoints} endpoints, {message.errors} errored"
    return counts + (f", {message.resources} resources" if message.resources else "")


def slack_body(message: AlertMessage) -> dict[str, Any]:
    """A Slack-compatible body: `text` (the fallback) and `blocks`."""
    lines = [_slack_escape(line) for line in _lines(message)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clean_text(message.title)[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _counts(message)}]},
    ]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 3 for x in chunk) + len(line) > _SLACK_SECTION_LIMIT:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(f"• {line}"[:_SLACK_SECTION_LIMIT])
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return {"text": _slack_escape(clean_text(message.title)), "blocks": blocks}


def json_body(message: AlertMessage) -> dict[str, Any]:
    """The generic JSON body (schema tlsprobe.alert/1)."""
    body: dict[str, Any] = json_safe({"schema": "tlsprobe.alert/1", **message.model_dump(mode="json")})
    return body


class WebhookAlerter:
    """POSTs one message per run to a webhook; retries 5xx, 429, timeouts and connection errors."""

    def __init__(
        self,
        url: str,
        *,
        format: AlertFormat = "json",
        attempts: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError("--alert-webhook must be an http:// or https:// URL")
        if format not in ("json", "slack"):
            raise InputError(f"unknown --alert-format {format!r} (json or slack)")
        self._url = url
        self.format = format
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._sleep = sleep
        self.name = redact_url(url)

    def __repr__(self) -> str:
        return f"WebhookAlerter({self.name}, format={self.format!r})"

    @contextlib.contextmanager
    def _redacted_logs(self) -> Iterator[None]:
        parts = urlsplit(self._url)
        candidates = (self._url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.path,
                      parts.query, parts.password or "")
        secrets = tuple(s for s in candidates if s and s != "/")
        filt = _RedactFilter(secrets, "<redacted>")
        loggers = [logging.getLogger(name) for name in _LOGGERS]
        for logger in loggers:
            logger.addFilter(filt)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(filt)

    def send(self, message: AlertMessage) -> None:
        """Deliver `message`; AlertError (exit 3) after `attempts` failures, never naming the URL."""
        body = slack_body(message) if self.format == "slack" else json_body(message)
        problem = "no attempt made"
        with self._redacted_logs(), httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            for attempt in range(1, self.attempts + 1):
                retry = True
                try:
                    response = client.post(self._url, json=body)
                    if 200 <= response.status_code < 300:
                        return
                    problem = f"HTTP {response.status_code}"
                    retry = response.status_code in _RETRY_STATUSES
                except httpx.TimeoutException:
                    problem = f"timed out after {self.timeout_s:g} s"
                except httpx.TransportError as exc:
                    problem = f"connection failed ({type(exc).__name__})"
                except (httpx.HTTPError, httpx.InvalidURL) as exc:
                    problem, retry = f"request failed ({type(exc).__name__})", False
                if not retry or attempt == self.attempts:
                    break
                self._sleep(self.backoff_s * (2 ** (attempt - 1)))
        raise AlertError(f"alert not delivered to {self.name} after {attempt} attempt"
                         f"{'' if attempt == 1 else 's'}: {problem}")
