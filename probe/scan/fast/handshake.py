"""One probing handshake with nassl: offer suites (or groups) at one version, report what the server chose.

The legacy client (OpenSSL 1.0.2) and the modern one (OpenSSL 1.1.1) are used as sslyze's per-suite test
uses them; every socket comes from the run's `ConnectionGate` (deadline, --per-host, --rate, counting).
"Accepted" means the server chose the suite in its ServerHello: up to TLS 1.2 the probe never sends its key
exchange, so a server that would fail only after it (or reset then) still counts as choosing the suite.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import StrEnum

from nassl._nassl import OpenSSLError, WantReadError, WantX509LookupError
from nassl.ephemeral_key_info import (
    _OPENSSL_NID_TO_SECG_ANSI_X9_62,
    DhEphemeralKeyInfo,
    EcDhEphemeralKeyInfo,
    OpenSslEcNidEnum,
)
from nassl.legacy_ssl_client import LegacySslClient
from nassl.ssl_client import BaseSslClient, ClientCertificateRequested, OpenSslVerifyEnum, OpenSslVersionEnum, SslClient

from probe.scan.limits import ConnectionGate, DeadlineExceeded

NASSL_VERSIONS = {
    "SSLv2": OpenSslVersionEnum.SSLV2,
    "SSLv3": OpenSslVersionEnum.SSLV3,
    "TLSv1.0": OpenSslVersionEnum.TLSV1,
    "TLSv1.1": OpenSslVersionEnum.TLSV1_1,
    "TLSv1.2": OpenSslVersionEnum.TLSV1_2,
    "TLSv1.3": OpenSslVersionEnum.TLSV1_3,
}
ALL_TLS13_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
)
# OpenSSL errors that mean "the server refused this offer" (sslyze's list, plus the version refusals)
_REFUSALS = (
    "alert",
    "wrong version number",
    "no cipher match",
    "peer error no cipher",
    "no cipher list",
    "unsupported protocol",
    "excessive message size",
    "bad mac decode",
    "bad decompression",
    "block type is not 01",
    "wrong ssl version",
    "digest check failed",
    "illegal padding",
    "invalid padding",
    "wrong certificate type",
    "invalid encoding",
    "unknown protocol",
    "wrong curve",
    "unexpected message",
)


class Answer(StrEnum):
    ACCEPTED = "accepted"  # the server chose a suite (and group)
    REFUSED = "refused"  # a TLS-level refusal (alert, version or cipher mismatch)
    DROPPED = "dropped"  # reset, closed or silent without a TLS answer
    NOTHING_OFFERED = "nothing_offered"  # the client could offer none of the suites at this version
    UNREACHABLE = "unreachable"  # the TCP connection failed
    ERROR = "error"  # anything else


@dataclass(frozen=True)
class Offer:
    """What one ClientHello offers. `ciphers` are OpenSSL names (TLS 1.3: IANA names)."""

    version: str
    legacy: bool
    ciphers: tuple[str, ...]
    groups: tuple[OpenSslEcNidEnum, ...] | None = None


@dataclass(frozen=True)
class Reply:
    answer: Answer
    cipher: str | None = None  # the OpenSSL name of the suite the server chose (None: accepted, name unreadable)
    group: OpenSslEcNidEnum | None = None  # the (EC)DHE group of the ephemeral key
    dh_bits: int | None = None  # size of a finite-field DHE key
    dh_params: tuple[bytes, bytes] | None = None  # its group: (prime, generator), big-endian
    alert: bool = False  # the server answered with a TLS alert
    detail: str = ""


def group_name(nid: OpenSslEcNidEnum) -> str:
    """sslyze's name for a curve (before the adapter's renaming of prime256v1)."""
    return _OPENSSL_NID_TO_SECG_ANSI_X9_62.get(nid, f"unknown-curve-with-openssl-id-{nid.value}")


def _client(offer: Offer, sni: str) -> BaseSslClient:
    version = NASSL_VERSIONS[offer.version]
    if offer.legacy:
        client: BaseSslClient = LegacySslClient(ssl_version=version, ssl_verify=OpenSslVerifyEnum.NONE)
        client.set_cipher_list(":".join(offer.ciphers))
    else:
        # Up to TLS 1.2 the modern client names the suite only once it writes its key exchange, which it does
        # not do after a certificate request it must answer: it answers with no certificate instead (never
        # sent: the probe stops first). At TLS 1.3 the request is kept, as the first offer reports it.
        modern = SslClient(
            ssl_version=version,
            ssl_verify=OpenSslVerifyEnum.NONE,
            ignore_client_authentication_requests=offer.version != "TLSv1.3",
        )
        if offer.version == "TLSv1.3":
            modern.set_ciphersuites(":".join(offer.ciphers))
        else:
            modern.set_cipher_list(":".join(offer.ciphers) + ":@SECLEVEL=0")
        if offer.groups is not None:
            modern.set_groups(list(offer.groups))
        client = modern
    if offer.version != "SSLv2":
        client.set_tlsext_host_name(sni)
    return client


def _chosen(client: BaseSslClient, detail: str = "") -> Reply:
    try:
        cipher = client.get_current_cipher_name()
    except Exception:
        cipher = None
    key = client.get_ephemeral_key()
    group = _nid(key.curve) if isinstance(key, EcDhEphemeralKeyInfo) else None
    bits = key.size if isinstance(key, DhEphemeralKeyInfo) else None
    params = (bytes(key.prime), bytes(key.generator)) if isinstance(key, DhEphemeralKeyInfo) else None
    if not cipher and group is None:
        return Reply(Answer.ERROR, detail=detail or "handshake ended without a negotiated suite")
    return Reply(Answer.ACCEPTED, cipher=cipher or None, group=group, dh_bits=bits, dh_params=params, detail=detail)


def _nid(curve: int) -> OpenSslEcNidEnum | None:
    try:
        return OpenSslEcNidEnum(curve)
    except ValueError:
        return None


def _openssl_failure(client: BaseSslClient, message: str) -> Reply:
    if "dh key too small" in message:  # our client refused the server's weak DH: the suite was chosen
        return _chosen(client, "DH key too small for the client")
    if "no ciphers available" in message:
        return Reply(Answer.NOTHING_OFFERED, detail=message[-120:])
    if "shut down by peer" in message:
        return Reply(Answer.DROPPED, detail="closed")
    if any(token in message for token in _REFUSALS):
        return Reply(Answer.REFUSED, alert="alert" in message, detail=message[-120:])
    return Reply(Answer.ERROR, detail=message[-160:])


def _first_flight(client: BaseSslClient, sock: socket.socket, full: bool) -> None:
    """Run the handshake until the server's first flight is processed (one round trip), or to the end.

    Up to TLS 1.2 the client's answer to ServerHelloDone (ClientKeyExchange, Finished) is what would cost a
    second round trip and the server's key-exchange work; by then the suite, the ephemeral key and any
    certificate request are known, so the client's answer is never sent. TLS 1.3 (and SSLv2, `full`) run to
    completion, which for TLS 1.3 is one round trip too. Raises as nassl's `do_handshake` does.
    """
    engine, bio = client._ssl, client._network_bio  # nassl's own loop, stopped early
    answered = False
    while True:
        try:
            engine.do_handshake()
            return
        except WantReadError:
            if answered and not full and bio.pending() and client.get_current_cipher_name():
                return  # the client wrote its second flight: the server's first one is complete
            while bio.pending():
                sock.sendall(bio.read(bio.pending()))
            data = sock.recv(16384)
            if not data:
                raise OSError("Nassl SSL handshake failed: peer did not send data back.") from None
            bio.write(data)
            answered = True
        except OpenSSLError as exc:
            text = str(exc.args[0]) if exc.args else ""
            if "alert bad certificate" in text or "alert certificate unknown" in text:
                raise ClientCertificateRequested(client.get_client_CA_list()) from exc
            raise


def handshake(gate: ConnectionGate, ip: str, port: int, sni: str, offer: Offer, timeout: float) -> Reply:
    """Open one gated connection, offer `offer`, classify the server's answer. Raises DeadlineExceeded only."""
    client = _client(offer, sni)
    try:
        sock = gate.open(ip, port, timeout)
    except DeadlineExceeded:
        raise
    except ConnectionRefusedError:
        return Reply(Answer.UNREACHABLE, detail="refused")
    except TimeoutError:
        return Reply(Answer.UNREACHABLE, detail="timeout")
    except OSError as exc:
        return Reply(Answer.UNREACHABLE, detail=exc.strerror or str(exc))
    client.set_underlying_socket(sock)
    try:
        _first_flight(client, sock, full=offer.version in ("SSLv2", "TLSv1.3"))
        return _chosen(client)
    except (ClientCertificateRequested, WantX509LookupError):
        return _chosen(client, "client certificate requested")
    except OpenSSLError as exc:
        return _openssl_failure(client, str(exc.args[0] if exc.args else exc))
    except TimeoutError:
        return Reply(Answer.DROPPED, detail="timeout")
    except ConnectionError:
        return Reply(Answer.DROPPED, detail="reset")
    except OSError as exc:
        if "did not send data back" in str(exc):
            return Reply(Answer.DROPPED, detail="closed")
        return Reply(Answer.ERROR, detail=str(exc)[:160])
    finally:
        sock.close()  # no close_notify: the handshake is abandoned on purpose
