"""Suite and group enumeration by elimination: offer what is left, record the server's choice, remove it, repeat.

Per version and nassl client, the suites sslyze tests start as one chain (bundles of at most 128 suites).
A chain that keeps finding suites is split in two while worker slots are idle, so independent chains run in
parallel (the gate still enforces --per-host). A chain ends when the server refuses what is left. Anomalies
(a suite that was not offered, a server that resets long ClientHellos but answers short ones, errors in the
middle of a chain) mark the version for sslyze's per-suite test instead.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from nassl.ephemeral_key_info import OpenSslEcNidEnum

from probe.scan.fast.handshake import ALL_TLS13_SUITES, Answer, Offer, Reply
from probe.scan.limits import DeadlineExceeded
from probe.scan.suites import catalogue, iana_suite_name

VERSIONS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
MAX_BUNDLE = 128  # suites per ClientHello (testssl.sh's bound: servers choke on longer hellos)
SMALL_BUNDLE = 12  # a hello this short is never suspected of tripping a size limit
SPLIT_MIN = 6  # each half of a split keeps at least this many suites
MAX_CHAINS = 8  # chains per (version, client) list
PREFERENCE_VERSIONS = ("TLSv1.2", "TLSv1.1", "TLSv1.0")  # as the sslyze back-end: first with two suites
# OpenSSL's default groups, which sslyze's own handshakes offer. They come first in every offer, so that TLS 1.3
# key shares rarely need a HelloRetryRequest.
USUAL_GROUPS = (
    OpenSslEcNidEnum.X25519,
    OpenSslEcNidEnum.SECP256R1,
    OpenSslEcNidEnum.SECP384R1,
    OpenSslEcNidEnum.X448,
    OpenSslEcNidEnum.SECP521R1,
)
ALL_GROUPS: tuple[OpenSslEcNidEnum, ...] = USUAL_GROUPS + tuple(g for g in OpenSslEcNidEnum if g not in USUAL_GROUPS)

Probe = Callable[[Offer], Reply]


@dataclass(frozen=True)
class Found:
    """A suite the server accepted, and what else was on offer when it chose it."""

    iana: str
    openssl: str
    legacy: bool
    offered_with: frozenset[str]


@dataclass
class _Chain:
    version: str
    legacy: bool
    remaining: list[str]  # OpenSSL names still unknown, in offer order


@dataclass(frozen=True)
class _Task:
    kind: str  # "suites", "size", "groups", "preference"
    offer: Offer
    chain: _Chain | None = None


@dataclass
class Enumeration:
    """What the elimination found; `anomalies` lists the versions that need sslyze's per-suite test."""

    found: dict[str, dict[str, Found]] = field(default_factory=lambda: {v: {} for v in VERSIONS})
    anomalies: dict[str, str] = field(default_factory=dict)
    groups: list[OpenSslEcNidEnum] = field(default_factory=list)
    groups_anomaly: str | None = None
    dh_bits: int | None = None
    dh_params: list[tuple[bytes, bytes]] = field(default_factory=list)  # (prime, generator) of each DH group seen
    preference: str | None = None
    deadline_hit: bool = False
    notes: list[str] = field(default_factory=list)


def initial_chains(version: str) -> list[_Chain]:
    """One chain per client and bundle of at most MAX_BUNDLE suites."""
    chains = []
    for legacy in (True, False):
        names = [s.openssl for s in catalogue()[version] if s.legacy == legacy]
        for start in range(0, len(names), MAX_BUNDLE):
            chains.append(_Chain(version, legacy, names[start : start + MAX_BUNDLE]))
    return chains


def suite_offer(version: str, legacy: bool, names: list[str]) -> Offer:
    groups = ALL_GROUPS if version == "TLSv1.3" else None
    return Offer(version=version, legacy=legacy, ciphers=tuple(names), groups=groups)


def groups_offer(version: str, groups: list[OpenSslEcNidEnum]) -> Offer:
    ciphers = ALL_TLS13_SUITES if version == "TLSv1.3" else ("ECDH",)
    return Offer(version=version, legacy=False, ciphers=ciphers, groups=tuple(groups))


