"""The one module that imports sslyze: run its scan commands on one endpoint, map the results.

Connections go through `ConnectionGate` (deadline, per-host limit, rate, counting): sslyze opens
direct connections with the module function `_open_socket_for_direct_connection`, which we replace once,
on first use, with one that opens through the gate of the scan in progress: the calling thread's (a context
variable our worker threads inherit), else the gate registered for the address dialled (sslyze's own threads).
Several scans in one process therefore keep their own limits and counts.
"""

from __future__ import annotations

import contextvars
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from traceback import TracebackException
from typing import Any, Literal

from nassl.ssl_client import ClientCertificateRequested
from sslyze import (
    CertificateInfoExtraArgument,
    ClientAuthRequirementEnum,
    RobotScanResultEnum,
    ScanCommand,
    ScanCommandAttemptStatusEnum,
    ScanCommandErrorReasonEnum,
    ScanCommandsExtraArguments,
    Scanner,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
    ServerTlsProbingResult,
)
from sslyze.connection_helpers import tls_connection
from sslyze.errors import ConnectionToServerTimedOut, ServerRejectedTlsHandshake, TlsHandshakeTimedOut
from sslyze.plugins.openssl_cipher_suites import cipher_suites as sslyze_suites
from sslyze.plugins.openssl_cipher_suites._tls12_workaround import WorkaroundForTls12ForCipherSuites
from sslyze.plugins.plugin_base import ScanJob, ScanJobResult
from sslyze.plugins.robot import _robot_tester as robot_tester
from sslyze.plugins.robot.implementation import RobotImplementation
from sslyze.plugins.scan_commands import ScanCommandsRepository
from sslyze.scanner.models import AllScanCommandsAttempts, ServerConnectivityStatusEnum, get_scan_command_attempt_cls
from sslyze.server_connectivity import ServerConnectivityInfo, TlsVersionEnum

from probe.models import (
    CertificateInfo,
    ErrorKind,
    Observation,
    ScanError,
    Target,
    TrustVerdict,
    Vulnerabilities,
)
from probe.scan import certs, dh, trust
from probe.scan.diagnose import diagnose
from probe.scan.fast import vulns
from probe.scan.limits import ConnectionGate, DeadlineExceeded, EndpointBudget
from probe.scan.settings import GROUP_NAMES, Probed, ScanSettings
from probe.scan.suites import CatalogueSuite

SUITE_COMMANDS: dict[str, Any] = {
    "SSLv2": ScanCommand.SSL_2_0_CIPHER_SUITES,
    "SSLv3": ScanCommand.SSL_3_0_CIPHER_SUITES,
    "TLSv1.0": ScanCommand.TLS_1_0_CIPHER_SUITES,
    "TLSv1.1": ScanCommand.TLS_1_1_CIPHER_SUITES,
    "TLSv1.2": ScanCommand.TLS_1_2_CIPHER_SUITES,
    "TLSv1.3": ScanCommand.TLS_1_3_CIPHER_SUITES,
}
_ATTEMPT_FIELD = {
    "SSLv2": "ssl_2_0_cipher_suites",
    "SSLv3": "ssl_3_0_cipher_suites",
    "TLSv1.0": "tls_1_0_cipher_suites",
    "TLSv1.1": "tls_1_1_cipher_suites",
    "TLSv1.2": "tls_1_2_cipher_suites",
    "TLSv1.3": "tls_1_3_cipher_suites",
}
_TLS_VERSION_ENUM = {
    "SSLv2": TlsVersionEnum.SSL_2_0,
    "SSLv3": TlsVersionEnum.SSL_3_0,
    "TLSv1.0": TlsVersionEnum.TLS_1_0,
    "TLSv1.1": TlsVersionEnum.TLS_1_1,
    "TLSv1.2": TlsVersionEnum.TLS_1_2,
    "TLSv1.3": TlsVersionEnum.TLS_1_3,
}
CHECK_COMMANDS = frozenset(
    {
        ScanCommand.CERTIFICATE_INFO,
        ScanCommand.ELLIPTIC_CURVES,
        ScanCommand.HEARTBLEED,
        ScanCommand.ROBOT,
        ScanCommand.OPENSSL_CCS_INJECTION,
        ScanCommand.SESSION_RENEGOTIATION,
        ScanCommand.TLS_COMPRESSION,
        ScanCommand.TLS_FALLBACK_SCSV,
    }
)
_RAW_PROBES = {"heartbleed": vulns.heartbleed, "ccs_injection": vulns.ccs_injection, "robot": vulns.robot}
MAX_WORKER_THREADS = 10  # sslyze threads for one endpoint; the gate enforces --per-host across all of them

