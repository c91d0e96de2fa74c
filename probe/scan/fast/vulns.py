"""tlsprobe's own Heartbleed, CCS injection and ROBOT probes on raw TLS records (SSL 3.0 to TLS 1.2).

They decide where sslyze's checks cannot (its record parser does not reassemble a handshake message spread over
several records: a large certificate message), and are used where sslyze's check failed. Each answers True
(vulnerable), False (not) or None with the reason it could not decide. Every connection comes from `connect`
(the run's ConnectionGate: counted, --per-host, --rate, the endpoint's deadline).

- Heartbleed (CVE-2014-0160): after the server's first flight, a heartbeat request whose payload fills its record
  without the 16 bytes of padding RFC 6520 requires; a patched server discards it, a vulnerable one echoes it (our
  own bytes: nothing of the server's memory is read).
- CCS injection (CVE-2014-0224): a ChangeCipherSpec before any key exchange, then two bytes of application data; a
  vulnerable server tries to decrypt them (bad_record_mac), any other answer means it refused the early CCS.
- ROBOT: RSA key exchange with the five ClientKeyExchange paddings of the ROBOT paper (as sslyze and testssl.sh send
  them), a ChangeCipherSpec and a Finished; different answers to different paddings are an oracle.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from probe.scan.fast.records import (
    ALERT,
    ALERT_NAMES,
    ALL_SUITES,
    APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
    HANDSHAKE,
    HEARTBEAT,
    RSA_SUITES,
    VERSION_NAMES,
    VERSIONS,
    Flight,
    RecordReader,
    client_hello,
    handshake_message,
    read_first_flight,
    record,
)

__all__ = ["Decision", "ccs_injection", "heartbleed", "robot"]

Connect = Callable[[], socket.socket]
ANSWER_WAIT_S = 2.0  # a vulnerable server answers a heartbeat or an early CCS at once; this long is "no answer"
ROBOT_ATTEMPTS = 3  # rounds of the five paddings when the answers differ (to tell an oracle from noise)
_HEARTBEAT_FILL = b"\x01" * 16381  # payload_length + payload = 16384 bytes: no room left for padding
_PMS = bytes.fromhex("aa112233445566778899112233445566778899112233445566778899112233445566778899112233445566778899")


@dataclass(frozen=True)
class Decision:
    vulnerable: bool | None  # None: not decided
    detail: str  # how it was decided, or why it could not be


def _first_flight(connect: Connect, version: str, suites: tuple[int, ...], sni: str | None, timeout: float,
                  heartbeat: bool = False) -> tuple[socket.socket, RecordReader, Flight]:
    sock = connect()
    try:
        sock.settimeout(timeout)
        sock.sendall(client_hello(version, suites, sni, heartbeat=heartbeat))
        reader = RecordReader(sock)
        try:
            flight = read_first_flight(reader)
        except ValueError as exc:  # a malformed ServerHello
            flight = Flight(ended=f"malformed handshake ({exc})")
    except BaseException:
        sock.close()
        raise
    return sock, reader, flight


def _answer(sock: socket.socket, reader: RecordReader, wait: float) -> tuple[str, list[bytes]]:
    """What the server sends next, as text ("alert:<level>:<description>", "closed", "reset", "timeout" or
    "record:<type>"), and the payloads of heartbeat records seen before it."""
    sock.settimeout(wait)
    heartbeats: list[bytes] = []
    while True:
        try:
            rec = reader.next()
        except TimeoutError:
            return "timeout", heartbeats
        except ConnectionResetError:
            return "reset", heartbeats
        except OSError as exc:
            return f"error:{exc.errno}", heartbeats
        if rec is None:
            return "closed", heartbeats
        if rec.content_type == HEARTBEAT:
            heartbeats.append(rec.payload)
            return "heartbeat", heartbeats
        if rec.content_type == ALERT and len(rec.payload) >= 2:
            return f"alert:{rec.payload[0]}:{rec.payload[1]}", heartbeats
        return f"record:{rec.content_type}", heartbeats


def _refused(flight: Flight) -> str:
    return f"the server answered the probe's ClientHello with {flight.describe()}"


def heartbleed(connect: Connect, sni: str | None, *, version: str = "TLSv1.2", timeout: float = 5.0) -> Decision:
    """Heartbleed at `version` (the server may pick a lower one)."""
    sock, reader, flight = _first_flight(connect, version, ALL_SUITES, sni, timeout, heartbeat=True)
    try:
        if any(_HEARTBEAT_FILL[:10] in payload for payload in flight.heartbeats):
            return Decision(True, "the server echoed a heartbeat request without padding")
        if not flight.done or flight.version is None:
            return Decision(None, _refused(flight))
        request = record(HEARTBEAT, flight.version, b"\x01" + len(_HEARTBEAT_FILL).to_bytes(2, "big") + _HEARTBEAT_FILL)
        try:
            sock.sendall(request)
        except OSError:
            return Decision(False, "the server closed the connection at the heartbeat request")
        answer, heartbeats = _answer(sock, reader, min(timeout, ANSWER_WAIT_S))
        if any(_HEARTBEAT_FILL[:10] in payload for payload in heartbeats):
            return Decision(True, "the server echoed a heartbeat request without padding")
        name = VERSION_NAMES.get(flight.version, hex(flight.version))
        return Decision(False, f"{name}: no heartbeat answer ({_readable(answer)})")
    finally:
        sock.close()


def ccs_injection(connect: Connect, sni: str | None, *, version: str = "TLSv1.2", timeout: float = 5.0) -> Decision:
    """OpenSSL's early ChangeCipherSpec acceptance (CVE-2014-0224) at `version`."""
    sock, reader, flight = _first_flight(connect, version, ALL_SUITES, sni, timeout)
    try:
        if not flight.done or flight.version is None:
            return Decision(None, _refused(flight))
        try:
            sock.sendall(record(CHANGE_CIPHER_SPEC, flight.version, b"\x01")
                         + record(APPLICATION_DATA, flight.version, b"\x00\x00"))
        except OSError:
            return Decision(False, "the server closed the connection at the early ChangeCipherSpec")
        answer, _ = _answer(sock, reader, min(timeout, ANSWER_WAIT_S))
        name = VERSION_NAMES.get(flight.version, hex(flight.version))
        if answer == "alert:2:20":
            return Decision(True, f"{name}: the server accepted an early ChangeCipherSpec (bad_record_mac)")
        return Decision(False, f"{name}: the early ChangeCipherSpec was refused ({_readable(answer)})")
    finally:
        sock.close()


