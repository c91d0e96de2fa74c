"""The data-key caches honour max_age, max_messages, max_bytes and the LRU bound, and are thread-safe."""

from __future__ import annotations

import threading
from itertools import count

import pytest

from probe.bench.dek_cache import CachePolicy, DataKeyCache, UnwrappedKeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_max_messages_bounds_each_key() -> None:
    cache: DataKeyCache[int] = DataKeyCache(CachePolicy(max_messages=3))
    ids = count()
    got = [cache.get("ctx", 10, lambda: next(ids)) for _ in range(7)]
    assert [k for k, _ in got] == [0, 0, 0, 1, 1, 1, 2]
    assert [hit for _, hit in got] == [False, True, True, False, True, True, False]


def test_max_age_expires_keys() -> None:
    clock = Clock()
    cache: DataKeyCache[int] = DataKeyCache(CachePolicy(max_age_s=10.0), clock=clock)
    ids = count()
    assert cache.get("ctx", 1, lambda: next(ids)) == (0, False)
    clock.now = 9.9
    assert cache.get("ctx", 1, lambda: next(ids)) == (0, True)
    clock.now = 10.0
    assert cache.get("ctx", 1, lambda: next(ids)) == (1, False)


def test_max_bytes_bounds_each_key_and_oversize_is_not_cached() -> None:
    cache: DataKeyCache[int] = DataKeyCache(CachePolicy(max_bytes=100))
    ids = count()
    assert cache.get("ctx", 60, lambda: next(ids))[0] == 0
    assert cache.get("ctx", 40, lambda: next(ids)) == (0, True)
    assert cache.get("ctx", 1, lambda: next(ids)) == (1, False)  # 101 bytes would exceed the key's budget
    assert cache.get("big", 101, lambda: next(ids)) == (2, False)
    assert cache.get("big", 1, lambda: next(ids)) == (3, False)  # the oversize key was never cached
    assert cache.counters.uncached == 1


def test_contexts_get_distinct_keys_and_lru_evicts_least_recent() -> None:
    cache: DataKeyCache[str] = DataKeyCache(CachePolicy(capacity=2))
    for ctx in ("a", "b"):
        cache.get(ctx, 1, lambda c=ctx: f"key-{c}")  # type: ignore[misc]
    cache.get("a", 1, lambda: "unused")  # a is now most recent
    cache.get("c", 1, lambda: "key-c")  # evicts b
    assert len(cache) == 2
    assert cache.get("a", 1, lambda: "new-a") == ("key-a", True)
    assert cache.get("b", 1, lambda: "new-b") == ("new-b", False)
    assert cache.counters.evictions >= 1


def test_thread_safety_one_fetch_per_key_and_limits_hold() -> None:
    cache: DataKeyCache[int] = DataKeyCache(CachePolicy(max_messages=50))
    ids = count()
    lock = threading.Lock()
    uses: dict[int, int] = {}
    barrier = threading.Barrier(8)

    def fetch() -> int:
        with lock:
            return next(ids)

    def worker() -> None:
        barrier.wait()
        for _ in range(250):
            key, _ = cache.get("ctx", 1, fetch)
            with lock:
                uses[key] = uses.get(key, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(uses.values()) == 2000
    assert max(uses.values()) <= 50
    assert len(uses) == 2000 // 50  # no duplicate fetches under contention
    assert cache.counters.misses == 40 and cache.counters.hits == 1960


def test_unwrapped_cache_age_and_bound() -> None:
    clock = Clock()
    cache: UnwrappedKeyCache[str] = UnwrappedKeyCache(max_age_s=5.0, capacity=2, clock=clock)
    assert cache.get("e1", lambda: "k1") == ("k1", False)
    assert cache.get("e1", lambda: "x") == ("k1", True)
    cache.get("e2", lambda: "k2")
    cache.get("e3", lambda: "k3")  # evicts e1
    assert cache.get("e1", lambda: "k1b") == ("k1b", False)
    clock.now = 5.0
    assert cache.get("e3", lambda: "k3b") == ("k3b", False)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        CachePolicy(max_messages=0)
