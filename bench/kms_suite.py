"""KMS suite: latency, throughput and counted KMS calls per strategy, checked against the cost model.

Embedded backend: moto's KMS in a keep-alive server process (``probe.bench.moto_backend``) on
127.77.2.1 behind a LatencyProxy on 127.77.2.2 adding ``rtt_ms`` (default 10 ms, an in-region
round trip; override with ``--rtt``). ``real=True`` talks to AWS KMS through the standard credential
chain instead, and only then.

Messages are spread round-robin over ``instances`` x ``contexts`` streams; each simulated instance
has its own strategy object (its own cache). Encrypt latency is timed per message; then every
message is decrypted (timed) and compared with its plaintext. ``msgs_per_s`` is messages divided by
the time spent inside ``encrypt`` (harness overhead excluded); ``hit_msgs_per_s`` is the same over
cache hits alone, so the two compare like with like across strategies.
"""

from __future__ import annotations

import gc
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .cost import Workload, load_prices, monthly_calls, monthly_cost, predict_calls
from .dek_cache import CachePolicy
from .kms_strategies import (
    DIRECT_MAX_BYTES,
    STRATEGIES,
    CallCounter,
    DekCacheStrategy,
    DirectStrategy,
    EnvelopeStrategy,
    EsdkCacheStrategy,
    KmsBackend,
    LocalOnlyStrategy,
    Strategy,
    contexts,
)
from .moto_backend import MotoProcess
from .proxy import ThreadedProxy
from .stats import aggregate_runs, percentiles_ms

DEFAULT_RTT_MS = 10.0
PROXY_HOST = "127.77.2.2"
MOTO_REGION = "eu-west-1"
KMS_HEADLINE = ("p50_ms", "msgs_per_s", "hit_msgs_per_s", "decrypt_p50_ms")


@dataclass
class KMSConfig:
    """One KMS bench run."""

    strategies: list[str] = field(default_factory=lambda: list(STRATEGIES))
    messages: int = 20000
    messages_by_strategy: dict[str, int] = field(default_factory=dict)  # per-strategy override of messages
    size: int = 4096
    contexts: list[int] = field(default_factory=lambda: [1, 10, 100])
    max_messages: int = 1000
    max_age_s: float = 300.0
    max_bytes: int = 2**62
    project_rate: float = 1000.0
    instances: int = 20
    bench_instances: int = 1
    repeat: int = 1
    rtt_ms: float = DEFAULT_RTT_MS
    real: bool = False
    key_id: str | None = None
    region: str = MOTO_REGION


@dataclass
class Bed:
    """A ready KMS backend: where it is, the key ARN, and the proxy (None for real AWS)."""

    backend: KmsBackend
    key_arn: str
    proxy: ThreadedProxy | None
    name: str


@contextmanager
def kms_bed(config: KMSConfig) -> Iterator[Bed]:
    """Start moto + proxy and create a key, or resolve ``key_id`` on real AWS KMS."""
    if config.real:
        if not config.key_id:
            raise ValueError("--real needs --key-id")
        backend = KmsBackend(config.region)
        arn = backend.client().describe_key(KeyId=config.key_id)["KeyMetadata"]["Arn"]
        yield Bed(backend, arn, None, f"aws-kms {config.region}")
        return
    with MotoProcess() as moto, ThreadedProxy(moto.address, config.rtt_ms, listen_host=PROXY_HOST) as proxy:
        host, port = proxy.address
        backend = KmsBackend(MOTO_REGION, f"http://{host}:{port}", ("testing", "testing"))
        arn = backend.client().create_key(Description="tlsprobe bench")["KeyMetadata"]["Arn"]
        yield Bed(backend, arn, proxy, f"moto (keep-alive) + proxy rtt={config.rtt_ms:g}ms")


def make_strategy(name: str, bed: Bed, enc: CallCounter, dec: CallCounter, policy: CachePolicy) -> Strategy:
    """A fresh strategy (fresh caches, fresh clients) counted by ``enc`` and ``dec``."""
    if name == "local-only":
        return LocalOnlyStrategy()
    if name in ("esdk-cache", "esdk-cache-signing"):
        return EsdkCacheStrategy(bed.backend, enc, dec, bed.key_arn, policy, signing=name.endswith("signing"))
    enc_client, dec_client = bed.backend.client(enc), bed.backend.client(dec)
    if name == "direct":
        return DirectStrategy(enc_client, dec_client, bed.key_arn)
    if name == "envelope":
        return EnvelopeStrategy(enc_client, dec_client, bed.key_arn)
    if name == "dek-cache":
        return DekCacheStrategy(enc_client, dec_client, bed.key_arn, policy)
    raise ValueError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")