def _readable(answer: str) -> str:
    if answer.startswith("alert:"):
        code = int(answer.rsplit(":", 1)[1])
        return f"alert {ALERT_NAMES.get(code, code)}"
    return answer


# -- ROBOT --------------------------------------------------------------------------------------------------------

_PADDINGS = ("valid", "wrong_first_two_bytes", "wrong_position_00", "no_00_in_the_middle", "wrong_version_number")


def _premaster(kind: str, modulus_bytes: int, client_version: int) -> int:
    """The PKCS #1 v1.5 block of one ROBOT payload (the layouts of the ROBOT paper's test script)."""
    pad = (b"\xab\xcd" * modulus_bytes)[: modulus_bytes - 48 - 3]
    version = client_version.to_bytes(2, "big")
    blocks = {
        "valid": b"\x00\x02" + pad + b"\x00" + version + _PMS,
        "wrong_first_two_bytes": b"\x41\x17" + pad + b"\x00" + version + _PMS,
        "wrong_position_00": b"\x00\x02" + pad + b"\x11" + _PMS + b"\x00\x11",
        "no_00_in_the_middle": b"\x00\x02" + pad + b"\x11\x11\x11" + _PMS,
        "wrong_version_number": b"\x00\x02" + pad + b"\x00\x02\x02" + _PMS,
    }
    return int.from_bytes(blocks[kind], "big")


def _rsa_key(flight: Flight) -> rsa.RSAPublicNumbers | None:
    if not flight.certificates:
        return None
    try:
        key = x509.load_der_x509_certificate(flight.certificates[0]).public_key()
    except ValueError:
        return None
    return key.public_numbers() if isinstance(key, rsa.RSAPublicKey) else None


def _robot_answer(connect: Connect, sni: str | None, version: str, kind: str, timeout: float) -> str:
    sock, reader, flight = _first_flight(connect, version, RSA_SUITES, sni, timeout)
    try:
        numbers = _rsa_key(flight)
        if not flight.done or flight.version is None or numbers is None:
            return "no-rsa:" + flight.describe()
        size = (numbers.n.bit_length() + 7) // 8
        encrypted = pow(_premaster(kind, size, VERSIONS[version]), numbers.e, numbers.n).to_bytes(size, "big")
        exchange = encrypted if flight.version == VERSIONS["SSLv3"] else len(encrypted).to_bytes(2, "big") + encrypted
        finished = hashlib.sha512(b"tlsprobe robot finished").digest()[:48] * 2  # not a valid Finished, by design
        try:
            sock.sendall(record(HANDSHAKE, flight.version, handshake_message(16, exchange))
                         + record(CHANGE_CIPHER_SPEC, flight.version, b"\x01")
                         + record(HANDSHAKE, flight.version, finished[:80]))
        except OSError:
            return "closed"
        answer, _ = _answer(sock, reader, timeout)
        return answer
    finally:
        sock.close()


def robot(connect: Connect, sni: str | None, *, version: str = "TLSv1.2", timeout: float = 5.0,
          workers: int = 5) -> Decision:
    """ROBOT at `version`: five paddings; when the answers differ, two more rounds to rule out noise."""
    rounds: list[dict[str, str]] = []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(_PADDINGS))),
                            thread_name_prefix="tlsprobe-robot") as pool:
        for attempt in range(ROBOT_ATTEMPTS):
            futures = {kind: pool.submit(_robot_answer, connect, sni, version, kind, timeout) for kind in _PADDINGS}
            answers = {kind: future.result() for kind, future in futures.items()}
            rounds.append(answers)
            if any(a.startswith("no-rsa:") for a in answers.values()):
                refused = next(a for a in answers.values() if a.startswith("no-rsa:"))
                if attempt == 0 and all(a.startswith("no-rsa:") for a in answers.values()):
                    return Decision(False, f"no RSA key exchange ({refused.removeprefix('no-rsa:')})")
                return Decision(None, "the server stopped offering RSA key exchange during the test")
            if attempt == 0 and len(set(answers.values())) == 1:
                return Decision(False, f"the same answer to every padding ({_readable(answers['valid'])})")
    if any(r != rounds[0] for r in rounds[1:]):
        return Decision(None, "the server answered the same padding differently across attempts")
    answers = rounds[0]
    strong = len({answers["wrong_first_two_bytes"], answers["wrong_position_00"], answers["no_00_in_the_middle"]}) > 1
    kind = "strong" if strong else "weak"
    return Decision(True, f"{kind} oracle: " + ", ".join(f"{k} {_readable(v)}" for k, v in answers.items()))
