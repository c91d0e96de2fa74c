"""A data-key cache for envelope encryption (the ``dek-cache`` strategy).

Encrypt side: ``DataKeyCache`` hands out one data key per encryption context until the key has
protected ``max_messages`` messages or ``max_bytes`` bytes or is older than ``max_age_s`` seconds;
then the next message fetches a new key. At most ``capacity`` contexts are held, least recently
used evicted first. Decrypt side: ``UnwrappedKeyCache`` keeps unwrapped keys by (encrypted key,
context) for ``max_age_s``, LRU-bounded. Both are thread-safe; a miss on one context fetches one
key while other threads wait for it instead of fetching their own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class CachePolicy:
    """Limits on one cached data key and on the cache."""

    max_age_s: float = 300.0
    max_messages: int = 1000
    max_bytes: int = 2**62
    capacity: int = 1000

    def __post_init__(self) -> None:
        if self.max_age_s <= 0 or self.max_messages < 1 or self.max_bytes < 1 or self.capacity < 1:
            raise ValueError("cache limits must be positive")


@dataclass
class CachedKey(Generic[T]):
    """A data key (``material``) with its usage so far."""

    material: T
    created: float
    messages: int = 0
    bytes: int = 0


@dataclass
class CacheCounters:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    uncached: int = 0


@dataclass
class DataKeyCache(Generic[T]):
    """Encrypt-side cache of data keys keyed by a hashable encryption-context key."""

    policy: CachePolicy
    clock: Callable[[], float] = time.monotonic
    counters: CacheCounters = field(default_factory=CacheCounters)

    def __post_init__(self) -> None:
        self._entries: OrderedDict[Hashable, CachedKey[T]] = OrderedDict()
        self._lock = threading.Lock()
        self._fetch_locks: dict[Hashable, threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _usable(self, entry: CachedKey[T], nbytes: int, now: float) -> bool:
        p = self.policy
        return (now - entry.created < p.max_age_s and entry.messages < p.max_messages
                and entry.bytes + nbytes <= p.max_bytes)

    def _take(self, key: Hashable, nbytes: int) -> tuple[T, bool] | None:
        """Use the cached key for one message if its limits allow (caller holds the lock)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not self._usable(entry, nbytes, self.clock()):
            del self._entries[key]
            return None
        entry.messages += 1
        entry.bytes += nbytes
        self._entries.move_to_end(key)
        if entry.messages >= self.policy.max_messages:
            del self._entries[key]  # exhausted: drop now rather than at the next lookup
        return entry.material, True

    def get(self, key: Hashable, nbytes: int, fetch: Callable[[], T]) -> tuple[T, bool]:
        """The data key for one message of ``nbytes`` under context ``key``; True when it came from the cache."""
        with self._lock:
            # the hit path, inlined: it runs once per message and is what caching buys
            entry = self._entries.get(key)
            if entry is not None:
                p = self.policy
                if (
                    self.clock() - entry.created < p.max_age_s
                    and entry.messages < p.max_messages
                    and entry.bytes + nbytes <= p.max_bytes
                ):
                    entry.messages += 1
                    entry.bytes += nbytes
                    if entry.messages >= p.max_messages:
                        del self._entries[key]  # exhausted: drop now rather than at the next lookup
                    else:
                        self._entries.move_to_end(key)
                    self.counters.hits += 1
                    return entry.material, True
                del self._entries[key]
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        with fetch_lock:
            with self._lock:
                taken = self._take(key, nbytes)  # another thread may have fetched while we waited
                if taken is not None:
                    self.counters.hits += 1
                    return taken
            material = fetch()
            with self._lock:
                self.counters.misses += 1
                if nbytes > self.policy.max_bytes:
                    self.counters.uncached += 1  # a message too large for any cached key gets its own
                    return material, False
                entry = CachedKey(material, self.clock(), messages=1, bytes=nbytes)
                if entry.messages < self.policy.max_messages:
                    self._entries[key] = entry
                    self._entries.move_to_end(key)
                    while len(self._entries) > self.policy.capacity:
                        self._entries.popitem(last=False)
                        self.counters.evictions += 1
                return material, False


@dataclass
class UnwrappedKeyCache(Generic[T]):
    """Decrypt-side cache: unwrapped data keys by (encrypted key, context key), max age and LRU bound."""

    max_age_s: float = 300.0
    capacity: int = 1000
    clock: Callable[[], float] = time.monotonic
    counters: CacheCounters = field(default_factory=CacheCounters)

    def __post_init__(self) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()
        self._fetch_locks: dict[Hashable, threading.Lock] = {}

    def _lookup(self, key: Hashable) -> T | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if self.clock() - found[0] >= self.max_age_s:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found[1]

    def get(self, key: Hashable, unwrap: Callable[[], T]) -> tuple[T, bool]:
        """The unwrapped key for ``key``, calling ``unwrap`` on a miss; True when it came from the cache."""
        with self._lock:
            found = self._lookup(key)
            if found is not None:
                self.counters.hits += 1
                return found, True
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        with fetch_lock:
            with self._lock:
                found = self._lookup(key)
                if found is not None:
                    self.counters.hits += 1
                    return found, True
            material = unwrap()
            with self._lock:
                self.counters.misses += 1
                self._entries[key] = (self.clock(), material)
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
                    self.counters.evictions += 1
                self._fetch_locks.pop(key, None)
            return material, False
