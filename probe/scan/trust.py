"""Why a served certificate chain is trusted or not, in words an engineer can act on.

`assess` builds the paths from the server's first certificate (the one clients take as its own) towards a trust
anchor, from the certificates the server sends and then from certificates it does not send but that are known here:
intermediates of a trust store, an `--intermediates` bundle and, with `--fetch-aia`, the certificate a certificate's
AIA "CA Issuers" URL names (fetched through `fetch`, never by default). Each path is checked as validators check
it: every CA certificate needs basicConstraints cA=TRUE (and a keyUsage with keyCertSign when it has a keyUsage) and
must be within its validity dates. The leaf's own dates, signature hash and names have rules of their own
(cert.expired, cert.signature.weak, cert.hostname_mismatch), so they do not decide trust here.

The verdict: trusted when a path from the served certificates alone reaches an anchor cleanly; incomplete_chain when
one does only with a certificate the server does not send; otherwise the fault of the best path (expired_in_chain,
bad_basic_constraints ...), or, without a path, self_signed, unknown_root, signature_invalid or wrong_order. When
sslyze's own path validation succeeded and tlsprobe found no path (an algorithm it cannot verify, say), sslyze's
success stands. `served_in_order` says whether the server sends each certificate of the path before its issuer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import AuthorityInformationAccessOID

from probe.models import TrustVerdict
from probe.scan.certs import issued_by, split_store, subject_of

__all__ = ["Anchors", "Source", "aia_ca_issuers", "assess", "store_anchors"]

Source = Literal["served", "trust_store", "intermediates_file", "aia"]
Fetch = Callable[[str], "list[x509.Certificate] | str"]
Reason = Literal[
    "self_signed", "unknown_root", "incomplete_chain", "expired_in_chain", "not_yet_valid_in_chain", "wrong_order",
    "bad_basic_constraints", "bad_key_usage", "signature_invalid", "other",
]

MAX_DEPTH = 8  # certificates in a path
MAX_PATHS = 64  # paths explored per chain
MAX_FETCHES = 3  # AIA fetches per chain
_WHERE = {
    "trust_store": "in the trust store",
    "intermediates_file": "in the --intermediates file",
    "aia": "at its AIA CA Issuers URL",
}


@dataclass(frozen=True)
class _Link:
    cert: x509.Certificate
    source: Source


@dataclass
class _Path:
    links: list[_Link]
    anchor: x509.Certificate | None = None  # None: no trust anchor above the last link
    dead_end: str = ""  # why the path stops ("self_signed", "no_issuer", "bad_signature", "too_long")

    @property
    def top(self) -> x509.Certificate:
        return self.links[-1].cert

    def missing(self) -> list[_Link]:
        return [link for link in self.links if link.source != "served"]


@dataclass(frozen=True)
class _Fault:
    reason: Reason
    cert: x509.Certificate
    detail: str


@dataclass
class _Pool:
    """Certificates that may complete a path, by subject (DER), with where each came from."""

    by_subject: dict[bytes, list[_Link]] = field(default_factory=dict)

    def add(self, cert: x509.Certificate, source: Source) -> None:
        links = self.by_subject.setdefault(_subject_key(cert), [])
        if all(link.cert != cert for link in links):
            links.append(_Link(cert, source))

    def issuers_named(self, cert: x509.Certificate) -> list[_Link]:
        return self.by_subject.get(_issuer_key(cert), [])


def _subject_key(cert: x509.Certificate) -> bytes:
    return cert.subject.public_bytes()


def _issuer_key(cert: x509.Certificate) -> bytes:
    return cert.issuer.public_bytes()


def _key_of(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _self_issued(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def aia_ca_issuers(cert: x509.Certificate) -> tuple[str, ...]:
    """The AIA "CA Issuers" URIs of a certificate (RFC 5280 4.2.2.1)."""
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(
        str(item.access_location.value)
        for item in access
        if item.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(item.access_location, x509.UniformResourceIdentifier)
    )


class Anchors:
    """Trust anchors indexed by subject and by (subject, key); build once per set of trust stores."""

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        self.by_subject: dict[bytes, list[x509.Certificate]] = {}
        self.keys: set[tuple[bytes, bytes]] = set()
        for root in roots:
            self.by_subject.setdefault(_subject_key(root), []).append(root)
            self.keys.add((_subject_key(root), _key_of(root)))

    def holds(self, cert: x509.Certificate) -> bool:
        """The certificate itself (same name and key) is a trust anchor."""
        return (_subject_key(cert), _key_of(cert)) in self.keys

    def issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        return next((a for a in self.by_subject.get(_issuer_key(cert), []) if issued_by(cert, a)), None)

    def names_issuer(self, cert: x509.Certificate) -> bool:
        return _issuer_key(cert) in self.by_subject


def _build(leaf: x509.Certificate, served: _Pool, extra: _Pool, anchors: Anchors) -> list[_Path]:
    """Every path from the leaf up to an anchor or a dead end (bounded by MAX_DEPTH and MAX_PATHS)."""
    paths: list[_Path] = []

    def walk(links: list[_Link]) -> None:
        if len(paths) >= MAX_PATHS:
            return
        top = links[-1].cert
        if anchors.holds(top):
            paths.append(_Path(links, anchor=top))
            return
        anchor = anchors.issuer_of(top)
        if anchor is not None:
            paths.append(_Path(links, anchor=anchor))
            return
        if len(links) >= MAX_DEPTH:
            paths.append(_Path(links, dead_end="too_long"))
            return
        named = [link for pool in (served, extra) for link in pool.issuers_named(top)
                 if all(link.cert != seen.cert for seen in links)]
        issuers = [link for link in named if issued_by(top, link.cert)]
        if not issuers:
            if _self_issued(top):
                reason = "self_signed"
            elif named or anchors.names_issuer(top):
                reason = "bad_signature"
            else:
                reason = "no_issuer"
            paths.append(_Path(links, dead_end=reason))
            return
        for link in issuers:
            walk([*links, link])

    walk([_Link(leaf, "served")])
    return paths


def _ca_faults(path: _Path, now: datetime) -> list[_Fault]:
    """What validators refuse in the path's CA certificates (those above the leaf, the trust anchor aside)."""
    faults: list[_Fault] = []
    cas = [link.cert for link in path.links[1:] if link.cert is not path.anchor]
    for cert in cas:
        name = subject_of(cert)
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            faults.append(_Fault("bad_basic_constraints", cert,
                                 f"the CA certificate {name} that issued it has no basicConstraints extension marking "
                                 "it a CA, so validators refuse it as an issuer"))
        else:
            if not constraints.ca:
                faults.append(_Fault("bad_basic_constraints", cert,
                                     f"the certificate {name} that issued it is marked as not a CA (basicConstraints "
                                     "cA=FALSE), so validators refuse it as an issuer"))
        try:
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            usage = None
        if usage is not None and not usage.key_cert_sign:
            faults.append(_Fault("bad_key_usage", cert,
                                 f"the CA certificate {name} has a keyUsage without keyCertSign, so it may not sign "
                                 "certificates"))
        if cert.not_valid_after_utc < now:
            faults.append(_Fault("expired_in_chain", cert,
                                 f"the intermediate certificate {name} in its chain expired on "
                                 f"{cert.not_valid_after_utc.date().isoformat()}"))
        elif cert.not_valid_before_utc > now:
            faults.append(_Fault("not_yet_valid_in_chain", cert,
                                 f"the intermediate certificate {name} in its chain is not valid before "
                                 f"{cert.not_valid_before_utc.date().isoformat()}"))
    return faults