_install_lock = threading.Lock()
_installed: list[bool] = []
_current_gate: contextvars.ContextVar[ConnectionGate | None] = contextvars.ContextVar("tlsprobe_gate", default=None)


def _gate_for(ip: str, port: int) -> ConnectionGate:
    gate = _current_gate.get() or ConnectionGate.scanning(ip, port)
    if gate is None:
        raise ConnectionError(f"no scan in progress for {ip}:{port}")  # never dial outside a run's limits
    return gate


def _install_gate() -> None:
    """Route sslyze's direct connections through the gate of the scan in progress (once per process)."""
    with _install_lock:
        if _installed:
            return

        def open_socket(server_location: ServerNetworkLocation, network_timeout: int) -> Any:
            ip = server_location.ip_address
            assert ip is not None, "targets are resolved before scanning"
            return _gate_for(ip, server_location.port).open(ip, server_location.port, float(network_timeout))

        tls_connection._open_socket_for_direct_connection = open_socket
        _installed.append(True)
        # sslyze builds its trust-store repository on first use, unguarded: every endpoint scanned at once
        # parsed the five public stores again. Build it now, beside the first handshakes.
        # Not a daemon: it imports, and interpreter shutdown in the middle of an import can abort the process.
        threading.Thread(target=_default_trust_store, name="tlsprobe-trust-stores").start()


def _job_result(future: Future[Any]) -> ScanJobResult:
    error = future.exception()
    if error is not None and not isinstance(error, Exception):
        raise error  # KeyboardInterrupt and the like are not a check's result
    return ScanJobResult(_return_value=None if error else future.result(), _exception=error)


def _attempt(command: Any, info: ServerConnectivityInfo, results: list[ScanJobResult]) -> Any:
    """A scan command's attempt from its jobs' results, with the error reasons sslyze's Scanner gives."""
    try:
        result = ScanCommandsRepository.get_implementation_cls(command).result_for_completed_scan_jobs(info, results)
    except Exception as exc:  # as sslyze's Scanner: a failure is the check's error, not the scan's
        return _failed_attempt(command, exc)
    return get_scan_command_attempt_cls(command)(
        status=ScanCommandAttemptStatusEnum.COMPLETED, error_reason=None, error_trace=None, result=result
    )


def _failed_attempt(command: Any, error: Exception) -> Any:
    """A scan command's failed attempt, with the error reason sslyze's Scanner gives that exception."""
    if isinstance(error, ClientCertificateRequested):
        reason = ScanCommandErrorReasonEnum.CLIENT_CERTIFICATE_NEEDED
    elif isinstance(error, ConnectionToServerTimedOut | TlsHandshakeTimedOut | ServerRejectedTlsHandshake):
        reason = ScanCommandErrorReasonEnum.CONNECTIVITY_ISSUE
    else:
        reason = ScanCommandErrorReasonEnum.BUG_IN_SSLYZE
    return get_scan_command_attempt_cls(command)(
        status=ScanCommandAttemptStatusEnum.ERROR,
        error_reason=reason,
        error_trace=TracebackException.from_exception(error),
        result=None,
    )


def _robot_rsa_parameters(info: ServerConnectivityInfo) -> tuple[str, Any] | None:
    """sslyze's first ROBOT step at TLS 1.2: the cipher string that gets an RSA key exchange, and the key."""
    for cipher_string in ("AES128-GCM-SHA256:AES256-GCM-SHA384", "RSA"):
        numbers = robot_tester._get_rsa_parameters(info, TlsVersionEnum.TLS_1_2, cipher_string)
        if numbers is not None:
            return cipher_string, numbers
    return None


