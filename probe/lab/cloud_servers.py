"""The lab TLS servers behind the emulated cloud: one per reachable seeded endpoint, named for its host.

    with running_lab(state_dir) as lab, start_cloud() as cloud:
        with serving_fleet(seed_fleet(cloud.endpoint_url), lab) as fleet:
            sweep(... fleet.connect_to() ...)   # fleet.served[role]: that endpoint's server, truth, expect

A seeded endpoint's server is a copy of the lab endpoint its role is assigned to (SUGGESTED_LAB_ENDPOINTS):
the same server settings and expected findings, on the same loopback address and a free port, with
certificates issued by the lab CA for the seeded host name (load balancer DNS name, API domain, CloudFront
alias), since a certificate without explicit `sans` names the host it serves. A lab endpoint whose
certificate names another host (`hostname-mismatch`) keeps that name, so its role's expected findings carry
the deliberate cert.hostname_mismatch; `serve_fleet` refuses a copy whose certificates' hostname match
disagrees with its expected findings.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from probe.lab.certs import load_ca
from probe.lab.cloud import SUGGESTED_LAB_ENDPOINTS, FleetManifest
from probe.lab.definition import EndpointDef, load_definition
from probe.lab.manager import EndpointState, LabError, LabState, load_state, start_endpoints, stop_endpoints
from probe.policy.rule_ids import CERT_HOSTNAME_MISMATCH

__all__ = ["CLOUD_DIR", "serve_fleet", "serving_fleet", "stop_fleet_servers"]

CLOUD_DIR = "cloud"  # <state_dir>/cloud/{certs,run,logs}: the copies' certificates, specs and logs


def _copies(manifest: FleetManifest, lab: LabState, assignment: Mapping[str, str]) -> dict[str, EndpointDef]:
    known = {e.name: e for e in load_definition(Path(lab.definition)).endpoints}
    copies: dict[str, EndpointDef] = {}
    for endpoint in manifest.endpoints:
        name = assignment.get(endpoint.role)
        if not endpoint.reachable or name is None:
            continue
        if name not in known:
            raise LabError(f"seeded role {endpoint.role} is assigned to {name!r}, not an endpoint of {lab.definition}")
        source = known[name]
        about = f"{endpoint.role} ({endpoint.kind}, {endpoint.region}) served as lab endpoint {name}"
        copies[endpoint.role] = source.model_copy(update={
            "name": f"cloud-{endpoint.role}", "host": endpoint.host, "port": 0,
            "description": f"{about}: {source.description}" if source.description else about,
        })
    return copies


def _check_hostname_truth(role: str, state: EndpointState) -> None:
    """A certificate that does not name the seeded host must be expected to (a deliberate mismatch), and only then."""
    certificates = state.truth.certificates if state.truth is not None else ()
    mismatch = any(not c.hostname_match for c in certificates)
    expected = any(f.rule == CERT_HOSTNAME_MISMATCH for f in state.expect.findings)
    if mismatch != expected:
        names = sorted({san for c in certificates for san in c.sans})
        raise LabError(
            f"seeded role {role} on {state.host}: certificate names {', '.join(names) or 'nothing'}, but its expected "
            f"findings {'lack' if mismatch else 'list'} {CERT_HOSTNAME_MISMATCH}"
        )


def serve_fleet(
    manifest: FleetManifest, lab: LabState | Path, assignment: Mapping[str, str] = SUGGESTED_LAB_ENDPOINTS
) -> FleetManifest:
    """Start a server for each reachable seeded endpoint whose role `assignment` maps to a lab endpoint.

    `lab` is a started lab (its state, or its state directory): its definition and CA are used, its running
    servers are not. Returns the manifest with `served` (role -> server state, truth and expected findings)
    and `resolve` (seeded host -> the server's address and port). Stop them with `stop_fleet_servers`.
    """
    state = lab if isinstance(lab, LabState) else load_state(lab)
    copies = _copies(manifest, state, assignment)
    ca_dir = Path(state.ca_file).parent
    root = Path(state.state_dir) / CLOUD_DIR
    shutil.rmtree(root, ignore_errors=True)
    dirs = {name: root / name for name in ("certs", "run", "logs")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    started = start_endpoints(list(copies.values()), load_ca(ca_dir), dirs)
    served = dict(zip(copies, started, strict=True))
    try:
        for role, server in served.items():
            _check_hostname_truth(role, server)
    except LabError:
        stop_endpoints(started)
        raise
    hosts = {e.role: e.host for e in manifest.endpoints}
    resolve = {hosts[role]: (server.address, server.port) for role, server in served.items()}
    return manifest.model_copy(update={"served": served, "resolve": resolve})


def stop_fleet_servers(manifest: FleetManifest) -> list[str]:
    """Stop the servers `serve_fleet` started; returns the names of those that were running."""
    return stop_endpoints(manifest.served.values())


@contextmanager
def serving_fleet(
    manifest: FleetManifest, lab: LabState | Path, assignment: Mapping[str, str] = SUGGESTED_LAB_ENDPOINTS
) -> Iterator[FleetManifest]:
    """`serve_fleet` for the duration of a `with` block; always stops the servers it started."""
    served = serve_fleet(manifest, lab, assignment)
    try:
        yield served
    finally:
        stop_fleet_servers(served)