def _in_order(path: _Path, served: Sequence[x509.Certificate]) -> bool:
    """Each served certificate of the path comes after the one it issued (certificates off the path aside)."""
    positions = []
    for link in path.links:
        if link.source == "served":
            positions.append(next(i for i, c in enumerate(served) if c == link.cert))
    return positions == sorted(positions) and positions[:1] == [0]


def _leaf_sent_late(served: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """The server's own certificate when the server sends its issuer (a CA) first, else None."""
    first = served[0]
    try:
        if not first.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return None
    except x509.ExtensionNotFound:
        return None
    for cert in served[1:]:
        if cert.issuer == first.subject and not _self_issued(cert) and issued_by(cert, first):
            try:
                is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            except x509.ExtensionNotFound:
                is_ca = False
            if not is_ca:
                return cert
    return None


def _describe_dead_end(path: _Path, leaf: x509.Certificate, fetched: dict[str, str]) -> TrustVerdict:
    top = path.top
    if path.dead_end == "self_signed":
        if top is leaf:
            return _untrusted("self_signed", "self-signed certificate", ca=subject_of(top))
        if len(path.links) == 2:
            detail = f"issued by CA {subject_of(top)}, which is not in the trust store"
        else:
            detail = f"its chain ends at root CA {subject_of(top)}, which is not in the trust store"
        return _untrusted("unknown_root", detail, ca=subject_of(top))
    issuer = _name(top.issuer)
    if path.dead_end == "bad_signature":
        return _untrusted("signature_invalid",
                          f"the signature on {subject_of(top)} does not verify with the key of {issuer}", ca=issuer)
    if path.dead_end == "too_long":
        return _untrusted("other", f"no path to a trust anchor within {MAX_DEPTH} certificates", ca=None)
    urls = aia_ca_issuers(top)
    who = "issued by" if top is leaf else f"its chain ends at {subject_of(top)}, issued by"
    detail = f"{who} CA {issuer}, which is not in the trust store and whose certificate the server does not send"
    failures = [f"fetching {url} failed: {fetched[url]}" for url in urls if url in fetched]
    if failures:
        detail += "; " + "; ".join(failures)
    elif urls:
        detail += (f"; {'it' if top is leaf else 'that certificate'} names its issuer's certificate at "
                   f"{', '.join(urls)}: --fetch-aia (or --intermediates FILE) tells whether only an intermediate "
                   "is missing")
    return _untrusted("unknown_root", detail, ca=issuer, aia=urls)


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except Exception:  # undecodable attribute values in a hostile certificate
        return "<undecodable name>"


def _untrusted(reason: Reason, detail: str, *, ca: str | None, aia: tuple[str, ...] = (),
               completed_from: Source | None = None, in_order: bool | None = None) -> TrustVerdict:
    return TrustVerdict(verdict="untrusted", reason=reason, detail=detail, ca=ca, aia_ca_issuers=aia,
                        completed_from=None if completed_from == "served" else completed_from,
                        served_in_order=in_order)


def _verdict(paths: list[_Path], served: Sequence[x509.Certificate], now: datetime,
             fetched: dict[str, str]) -> TrustVerdict:
    leaf = served[0]
    complete = [p for p in paths if p.anchor is not None]
    faults = {id(p): _ca_faults(p, now) for p in complete}
    clean = [p for p in complete if not faults[id(p)]]
    whole = [p for p in clean if not p.missing()]
    if whole:
        best = min(whole, key=lambda p: len(p.links))
        assert best.anchor is not None
        return TrustVerdict(verdict="trusted", detail=f"the chain validates to root CA {subject_of(best.anchor)}",
                            served_in_order=_in_order(best, served))
    if clean:
        best = min(clean, key=lambda p: (len(p.missing()), len(p.links)))
        first = best.missing()[0]
        below = best.links[best.links.index(first) - 1].cert
        name = subject_of(first.cert)
        detail = (f"the server does not send the intermediate certificate {name}; clients that do not fetch it "
                  f"fail (found {_WHERE[first.source]})")
        return _untrusted("incomplete_chain", detail, ca=name, aia=aia_ca_issuers(below),
                          completed_from=first.source, in_order=_in_order(best, served))
    if complete:
        best = min(complete, key=lambda p: (len(p.missing()) > 0, len(faults[id(p)]), len(p.links)))
        fault = faults[id(best)][0]
        return _untrusted(fault.reason, fault.detail, ca=subject_of(fault.cert), in_order=_in_order(best, served))
    best = max(paths, key=lambda p: (len(p.links), not p.missing()))
    verdict = _describe_dead_end(best, leaf, fetched)
    return verdict.model_copy(update={"served_in_order": _in_order(best, served)})


def assess(
    served: Sequence[x509.Certificate],
    *,
    roots: Sequence[x509.Certificate] | Anchors,
    pool: Sequence[tuple[x509.Certificate, Source]] = (),
    validated: bool | None = None,
    fetch: Fetch | None = None,
    now: datetime | None = None,
) -> TrustVerdict:
    """The trust verdict of a served chain (first certificate = the server's) against trust anchors `roots`.

    `pool` holds certificates the server may have left out (and where they came from); `validated` is sslyze's
    path validation (True: some trust store validated the chain); `fetch` fetches an AIA CA Issuers URL (only with
    --fetch-aia). Never raises: a chain that cannot be analysed is reason "other".
    """
    now = now or datetime.now(UTC)
    try:
        verdict = _assess(served, roots, pool, fetch, now)
    except Exception as exc:  # a hostile certificate the parsers refuse: say so, never lose the endpoint
        if validated:
            return TrustVerdict(verdict="trusted", detail="the chain validates (sslyze)")
        return _untrusted("other", f"the chain could not be analysed ({type(exc).__name__}: {exc})"[:300], ca=None)
    if verdict.verdict == "untrusted" and verdict.reason != "incomplete_chain" and validated:
        return TrustVerdict(verdict="trusted", detail="the chain validates (sslyze)",
                            served_in_order=verdict.served_in_order)
    return verdict


def _assess(served: Sequence[x509.Certificate], roots: Sequence[x509.Certificate] | Anchors,
            pool: Sequence[tuple[x509.Certificate, Source]], fetch: Fetch | None, now: datetime) -> TrustVerdict:
    if not served:
        return _untrusted("other", "the server sent no certificate", ca=None)
    anchors = roots if isinstance(roots, Anchors) else Anchors(roots)
    late = _leaf_sent_late(served) if not anchors.holds(served[0]) else None
    if late is not None:
        return _untrusted("wrong_order", f"the server sends the CA certificate {subject_of(served[0])} first, "
                          f"before its own certificate {subject_of(late)}", ca=subject_of(served[0]), in_order=False)
    sent = _Pool()
    for cert in served[1:]:
        sent.add(cert, "served")
    extra = _Pool()
    for cert, source in pool:
        extra.add(cert, source)
    fetched: dict[str, str] = {}  # URL -> why its fetch failed
    for _ in range(MAX_FETCHES + 1):
        paths = _build(served[0], sent, extra, anchors)
        verdict = _verdict(paths, served, now, fetched)
        if fetch is None or verdict.reason != "unknown_root":
            return verdict
        top = max(paths, key=lambda p: (len(p.links), not p.missing())).top
        urls = [url for url in aia_ca_issuers(top) if url not in fetched]
        if not urls or _self_issued(top):
            return verdict
        got_any = False
        for url in urls:
            result = fetch(url)
            if isinstance(result, str):
                fetched[url] = result
                continue
            fetched[url] = "the certificate it serves does not issue this one"
            for cert in result:
                extra.add(cert, "aia")
                got_any = True
        if not got_any:
            return _verdict(paths, served, now, fetched)
    return verdict


_STORES: dict[tuple[str, ...], tuple[Anchors, tuple[tuple[x509.Certificate, Source], ...]]] = {}
_STORES_LOCK = threading.Lock()


def store_anchors(paths: Sequence[str]) -> tuple[Anchors, tuple[tuple[x509.Certificate, Source], ...]]:
    """The roots of these trust store files as Anchors, and their other certificates as intermediates a server may
    leave out (built once per set of stores)."""
    key = tuple(sorted(set(paths)))
    with _STORES_LOCK:
        cached = _STORES.get(key)
        if cached is None:
            roots: list[x509.Certificate] = []
            intermediates: list[tuple[x509.Certificate, Source]] = []
            for path in key:
                store_roots, store_intermediates = split_store(path)
                roots += store_roots
                intermediates += [(cert, "trust_store") for cert in store_intermediates]
            cached = _STORES[key] = (Anchors(roots), tuple(intermediates))
    return cached