def _robot_attempts(
    pool: ThreadPoolExecutor, info: ServerConnectivityInfo, rsa: Future[Any], budget: EndpointBudget
) -> list[ScanJobResult]:
    """sslyze's ROBOT attempts (each: the five payloads, completing the handshake), payloads in parallel.

    sslyze records a socket error as the server's answer to a payload; one cut short by the endpoint deadline
    would read as an oracle, so an attempt that ends after the deadline fails as a timeout instead."""
    count = RobotImplementation._TEST_ATTEMPTS_NB
    try:
        found = rsa.result()
    except Exception as exc:  # e.g. a client certificate is required: every attempt fails the same way
        return [ScanJobResult(_return_value=None, _exception=exc) for _ in range(count)]
    if found is None:
        return [ScanJobResult(_return_value=None, _exception=robot_tester.ServerDoesNotSupportRsa())
                for _ in range(count)]
    cipher_string, numbers = found
    sends = [
        {
            payload: pool.submit(robot_tester._send_robot_payload, info, TlsVersionEnum.TLS_1_2, cipher_string,
                                 payload, True, numbers.n, numbers.e)
            for payload in robot_tester.RobotPmsPaddingPayloadEnum
        }
        for _ in range(count)
    ]
    results = []
    for attempt in sends:
        failed = next((r for r in map(_job_result, attempt.values()) if r._exception is not None), None)
        if failed is None and budget.remaining() <= 0:
            timed_out = ConnectionToServerTimedOut(
                server_location=info.server_location,
                network_configuration=info.network_configuration,
                error_message="endpoint deadline reached during the ROBOT payloads",
            )
            failed = ScanJobResult(_return_value=None, _exception=timed_out)
        responses = None if failed else {payload: f.result() for payload, f in attempt.items()}
        results.append(failed or ScanJobResult(_return_value=responses, _exception=None))
    return results


