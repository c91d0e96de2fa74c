"""The analytic cost model and the pricing table."""

from __future__ import annotations

import math

from probe.bench.cost import SECONDS_PER_MONTH, Workload, keys_per_stream, load_prices, monthly_calls, monthly_cost


def test_pricing_rows_have_sources_and_mark_unverified() -> None:
    prices = load_prices()
    assert {p.provider for p in prices} >= {"aws", "gcp", "azure"}
    assert all(p.source and p.checked for p in prices)
    assert any("unverified" in p.status for p in prices if p.provider == "azure")


def test_keys_per_stream_age_or_count_binds() -> None:
    assert keys_per_stream(100, 10, 1e9, 0.0) == 10  # count binds
    assert keys_per_stream(100, 1000, 10.0, 100.0) == 10  # one message per second, 10 s age: 11 per key
    assert keys_per_stream(5, 1000, 1.0, 100.0) == 5  # sparse traffic: every message gets a new key


def test_monthly_calls_and_cost() -> None:
    w = Workload(rate_per_s=10.0, instances=2, contexts=5, max_messages=1000, max_age_s=300.0)
    enc, dec = monthly_calls("dek-cache", w)
    # each of 10 streams gets 1 msg/s: age binds (301 messages per key)
    assert enc == dec == 10 * math.ceil(SECONDS_PER_MONTH / 301)
    env_enc, _ = monthly_calls("envelope", w)
    assert env_enc == 10.0 * SECONDS_PER_MONTH
    aws = load_prices()[0]
    assert monthly_cost(10_000 + aws.free_requests_per_month, aws) == aws.usd_per_10k_requests + aws.usd_per_key_month