class Enumerator:
    """Runs the chains of one endpoint on `workers` threads; `probe` performs one handshake."""

    def __init__(self, probe: Probe, workers: int) -> None:
        self.probe = probe
        self.workers = max(1, workers)
        self.result = Enumeration()
        self._pending: dict[Future[Reply], _Task] = {}
        self._active: dict[str, int] = {v: 0 for v in VERSIONS}  # chains still running per version
        self._chains_per_list: dict[tuple[str, bool], int] = {}
        self._list_found: dict[tuple[str, bool], int] = {}
        self._groups_started = False
        self._groups_left: list[OpenSslEcNidEnum] = list(ALL_GROUPS)
        self._preference_started = False
        self._stopped = False

    # -- driving --------------------------------------------------------------------------------------
    def run(self, first: tuple[Offer, Reply] | None = None) -> Enumeration:
        """Enumerate every version (and the groups); `first` is an already answered TLS 1.3 offer."""
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="tlsprobe-fast") as pool:
            self._pool = pool
            for version in ("TLSv1.2", "TLSv1.1", "TLSv1.0", "TLSv1.3", "SSLv3", "SSLv2"):
                for chain in initial_chains(version):
                    self._chains_per_list[(version, chain.legacy)] = (
                        self._chains_per_list.get((version, chain.legacy), 0) + 1
                    )
                    self._active[version] += 1
                    offer = suite_offer(version, chain.legacy, chain.remaining)
                    if first is not None and version == "TLSv1.3" and first[0] == offer:
                        self._handle(_Task("suites", offer, chain), first[1])
                        if first[1].group is not None:
                            self._groups_started = True
                            self._handle(_Task("groups", groups_offer("TLSv1.3", self._groups_left)), first[1])
                    else:
                        self._submit(_Task("suites", offer, chain))
            self._after_each()
            while self._pending:
                done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = self._pending.pop(future)
                    try:
                        reply = future.result()
                    except DeadlineExceeded:
                        self.result.deadline_hit = self._stopped = True
                        continue
                    self._handle(task, reply)
                self._after_each()
        return self.result

    def _submit(self, task: _Task) -> None:
        if self._stopped:
            if task.chain is not None:
                self._chain_done(task.chain)
            return
        self._pending[self._pool.submit(self.probe, task.offer)] = task

    def _after_each(self) -> None:
        if not self._groups_started:
            version = self._highest_version()
            if version is not None:
                self._groups_started = True
                if version != "none":
                    self._submit(_Task("groups", groups_offer(version, self._groups_left)))
        if not self._preference_started:
            self._maybe_probe_preference()

    # -- results --------------------------------------------------------------------------------------
    def _handle(self, task: _Task, reply: Reply) -> None:
        if task.kind == "groups":
            self._handle_groups(task, reply)
        elif task.kind == "preference":
            self._handle_preference(task, reply)
        else:
            assert task.chain is not None
            self._handle_suites(task, task.chain, reply)

    def _anomaly(self, version: str, reason: str) -> None:
        self.result.anomalies.setdefault(version, reason)

    def _chain_done(self, chain: _Chain) -> None:
        self._active[chain.version] -= 1

    def _handle_suites(self, task: _Task, chain: _Chain, reply: Reply) -> None:
        version, key = chain.version, (chain.version, chain.legacy)
        if version in self.result.anomalies:
            return self._chain_done(chain)
        offered = task.offer.ciphers
        if task.kind == "size":
            if reply.answer == Answer.ACCEPTED or (reply.alert and "protocol version" not in reply.detail):
                self._anomaly(version, f"the server resets a ClientHello of {len(chain.remaining)} suites "
                              f"but answers one of {len(offered)}")
            return self._chain_done(chain)
        if reply.answer == Answer.ACCEPTED:
            if reply.cipher is None:
                self._anomaly(version, f"accepted but the suite is unreadable ({reply.detail or 'no name'})")
                return self._chain_done(chain)
            iana = iana_suite_name(version, reply.cipher)
            if reply.cipher not in offered and (
                iana is None or iana not in {iana_suite_name(version, n) for n in offered}
            ):
                self._anomaly(version, f"the server chose {iana or reply.cipher}, which was not offered")
                return self._chain_done(chain)
            name = reply.cipher if reply.cipher in offered else next(
                n for n in offered if iana_suite_name(version, n) == iana
            )
            self.result.found[version][iana or name] = Found(
                iana=iana or name, openssl=name, legacy=chain.legacy, offered_with=frozenset(offered)
            )
            if reply.dh_bits is not None:
                self.result.dh_bits = min(self.result.dh_bits or reply.dh_bits, reply.dh_bits)
            if reply.dh_params is not None and reply.dh_params not in self.result.dh_params:
                self.result.dh_params.append(reply.dh_params)
            self._list_found[key] = self._list_found.get(key, 0) + 1
            chain.remaining = [n for n in chain.remaining if n != name]
            if not chain.remaining:
                return self._chain_done(chain)
            self._continue(chain)
            return None
        if reply.answer == Answer.DROPPED:
            if not self._list_found.get(key) and len(offered) > SMALL_BUNDLE:
                small = chain.remaining[:SMALL_BUNDLE]
                self._submit(_Task("size", suite_offer(version, chain.legacy, small), chain))
                return None
            if reply.detail == "timeout" and self._list_found.get(key):
                self._anomaly(version, "a handshake timed out in the middle of the enumeration")
            return self._chain_done(chain)
        if reply.answer in (Answer.REFUSED, Answer.NOTHING_OFFERED):
            return self._chain_done(chain)
        self._anomaly(version, f"{reply.answer.value}: {reply.detail}".strip())
        return self._chain_done(chain)

    def _continue(self, chain: _Chain) -> None:
        key = (chain.version, chain.legacy)
        idle = len(self._pending) < self.workers
        if idle and len(chain.remaining) >= 2 * SPLIT_MIN and self._chains_per_list.get(key, 0) < MAX_CHAINS:
            other = _Chain(chain.version, chain.legacy, chain.remaining[1::2])
            chain.remaining = chain.remaining[0::2]
            self._chains_per_list[key] = self._chains_per_list.get(key, 0) + 1
            self._active[chain.version] += 1
            self._submit(_Task("suites", suite_offer(other.version, other.legacy, other.remaining), other))
        self._submit(_Task("suites", suite_offer(chain.version, chain.legacy, chain.remaining), chain))

    def _highest_version(self) -> str | None:
        """The highest version with a suite (None while a higher one is still undecided; "none" if no TLS)."""
        for version in ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0"):
            if self.result.found[version]:
                return version
            if self._active[version] > 0 or version in self.result.anomalies:
                return None
        return "none"

    def _handle_groups(self, task: _Task, reply: Reply) -> None:
        offered = task.offer.groups or ()
        if reply.answer == Answer.ACCEPTED and reply.group is not None:
            if reply.group not in offered or reply.group in self.result.groups:
                self.result.groups_anomaly = f"the server chose group {reply.group.name}, which was not offered"
                return
            self.result.groups.append(reply.group)
            self._groups_left.remove(reply.group)
            if self._groups_left:
                self._submit(_Task("groups", groups_offer(task.offer.version, self._groups_left)))
            return
        if reply.answer in (Answer.REFUSED, Answer.NOTHING_OFFERED, Answer.ACCEPTED):
            return
        if reply.answer == Answer.DROPPED:  # no TLS answer: maybe a ClientHello size limit, not the end
            self.result.groups_anomaly = f"the server dropped an offer of {len(offered)} groups ({reply.detail})"
            return
        self.result.groups_anomaly = f"{reply.answer.value}: {reply.detail}".strip()

    # -- preference -----------------------------------------------------------------------------------
    def _maybe_probe_preference(self) -> None:
        for version in PREFERENCE_VERSIONS:
            if version in self.result.anomalies:
                return  # decided after sslyze's per-suite test
            found = self.result.found[version]
            pair = preference_pair(found)
            if pair is not None:
                self._preference_started = True
                first, second = pair
                offer = Offer(version=version, legacy=first.legacy, ciphers=(second.openssl, first.openssl))
                self._submit(_Task("preference", offer))
                return
            if self._active[version] > 0 or len(found) >= 2:
                return  # undecided yet
        self._preference_started = True  # no version offers two suites: preference unknown

    def _handle_preference(self, task: _Task, reply: Reply) -> None:
        second, first = task.offer.ciphers
        if reply.answer == Answer.ACCEPTED and reply.cipher in (first, second):
            self.result.preference = "server" if reply.cipher == first else "client"
        else:
            self.result.notes.append(f"cipher preference: {reply.answer.value} {reply.detail}".strip())


def preference_pair(found: dict[str, Found]) -> tuple[Found, Found] | None:
    """(a, b): a was chosen while b was also offered, by the same client; offering b before a tells the order."""
    by_openssl = {f.openssl: f for f in found.values()}
    for first in found.values():
        for name in sorted(first.offered_with):
            second = by_openssl.get(name)
            if second is not None and second is not first and second.legacy == first.legacy:
                return first, second
    return None