class SslyzeScanner:
    """Scans one endpoint with sslyze in the calling (worker) thread."""

    engine = "sslyze"

    def __init__(self, gate: ConnectionGate, settings: ScanSettings) -> None:
        self.gate = gate
        self.settings = settings
        _install_gate()

    def scan(self, target: Target, budget: EndpointBudget, probed: Probed | None = None) -> Observation:
        """Run the scan commands and map them to an Observation; never raises for server behaviour.

        With `probed` (what tlsprobe's own first handshake learnt) sslyze's connectivity test is skipped.
        """
        assert target.ip is not None, "targets are resolved before scanning"
        started = time.monotonic()
        commands: set[Any] = set()
        if self.settings.suites:
            commands |= {SUITE_COMMANDS[v] for v in self._suite_versions()}
        if self.settings.checks:
            commands |= CHECK_COMMANDS - {ScanCommand.ELLIPTIC_CURVES}
        if self.settings.groups or (self.settings.groups is None and self.settings.checks):
            commands.add(ScanCommand.ELLIPTIC_CURVES)
        location = ServerNetworkLocation(
            hostname=target.sni or target.host, port=target.dial_port, ip_address=target.ip
        )
        network = ServerNetworkConfiguration(
            tls_server_name_indication=target.sni or target.host,
            network_timeout=max(1, round(self.settings.timeout)),
            network_max_retries=1,
        )
        extra = ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=self.settings.ca_file)
            if self.settings.ca_file
            else None
        )
        self.gate.register(target.ip, target.dial_port, budget)
        token = _current_gate.set(self.gate)
        try:
            if probed is not None:
                result = self._run_jobs(location, network, extra, commands, probed, budget)
            else:
                request = ServerScanRequest(
                    server_location=location,
                    network_configuration=network,
                    scan_commands=commands,
                    scan_commands_extra_arguments=extra,
                )
                scanner = Scanner(
                    per_server_concurrent_connections_limit=min(self.settings.per_host, MAX_WORKER_THREADS),
                    concurrent_server_scans_limit=1,
                )
                scanner.queue_scans([request])
                # Drain the generator: it stops and joins sslyze's worker threads only after its last result
                # (taking the first result and dropping it leaked per_host + 1 idle threads per endpoint).
                [result] = list(scanner.get_results())
            if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
                error = self._connectivity_error(target, result.connectivity_error_trace, budget)
                return Observation(
                    target=target,
                    status="error",
                    error=error,
                    engine=self.engine,
                    connections=budget.connections,
                    duration_s=time.monotonic() - started,
                )
            observation = self._map(target, result, budget, jobs_in_order=probed is not None)
            if probed is None and observation.tls_versions.get("TLSv1.3"):
                observation = self._with_pq(target, observation)
        finally:
            _current_gate.reset(token)
            self.gate.unregister(target.ip, target.dial_port, budget)
        return observation.model_copy(
            update={"connections": budget.connections, "duration_s": round(time.monotonic() - started, 3)}
        )

    def _run_jobs(
        self,
        location: ServerNetworkLocation,
        network: ServerNetworkConfiguration,
        extra: ScanCommandsExtraArguments,
        commands: set[Any],
        probed: Probed,
        budget: EndpointBudget,
    ) -> ServerScanResult:
        """sslyze's plugin jobs and result analysis, without its connectivity test, on one pool of --per-host
        threads. ROBOT's three attempts share one RSA-parameters handshake and send their five payloads side
        by side, where sslyze runs three sequential chains of six connections."""
        probing = ServerTlsProbingResult(
            highest_tls_version_supported=TlsVersionEnum.TLS_1_3,
            cipher_suite_supported=probed.tls13_cipher,
            client_auth_requirement=ClientAuthRequirementEnum.DISABLED,
            supports_ecdh_key_exchange=True,
        )
        info = ServerConnectivityInfo(
            server_location=location, network_configuration=network, tls_probing_result=probing
        )
        attempts: dict[str, Any] = {}
        workers = min(self.settings.per_host, MAX_WORKER_THREADS)
        with ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="tlsprobe-sslyze", initializer=_current_gate.set,
            initargs=(self.gate,),
        ) as pool:
            rsa = pool.submit(_robot_rsa_parameters, info) if ScanCommand.ROBOT in commands else None
            pending: dict[Any, list[Future[Any]]] = {}
            for command in sorted(commands - {ScanCommand.ROBOT}, key=lambda c: c.value):
                implementation = ScanCommandsRepository.get_implementation_cls(command)
                try:
                    jobs: list[ScanJob] = implementation.scan_jobs_for_scan_command(
                        info, getattr(extra, command.value, None)
                    )
                except Exception as exc:  # as sslyze's Scanner: the command fails, the others run
                    attempts[command.value] = _failed_attempt(command, exc)
                    continue
                pending[command] = [pool.submit(job.function_to_call, *job.function_arguments) for job in jobs]
            if rsa is not None:
                robot = _robot_attempts(pool, info, rsa, budget)
                attempts[ScanCommand.ROBOT.value] = _attempt(ScanCommand.ROBOT, info, robot)
            for command, futures in pending.items():
                attempts[command.value] = _attempt(command, info, [_job_result(f) for f in futures])
        for cls_field in fields(AllScanCommandsAttempts):
            if cls_field.name not in attempts:
                attempts[cls_field.name] = get_scan_command_attempt_cls(ScanCommand(cls_field.name))(
                    status=ScanCommandAttemptStatusEnum.NOT_SCHEDULED, error_reason=None, error_trace=None, result=None
                )
        return ServerScanResult(
            uuid=uuid.uuid4(),
            server_location=location,
            network_configuration=network,
            connectivity_status=ServerConnectivityStatusEnum.COMPLETED,
            connectivity_error_trace=None,
            connectivity_result=probing,
            scan_status=ServerScanStatusEnum.COMPLETED,
            scan_result=AllScanCommandsAttempts(**attempts),
        )

    def _with_pq(self, target: Target, observation: Observation) -> Observation:
        """sslyze sees no post-quantum group (nassl's OpenSSL 1.1.1): tlsprobe's raw hellos add them, through
        the same gate, as the fast engine does."""
        from probe.scan.fast.pq import probe_pq
        from probe.scan.limits import DeadlineExceeded

        assert target.ip is not None
        try:
            pq, notes = probe_pq(self.gate, target.ip, target.dial_port, target.sni or target.host,
                                 self.settings.timeout)
        except DeadlineExceeded:
            return observation.model_copy(
                update={"notes": (*observation.notes, "post-quantum: deadline reached before the probes ended")})
        return observation.model_copy(update={
            "pq": pq,
            "key_exchange_groups": observation.key_exchange_groups + tuple(
                g for g in pq.supported if g not in observation.key_exchange_groups),
            "notes": (*observation.notes, *notes),
        })

    def _suite_versions(self) -> tuple[str, ...]:
        return self.settings.suite_versions if self.settings.suite_versions is not None else tuple(SUITE_COMMANDS)

    # -- errors -------------------------------------------------------------------------------------------
    def _connectivity_error(
        self, target: Target, trace: TracebackException | None, budget: EndpointBudget
    ) -> ScanError:
        name = trace.exc_type.__name__ if trace is not None and trace.exc_type else "unknown"
        text = str(trace).strip() if trace is not None else "no connectivity"
        if budget.remaining() <= 0 or "DeadlineExceeded" in name:
            return ScanError(kind=ErrorKind.TIMEOUT, message="deadline reached before the server completed a handshake")
        if name == "ServerRejectedConnection":
            return ScanError(kind=ErrorKind.REFUSED, message="connection refused")
        if name in ("ConnectionToServerTimedOut",):
            return ScanError(kind=ErrorKind.TIMEOUT, message="TCP connection timed out")
        # Connected but no handshake: look at what the server actually sends to name the cause.
        assert target.ip is not None
        found = diagnose(self.gate, target.ip, target.dial_port, target.sni or target.host, self.settings.timeout)
        if found is not None:
            return found
        return ScanError(kind=ErrorKind.INTERNAL, message=f"{name}: {text[:200]}")

    # -- mapping ------------------------------------------------------------------------------------------
    def _map(self, target: Target, result: Any, budget: EndpointBudget, jobs_in_order: bool) -> Observation:
        attempts = result.scan_result
        notes: list[str] = []
        versions: dict[str, bool] = {}
        suites: dict[str, tuple[str, ...]] = {}
        dh_bits: int | None = None
        dh_params: dict[tuple[bytes, bytes], None] = {}  # (prime, generator) of each DHE key, in order
        for version, attr in _ATTEMPT_FIELD.items():
            if self.settings.suites and version not in self._suite_versions():
                continue
            attempt = getattr(attempts, attr)
            if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
                if attempt.status == ScanCommandAttemptStatusEnum.ERROR:
                    notes.append(f"{version} suites: {_attempt_error(attempt)}")
                continue
            accepted = attempt.result.accepted_cipher_suites
            versions[version] = bool(accepted)
            if accepted:
                suites[version] = tuple(sorted(a.cipher_suite.name for a in accepted))
            for a in accepted:
                key = a.ephemeral_key
                if key is not None and getattr(key, "type_name", "") == "DH":
                    dh_bits = min(dh_bits or key.size, key.size)
                    dh_params.setdefault((bytes(key.prime), bytes(key.generator)), None)
        probing = result.connectivity_result
        client_auth: Literal["none", "optional", "required"] = "none"
        if probing is not None:
            if probing.client_auth_requirement == ClientAuthRequirementEnum.REQUIRED:
                client_auth = "required"
            elif probing.client_auth_requirement == ClientAuthRequirementEnum.OPTIONAL:
                client_auth = "optional"
        certificates = self._certificates(target, result, notes, jobs_in_order, budget)
        groups: tuple[str, ...] = ()
        curves = attempts.elliptic_curves
        if curves.status == ScanCommandAttemptStatusEnum.COMPLETED and curves.result.supported_curves:
            groups = tuple(GROUP_NAMES.get(c.name, c.name) for c in curves.result.supported_curves)
        elif curves.status == ScanCommandAttemptStatusEnum.ERROR:
            notes.append(f"groups: {_attempt_error(curves)}")
        vulnerabilities = self._vulnerabilities(attempts, notes, target)
        preference = None
        if self.settings.suites and self.settings.suite_versions is None and probing is not None:
            preference = self._preference(result, suites, notes)
        if self.settings.suites and not versions:
            return Observation(
                target=target,
                status="error",
                error=ScanError(
                    kind=ErrorKind.INTERNAL, message="every protocol check failed: " + "; ".join(notes)[:300]
                ),
                engine=self.engine,
            )
        return Observation(
            target=target,
            status="ok",
            engine=self.engine,
            tls_versions={v: versions.get(v, False) for v in self._suite_versions()} if self.settings.suites else {},
            cipher_suites=suites,
            cipher_preference=preference,
            key_exchange_groups=groups,
            dh_bits=dh_bits,
            dh_groups=tuple(dh.from_bytes(p, g) for p, g in dh_params),
            certificates=certificates,
            client_auth=client_auth,
            vulnerabilities=vulnerabilities,
            notes=tuple(notes),
        )

    def _trust(self, chain: list[Any], stores: list[str], validated: bool | None,
               budget: EndpointBudget | None) -> TrustVerdict:
        """The trust verdict of a served chain against these trust stores (probe/scan/trust.py), with the
        intermediates the stores and --intermediates hold, and --fetch-aia's fetcher."""
        anchors, pool = trust.store_anchors(stores)
        extra: list[tuple[Any, trust.Source]] = list(pool)
        if self.settings.intermediates is not None:
            extra += [(c, "intermediates_file") for c in certs.load_bundle(str(self.settings.intermediates))]
        fetch = None
        if self.settings.aia is not None and budget is not None:
            fetch = self.settings.aia.for_endpoint(self.gate, budget, self.settings.timeout)
        return trust.assess(chain, roots=anchors, pool=extra, validated=validated, fetch=fetch)

    def _certificates(
        self, target: Target, result: Any, notes: list[str], jobs_in_order: bool, budget: EndpointBudget | None = None
    ) -> tuple[CertificateInfo, ...]:
        attempt = result.scan_result.certificate_info
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            if attempt.status == ScanCommandAttemptStatusEnum.ERROR:
                notes.append(f"certificates: {_attempt_error(attempt)}")
                return self._raw_certificates(target, result, notes, budget)
            return ()
        infos: list[CertificateInfo] = []
        for deployment in attempt.result.certificate_deployments:
            chain = list(deployment.received_certificate_chain)
            if not chain:
                continue
            validated = any(p.was_validation_successful for p in deployment.path_validation_results)
            stores = [str(p.trust_store.path) for p in deployment.path_validation_results]
            verdict = self._trust(chain, stores, validated, budget)
            trusted = verdict.verdict == "trusted"
            trust_error = None
            if not trusted:
                errors = {p.validation_error for p in deployment.path_validation_results if p.validation_error}
                trust_error = "; ".join(sorted(str(e) for e in errors))[:200] or "no trusted path"
            infos.append(_certificate_info(target, chain, trusted, trust_error).model_copy(
                update={**_stapling_and_transparency(deployment, chain, self.settings.ca_file), "trust": verdict}))
        if jobs_in_order:  # _run_jobs: the default client's chain (sslyze's first job) comes first
            return tuple(infos)
        return tuple(_default_first(infos, result.connectivity_result))

    def _raw_certificates(
        self, target: Target, result: Any, notes: list[str], budget: EndpointBudget | None = None
    ) -> tuple[CertificateInfo, ...]:
        """sslyze could not analyse the certificate (a hostile one: unparsable extensions, odd strings): read
        the served chain with one more handshake and take the facts our tolerant parsers can get, so that
        the endpoint is still judged on its certificate rather than passing for want of one."""
        info = ServerConnectivityInfo(
            server_location=result.server_location,
            network_configuration=result.network_configuration,
            tls_probing_result=result.connectivity_result,
        )
        try:
            connection = info.get_preconfigured_tls_connection()
            try:
                connection.connect(should_retry_connection=False)
                chain = certs.load_pem_chain(connection.ssl_client.get_received_chain())
            finally:
                connection.close()
        except Exception as exc:  # the fallback is best effort: say why there are no certificate facts
            notes.append(f"certificates: served chain unreadable ({type(exc).__name__})")
            return ()
        if not chain:
            return ()
        stores = [str(_default_trust_store())]
        if self.settings.ca_file:
            stores.append(str(self.settings.ca_file))
        verdict = self._trust(chain, stores, None, budget)
        trusted = verdict.verdict == "trusted"
        notes.append("certificates: judged from the raw served chain")
        found = _certificate_info(target, chain, trusted, None if trusted else "no trusted path")
        return (found.model_copy(update={"trust": verdict}),)

    def _vulnerabilities(self, attempts: Any, notes: list[str], target: Target) -> Vulnerabilities:
        raw: dict[str, bool | None] = {}

        def done(attempt: Any, label: str) -> Any:
            if attempt.status == ScanCommandAttemptStatusEnum.COMPLETED:
                return attempt.result
            if attempt.status == ScanCommandAttemptStatusEnum.ERROR:
                if label in _RAW_PROBES and attempt.error_reason == ScanCommandErrorReasonEnum.BUG_IN_SSLYZE:
                    raw[label] = self._raw_probe(label, target, _attempt_error(attempt), notes)
                else:
                    notes.append(f"{label}: {_attempt_error(attempt)}")
            return None

        heartbleed = done(attempts.heartbleed, "heartbleed")
        robot = done(attempts.robot, "robot")
        ccs = done(attempts.openssl_ccs_injection, "ccs_injection")
        reneg = done(attempts.session_renegotiation, "renegotiation")
        compression = done(attempts.tls_compression, "compression")
        fallback = done(attempts.tls_fallback_scsv, "fallback_scsv")
        robot_vulnerable = raw.get("robot")
        if robot is not None:
            robot_vulnerable = robot.robot_result in (
                RobotScanResultEnum.VULNERABLE_STRONG_ORACLE,
                RobotScanResultEnum.VULNERABLE_WEAK_ORACLE,
            )
        return Vulnerabilities(
            heartbleed=heartbleed.is_vulnerable_to_heartbleed if heartbleed else raw.get("heartbleed"),
            robot=robot_vulnerable,
            ccs_injection=ccs.is_vulnerable_to_ccs_injection if ccs else raw.get("ccs_injection"),
            insecure_renegotiation=(not reneg.supports_secure_renegotiation) if reneg else None,
            compression=compression.supports_compression if compression else None,
            fallback_scsv=fallback.supports_fallback_scsv if fallback else None,
        )

    def _raw_probe(self, label: str, target: Target, failure: str, notes: list[str]) -> bool | None:
        """tlsprobe's own probe (probe/scan/fast/vulns.py) for a check sslyze could not finish (its record parser
        fails on a handshake message spread over several records: a large certificate message)."""
        assert target.ip is not None
        ip, port = target.ip, target.dial_port

        def connect() -> Any:
            return self.gate.open(ip, port, self.settings.timeout)

        try:
            decision = _RAW_PROBES[label](connect, target.sni or target.host, timeout=self.settings.timeout)
        except DeadlineExceeded:
            decision = vulns.Decision(None, "the endpoint's deadline passed")
        except OSError as exc:
            decision = vulns.Decision(None, f"connection failed: {exc.strerror or exc}")
        if decision.vulnerable is None:
            notes.append(f"{label}: undecided: sslyze's check failed ({failure}) and tlsprobe's raw probe could not "
                         f"decide: {decision.detail}")
        else:
            verdict = "vulnerable" if decision.vulnerable else "not vulnerable"
            notes.append(f"{label}: decided by tlsprobe's raw probe ({failure} in sslyze's check): {verdict}, "
                         f"{decision.detail}")
        return decision.vulnerable

    def _preference(self, result: Any, suites: dict[str, tuple[str, ...]], notes: list[str]) -> str | None:
        """Offer two accepted suites in both orders: the same choice twice means server preference."""
        version = next((v for v in ("TLSv1.2", "TLSv1.1", "TLSv1.0") if len(suites.get(v, ())) >= 2), None)
        if version is None:
            return None
        attempt = getattr(result.scan_result, _ATTEMPT_FIELD[version])
        accepted = attempt.result.accepted_cipher_suites
        names = {a.cipher_suite.openssl_name: a.cipher_suite for a in accepted}
        # both suites must be ones the legacy client can offer (it silently drops e.g. CHACHA20 at TLS 1.2)
        legacy_names = [n for n in names if WorkaroundForTls12ForCipherSuites.requires_legacy_openssl(n)]
        use_legacy = len(legacy_names) >= 2 or version != "TLSv1.2"
        first, second = (legacy_names if use_legacy and len(legacy_names) >= 2 else list(names))[:2]
        info = ServerConnectivityInfo(
            server_location=result.server_location,
            network_configuration=result.network_configuration,
            tls_probing_result=result.connectivity_result,
        )
        chosen: list[str] = []
        try:
            for order in (f"{first}:{second}", f"{second}:{first}"):
                connection = info.get_preconfigured_tls_connection(
                    override_tls_version=_TLS_VERSION_ENUM[version], should_use_legacy_openssl=use_legacy
                )
                connection.ssl_client.set_cipher_list(order)
                try:
                    connection.connect(should_retry_connection=False)
                    chosen.append(connection.ssl_client.get_current_cipher_name())
                finally:
                    connection.close()
        except Exception as exc:  # preference is a nicety: record why it is unknown
            notes.append(f"cipher preference: {type(exc).__name__}")
            return None
        return "server" if chosen[0] == chosen[1] else "client"


