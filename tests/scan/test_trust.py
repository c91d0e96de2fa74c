"""The trust verdict and its reason (probe/scan/trust.py) on real chains built with cryptography, one per fault."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from probe.lab.hostile_certs import Chain, fault_chain, make_ca_cert, make_leaf
from probe.scan.trust import aia_ca_issuers, assess

HOST = "chain.test"
AIA = "http://aia.test:8080/intermediate.der"


@pytest.fixture(scope="module")
def root() -> tuple[x509.Certificate, object]:
    return make_ca_cert("tlsprobe test root CA", None)


def chain(root: tuple[x509.Certificate, object], kind: str) -> Chain:
    return fault_chain(kind, root, HOST, aia_url=AIA)  # type: ignore[arg-type]


def test_a_complete_chain_in_order_is_trusted(root: tuple) -> None:
    intermediate = make_ca_cert("tlsprobe test intermediate CA", root)
    leaf, _ = make_leaf(HOST, intermediate)
    verdict = assess([leaf, intermediate[0]], roots=[root[0]])
    assert verdict.verdict == "trusted" and verdict.reason is None
    assert verdict.served_in_order is True
    assert verdict.detail == "the chain validates to root CA CN=tlsprobe test root CA,O=tlsprobe lab"


@pytest.mark.parametrize(
    ("kind", "reason", "words"),
    [
        ("self_signed", "self_signed", "self-signed certificate"),
        ("unknown_root", "unknown_root", "its chain ends at root CA CN=tlsprobe other root CA,O=tlsprobe lab, "
                                         "which is not in the trust store"),
        ("expired_intermediate", "expired_in_chain", "the intermediate certificate CN=tlsprobe lab expired "
                                                     "intermediate CA,O=tlsprobe lab in its chain expired on "),
        ("no_basic_constraints", "bad_basic_constraints", "has no basicConstraints extension marking it a CA"),
    ],
)
def test_each_fault_has_its_reason_in_plain_words(root: tuple, kind: str, reason: str, words: str) -> None:
    built = chain(root, kind)
    verdict = assess(list(built.served), roots=[root[0]])
    assert (verdict.verdict, verdict.reason, verdict.ca) == ("untrusted", reason, built.ca)
    assert words in verdict.detail
    assert verdict.served_in_order is True


def test_an_unsent_issuer_nobody_supplies_is_unknown_and_names_its_aia_url(root: tuple) -> None:
    built = chain(root, "incomplete_chain")
    verdict = assess(list(built.served), roots=[root[0]])
    assert (verdict.reason, verdict.ca, verdict.aia_ca_issuers) == ("unknown_root", built.ca, (AIA,))
    assert verdict.detail == (
        f"issued by CA {built.ca}, which is not in the trust store and whose certificate the server does not send; "
        f"it names its issuer's certificate at {AIA}: --fetch-aia (or --intermediates FILE) tells whether only an "
        "intermediate is missing"
    )
    assert verdict.completed_from is None


@pytest.mark.parametrize("source", ["intermediates_file", "trust_store"])
def test_a_supplied_intermediate_makes_it_an_incomplete_chain(root: tuple, source: str) -> None:
    built = chain(root, "incomplete_chain")
    assert built.missing is not None
    verdict = assess(list(built.served), roots=[root[0]], pool=[(built.missing, source)])  # type: ignore[list-item]
    assert (verdict.verdict, verdict.reason, verdict.completed_from) == ("untrusted", "incomplete_chain", source)
    assert verdict.ca == built.ca and verdict.aia_ca_issuers == (AIA,)
    assert verdict.detail.startswith(
        f"the server does not send the intermediate certificate {built.ca}; clients that do not fetch it fail (found ")


def test_sslyze_validating_with_a_store_intermediate_does_not_hide_the_incomplete_chain(root: tuple) -> None:
    built = chain(root, "incomplete_chain")
    assert built.missing is not None
    verdict = assess(list(built.served), roots=[root[0]], pool=[(built.missing, "trust_store")], validated=True)
    assert verdict.reason == "incomplete_chain"


def test_fetch_aia_completes_the_chain_through_the_fetcher(root: tuple) -> None:
    built = chain(root, "incomplete_chain")
    asked: list[str] = []

    def fetch(url: str) -> list[x509.Certificate] | str:
        asked.append(url)
        assert built.missing is not None
        return [built.missing]

    verdict = assess(list(built.served), roots=[root[0]], fetch=fetch)
    assert (verdict.reason, verdict.completed_from, verdict.ca) == ("incomplete_chain", "aia", built.ca)
    assert asked == [AIA]
    assert "(found at its AIA CA Issuers URL)" in verdict.detail


def test_a_failed_fetch_is_said_in_the_detail(root: tuple) -> None:
    built = chain(root, "incomplete_chain")
    verdict = assess(list(built.served), roots=[root[0]], fetch=lambda url: "refused: connection refused")
    assert verdict.reason == "unknown_root"
    assert verdict.detail.endswith(f"; fetching {AIA} failed: refused: connection refused")


def test_fetch_is_not_asked_when_nothing_is_missing(root: tuple) -> None:
    built = chain(root, "expired_intermediate")

    def fetch(url: str) -> list[x509.Certificate] | str:
        raise AssertionError("no fetch for a chain the server sends whole")

    assert assess(list(built.served), roots=[root[0]], fetch=fetch).reason == "expired_in_chain"


def test_a_chain_sent_out_of_order_is_trusted_but_not_in_order(root: tuple) -> None:
    built = chain(root, "wrong_order")
    verdict = assess(list(built.served), roots=[root[0]])
    assert (verdict.verdict, verdict.reason, verdict.served_in_order) == ("trusted", None, False)


def test_the_server_certificate_after_its_issuer_is_wrong_order(root: tuple) -> None:
    intermediate = make_ca_cert("tlsprobe test intermediate CA", root)
    leaf, _ = make_leaf(HOST, intermediate)
    verdict = assess([intermediate[0], leaf], roots=[root[0]])
    assert (verdict.reason, verdict.ca, verdict.served_in_order) == ("wrong_order", "CN=tlsprobe test intermediate CA,"
                                                                     "O=tlsprobe lab", False)
    assert verdict.detail.startswith("the server sends the CA certificate CN=tlsprobe test intermediate CA,"
                                     "O=tlsprobe lab first, before its own certificate CN=chain.test")


def test_an_issuer_whose_key_does_not_verify_is_signature_invalid(root: tuple) -> None:
    real = make_ca_cert("tlsprobe test intermediate CA", root)
    impostor = make_ca_cert("tlsprobe test intermediate CA", root)  # same name, another key
    leaf, _ = make_leaf(HOST, real)
    verdict = assess([leaf, impostor[0]], roots=[root[0]])
    assert verdict.reason == "signature_invalid"
    assert verdict.detail == ("the signature on CN=chain.test does not verify with the key of "
                              "CN=tlsprobe test intermediate CA,O=tlsprobe lab")


def test_the_leaf_dates_do_not_decide_trust(root: tuple) -> None:
    old = make_ca_cert("tlsprobe test intermediate CA", root)
    leaf, _ = make_leaf(HOST, old)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=500)  # the leaf has expired then, its CA has not
    assert assess([leaf, old[0]], roots=[root[0]], now=later).verdict == "trusted"


def test_a_pinned_self_signed_leaf_in_the_store_is_trusted(root: tuple) -> None:
    built = chain(root, "self_signed")
    assert assess(list(built.served), roots=[built.served[0]]).verdict == "trusted"


def test_sslyze_success_stands_where_no_path_is_found(root: tuple) -> None:
    built = chain(root, "unknown_root")
    assert assess(list(built.served), roots=[root[0]], validated=True).verdict == "trusted"


def test_nothing_served_is_other_and_never_raises(root: tuple) -> None:
    verdict = assess([], roots=[root[0]])
    assert (verdict.verdict, verdict.reason) == ("untrusted", "other")


def test_aia_urls_are_read_from_the_extension(root: tuple) -> None:
    built = chain(root, "incomplete_chain")
    assert aia_ca_issuers(built.served[0]) == (AIA,)
    assert aia_ca_issuers(root[0]) == ()