def run_once(name: str, bed: Bed, config: KMSConfig, n_contexts: int) -> dict[str, Any]:
    """Encrypt then decrypt ``config.messages`` messages with one strategy; return the row (and samples)."""
    n_messages = config.messages_by_strategy.get(name, config.messages)
    policy = CachePolicy(config.max_age_s, config.max_messages, config.max_bytes,
                         capacity=max(1000, n_contexts))
    enc, dec = CallCounter(), CallCounter()
    instances = [make_strategy(name, bed, enc, dec, policy) for _ in range(config.bench_instances)]
    ctxs = contexts(n_contexts)
    plaintexts = [os.urandom(config.size) for _ in range(8)]
    streams = config.bench_instances * n_contexts
    conns0 = bed.proxy.stats.snapshot()["connections"] if bed.proxy else 0
    enc_s: list[float] = []
    hit_s: list[float] = []
    sealed: list[bytes] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection pause inside one timed call would skew the small ones
    t_start = time.perf_counter()
    for i in range(n_messages):
        s = i % streams
        strategy, ctx = instances[s // n_contexts], ctxs[s % n_contexts]
        t0 = time.perf_counter()
        message, hit = strategy.encrypt(plaintexts[i % 8], ctx)
        dt = time.perf_counter() - t0
        enc_s.append(dt)
        if hit:
            hit_s.append(dt)
        sealed.append(message)
    enc_wall = time.perf_counter() - t_start
    dec_s: list[float] = []
    for i, message in enumerate(sealed):
        s = i % streams
        strategy, ctx = instances[s // n_contexts], ctxs[s % n_contexts]
        t0 = time.perf_counter()
        plain = strategy.decrypt(message, ctx)
        dec_s.append(time.perf_counter() - t0)
        if plain != plaintexts[i % 8]:
            raise AssertionError(f"{name}: message {i} did not round-trip")
    elapsed = time.perf_counter() - t_start
    if gc_was_enabled:
        gc.enable()
    pred_enc, pred_dec = predict_calls(name, n_messages, n_contexts, config.bench_instances,
                                       config.max_messages, config.max_age_s, enc_wall)
    busy = sum(enc_s)  # time inside encrypt calls; the harness loop's own overhead is left out
    msgs_per_s = n_messages / busy if busy > 0 else math.nan
    cached = name in ("dek-cache", "esdk-cache", "esdk-cache-signing")
    hit_rate = (len(hit_s) / sum(hit_s)) if cached and hit_s and sum(hit_s) > 0 else (
        math.nan if cached else msgs_per_s)
    w = Workload(config.project_rate, config.instances, n_contexts, config.max_messages, config.max_age_s)
    month_enc, month_dec = monthly_calls(name, w)
    aws = load_prices()[0]
    dec_pct = percentiles_ms(dec_s)
    return {
        "strategy": name, "contexts": n_contexts, "messages": n_messages, "size": config.size,
        "max_messages": config.max_messages, "max_age_s": config.max_age_s,
        "kms_calls": enc.total + dec.total, "kms_calls_encrypt": enc.total, "kms_calls_decrypt": dec.total,
        "model_calls_encrypt": pred_enc, "model_calls_decrypt": pred_dec,
        "model_match": enc.total == pred_enc and dec.total == pred_dec,
        **percentiles_ms(enc_s),
        "decrypt_p50_ms": dec_pct["p50_ms"], "decrypt_p95_ms": dec_pct["p95_ms"], "decrypt_p99_ms": dec_pct["p99_ms"],
        "msgs_per_s": msgs_per_s, "hit_msgs_per_s": hit_rate, "cache_hits": len(hit_s) if cached else 0,
        "usd_per_month": monthly_cost(month_enc + month_dec, aws),
        "kms_calls_per_month": month_enc + month_dec,
        "project_rate": config.project_rate, "instances": config.instances,
        "bench_instances": config.bench_instances, "elapsed_s": elapsed,
        "kms_connections": (bed.proxy.stats.snapshot()["connections"] - conns0) if bed.proxy else -1,
        "rtt_ms": config.rtt_ms if not config.real else math.nan, "backend": bed.name,
        "calls_by_operation": ";".join(f"{k}={v}" for k, v in sorted((enc.calls + dec.calls).items())),
        "_samples_ms": [x * 1000 for x in enc_s],
    }


def run_kms(config: KMSConfig, progress: Callable[[str], None] | None = None
            ) -> tuple[list[dict[str, Any]], dict[str, list[float]], list[str]]:
    """Run the strategy x contexts grid; return aggregated rows, encrypt samples (ms) and notes."""
    rows: list[dict[str, Any]] = []
    samples: dict[str, list[float]] = {}
    notes: list[str] = []
    with kms_bed(config) as bed:
        for n_ctx in config.contexts:
            for name in config.strategies:
                if name == "direct" and config.size > DIRECT_MAX_BYTES:
                    notes.append(f"direct skipped: {config.size} B exceeds KMS Encrypt's 4096 B limit")
                    continue
                runs = []
                for _ in range(config.repeat):
                    row = run_once(name, bed, config, n_ctx)
                    samples.setdefault(f"{name} contexts={n_ctx}", []).extend(row.pop("_samples_ms"))
                    runs.append(row)
                    if progress:
                        progress(f"kms {name} contexts={n_ctx}")
                agg = aggregate_runs(runs, KMS_HEADLINE)
                agg["model_match"] = all(bool(r["model_match"]) for r in runs)
                rows.append(agg)
    return rows, samples, notes