def suite_catalogue() -> dict[str, tuple[CatalogueSuite, ...]]:
    """Every suite sslyze's per-suite test covers, per version, with the client sslyze uses for it.

    sslyze keeps one OpenSSL name per IANA name, taken from a set of strings: where two names share one
    suite (EDH-DSS-DES-CBC3-SHA and DHE-DSS-DES-CBC3-SHA), which one it keeps varies from process to process.
    """
    catalogue: dict[str, tuple[CatalogueSuite, ...]] = {}
    for version, tls_version in _TLS_VERSION_ENUM.items():
        suites = sslyze_suites.CipherSuitesRepository.get_all_cipher_suites(tls_version)
        catalogue[version] = tuple(
            CatalogueSuite(suite.name, suite.openssl_name, uses_legacy_client(version, suite.openssl_name))
            for suite in sorted(suites, key=lambda s: s.name)
        )
    return catalogue


def uses_legacy_client(version: str, openssl_name: str) -> bool:
    """Whether sslyze's per-suite test offers this suite with nassl's legacy client."""
    if version == "TLSv1.3":
        return False
    if version == "TLSv1.2":
        return bool(WorkaroundForTls12ForCipherSuites.requires_legacy_openssl(openssl_name))
    return True


def openssl_to_iana_names() -> dict[str, dict[str, str]]:
    """sslyze's IANA name for each OpenSSL suite name, per version (TLS 1.3 names are IANA names already)."""
    mapping: dict[Any, dict[str, str]] = getattr(sslyze_suites, "_OPENSSL_TO_RFC_NAMES_MAPPING", {})
    names = {}
    for version, tls_version in _TLS_VERSION_ENUM.items():
        if tls_version in mapping:
            names[version] = dict(sorted(mapping[tls_version].items()))
    return names


