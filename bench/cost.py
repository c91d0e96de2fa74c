"""Analytic KMS call and cost model.

A workload sends ``rate`` messages per second, spread evenly over ``instances`` (each with its own
data-key cache) and ``contexts`` encryption contexts, so each (instance, context) stream sees
``n = rate * seconds / (instances * contexts)`` evenly spaced messages. A cached data key serves
``min(max_messages, floor(max_age / gap) + 1)`` messages (``gap`` = seconds between messages of
one stream), so a stream fetches ``ceil(n / per_key)`` keys. Encrypt side: one GenerateDataKey per
key (direct: one Encrypt and envelope: one GenerateDataKey per message). Decrypt side: each message
is decrypted once by a consumer that keeps unwrapped keys for ``max_age`` (one Decrypt per data
key); without a cache, one Decrypt per message. A month is 30 days.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

SECONDS_PER_MONTH = 30 * 24 * 3600
PRICING_FILE = Path(__file__).with_name("pricing.csv")
CACHING = ("dek-cache", "esdk-cache", "esdk-cache-signing")
PER_MESSAGE = ("direct", "envelope")


@dataclass(frozen=True)
class Price:
    """One row of the pricing table (NaN where no public figure was found)."""

    provider: str
    product: str
    usd_per_10k_requests: float
    usd_per_key_month: float
    free_requests_per_month: int
    source: str
    checked: str
    status: str

    @property
    def label(self) -> str:
        return f"{self.provider} {self.product}"


def _num(text: str) -> float:
    return float(text) if text.strip() else math.nan


def load_prices(path: Path = PRICING_FILE) -> list[Price]:
    """Read the pricing table (CSV with the Price fields as columns)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return [
            Price(r["provider"], r["product"], _num(r["usd_per_10k_requests"]), _num(r["usd_per_key_month"]),
                  int(r["free_requests_per_month"] or 0), r["source"], r["checked"], r["status"])
            for r in csv.DictReader(fh)
        ]


def keys_per_stream(messages: float, max_messages: int, max_age_s: float, duration_s: float) -> int:
    """Data keys one (instance, context) stream fetches for ``messages`` evenly spaced over ``duration_s``."""
    if messages <= 0:
        return 0
    per_key = max_messages
    if duration_s > 0 and messages > 1:
        gap = duration_s / messages
        per_key = min(max_messages, math.floor(max_age_s / gap) + 1)
    return math.ceil(messages / max(1, per_key))


def predict_calls(strategy: str, messages: int, contexts: int, instances: int, max_messages: int,
                  max_age_s: float, duration_s: float = 0.0) -> tuple[int, int]:
    """(encrypt-side, decrypt-side) KMS calls for ``messages`` spread round-robin over instances x contexts.

    ``duration_s`` = 0 means the run is shorter than ``max_age_s`` (age never expires a key).
    """
    if strategy in PER_MESSAGE:
        return messages, messages
    if strategy not in CACHING:
        return 0, 0
    streams = instances * contexts
    base, extra = divmod(messages, streams)
    enc = 0
    for i in range(streams):
        n = base + (1 if i < extra else 0)
        enc += keys_per_stream(n, max_messages, max_age_s, duration_s if duration_s > max_age_s else 0.0)
    return enc, enc


@dataclass(frozen=True)
class Workload:
    """A project's steady traffic for the monthly model."""

    rate_per_s: float
    instances: int = 1
    contexts: int = 1
    max_messages: int = 1000
    max_age_s: float = 300.0
    kms_keys: int = 1


def monthly_calls(strategy: str, w: Workload) -> tuple[float, float]:
    """(encrypt-side, decrypt-side) KMS calls per month for a strategy under workload ``w``."""
    messages = w.rate_per_s * SECONDS_PER_MONTH
    if strategy in PER_MESSAGE:
        return messages, messages
    if strategy not in CACHING:
        return 0.0, 0.0
    streams = w.instances * w.contexts
    per_stream = keys_per_stream(messages / streams, w.max_messages, w.max_age_s, SECONDS_PER_MONTH)
    enc = float(per_stream * streams)
    return enc, enc


def monthly_cost(calls: float, price: Price, kms_keys: int = 1) -> float:
    """USD per month: billable requests past the free tier plus key-months (NaN if the price is unknown)."""
    billable = max(0.0, calls - price.free_requests_per_month)
    return billable / 10_000 * price.usd_per_10k_requests + kms_keys * price.usd_per_key_month


def cost_curve(prices: list[Price], rate_per_s: float, instances: int, contexts: int,
               max_ages_s: list[float], max_messages_list: list[int]) -> list[dict[str, object]]:
    """Monthly cost of the dek-cache strategy over max_age x max_messages, per price row.

    Each row carries the security side of the trade: messages per data key and a data key's lifetime.
    """
    rows: list[dict[str, object]] = []
    stream_rate = rate_per_s / (instances * contexts)
    for price in prices:
        for max_messages in max_messages_list:
            for max_age in max_ages_s:
                w = Workload(rate_per_s, instances, contexts, max_messages, max_age)
                enc, dec = monthly_calls("dek-cache", w)
                per_key = min(max_messages, math.floor(max_age * stream_rate) + 1)
                lifetime = min(max_age, per_key / stream_rate) if stream_rate > 0 else max_age
                uncached = monthly_calls("envelope", w)
                rows.append({
                    "provider": price.provider, "product": price.product, "status": price.status,
                    "max_age_s": max_age, "max_messages": max_messages,
                    "kms_calls_per_month": enc + dec, "usd_per_month": monthly_cost(enc + dec, price),
                    "envelope_usd_per_month": monthly_cost(sum(uncached), price),
                    "messages_per_key": per_key, "key_lifetime_s": lifetime,
                })
    return rows
