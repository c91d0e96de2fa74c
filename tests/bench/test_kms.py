"""Every KMS strategy round-trips against moto; counted calls equal the model's prediction."""

from __future__ import annotations

import os

import pytest

from probe.bench.cost import predict_calls
from probe.bench.dek_cache import CachePolicy
from probe.bench.kms_strategies import STRATEGIES, CallCounter, contexts
from probe.bench.kms_suite import Bed, KMSConfig, make_strategy, run_once


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_round_trips(bed: Bed, name: str) -> None:
    enc, dec = CallCounter(), CallCounter()
    strategy = make_strategy(name, bed, enc, dec, CachePolicy(max_messages=2))
    ctxs = contexts(2)
    sealed = []
    for i in range(4):
        plain = os.urandom(1000 + i)
        message, _ = strategy.encrypt(plain, ctxs[i % 2])
        assert plain not in message
        sealed.append((plain, message, ctxs[i % 2]))
    for plain, message, ctx in sealed:
        assert strategy.decrypt(message, ctx) == plain
    expected = {"direct": 4, "envelope": 4, "dek-cache": 2, "esdk-cache": 2, "esdk-cache-signing": 2,
                "local-only": 0}[name]
    assert enc.total == expected
    assert dec.total == expected


def test_wrong_context_fails_to_decrypt(bed: Bed) -> None:
    strategy = make_strategy("dek-cache", bed, CallCounter(), CallCounter(), CachePolicy())
    a, b = contexts(2)
    message, _ = strategy.encrypt(b"secret", a)
    with pytest.raises(Exception):  # noqa: B017 (AES-GCM InvalidTag or KMS InvalidCiphertext)
        strategy.decrypt(message, b)


@pytest.mark.parametrize("name", ["dek-cache", "esdk-cache"])
def test_counted_calls_equal_model(bed: Bed, name: str) -> None:
    config = KMSConfig(messages=61, size=256, max_messages=7, bench_instances=2, rtt_ms=2.0)
    row = run_once(name, bed, config, n_contexts=3)
    expected = predict_calls(name, 61, 3, 2, 7, 300.0)
    # 6 streams of 11 or 10 messages, 7 per key: 2 keys each
    assert expected == (12, 12)
    assert (row["kms_calls_encrypt"], row["kms_calls_decrypt"]) == expected
    assert row["model_match"] is True
    assert row["cache_hits"] == 61 - 12
    assert row["kms_connections"] >= 1