def _default_trust_store() -> Path:
    from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository

    return Path(TrustStoresRepository.get_default().get_main_store().path)


def _default_first(infos: list[CertificateInfo], probing: Any) -> list[CertificateInfo]:
    """Deployments in a stable order, the default one first where it is known.

    sslyze's Scanner lists deployments in the order its jobs finished, while reports and diffs take the first
    as the one default clients get. Up to TLS 1.2 the suite of sslyze's connectivity test names its key type;
    at TLS 1.3 nothing does, and the order is by key type, size and fingerprint."""
    hint = None
    if probing is not None and probing.highest_tls_version_supported.value < TlsVersionEnum.TLS_1_3.value:
        suite = probing.cipher_suite_supported
        hint = "EC" if "ECDSA" in suite else "DSA" if "DSS" in suite else "RSA"
    return sorted(infos, key=lambda c: (c.key_type != hint, c.key_type, c.key_bits or 0, c.fingerprint_sha256))


def _stapling_and_transparency(deployment: Any, chain: list[Any], ca_file: Path | None) -> dict[str, Any]:
    """What sslyze's certificate analysis says of OCSP must-staple, the stapled response and embedded SCTs, and
    whether the chain validates against a public trust store (a --ca-file private CA does not count)."""
    public = [p for p in deployment.path_validation_results
              if ca_file is None or Path(p.trust_store.path) != Path(ca_file)]
    publicly_trusted = any(p.was_validation_successful for p in public) or certs.chain_reaches_anchor(
        chain, [certs.anchors_from(str(p.trust_store.path)) for p in public]
    )
    return {
        "must_staple": bool(deployment.leaf_certificate_has_must_staple_extension),
        "ocsp_stapled": deployment.ocsp_response is not None,
        "sct_count": deployment.leaf_certificate_signed_certificate_timestamps_count,
        "publicly_trusted": publicly_trusted,
    }


def _certificate_info(target: Target, chain: list[Any], trusted: bool, trust_error: str | None) -> CertificateInfo:
    """CertificateInfo of a served chain (leaf first), with facts from the tolerant `certs` helpers."""
    leaf = chain[0]
    key_type, bits, curve = certs.key_facts(leaf)
    not_before, not_after, days = certs.validity(leaf)
    return CertificateInfo(
        subject=certs.subject_of(leaf),
        issuer=certs.issuer_of(leaf),
        sans=certs.sans_of(leaf),
        key_type=key_type,
        key_bits=bits,
        curve=curve,
        signature_hash=certs.signature_hash(leaf),
        not_before=not_before,
        not_after=not_after,
        days_to_expiry=days,
        chain_trusted=trusted,
        trust_error=trust_error,
        hostname_match=certs.hostname_matches(leaf, target.sni or target.host),
        self_signed=certs.is_self_signed(leaf),
        serial=format(leaf.serial_number, "x"),
        fingerprint_sha256=certs.fingerprint(leaf),
        chain=tuple(certs.subject_of(c) for c in chain),
        chain_signature_hashes=tuple(
            certs.signature_hash(c) for c in chain if c is leaf or not certs.is_self_signed(c)
        ),
    )


def _attempt_error(attempt: Any) -> str:
    reason = getattr(attempt.error_reason, "value", attempt.error_reason)
    trace = attempt.error_trace
    detail = trace.exc_type.__name__ if trace is not None and trace.exc_type else ""
    return f"{reason} {detail}".strip()
