"""The emulated Azure and GCP estates of `tlsprobe lab up --cloud`, served by lab TLS servers.

    with running_lab(state_dir) as lab, running_estates(state_dir, lab) as estates:
        sweep --provider azure --provider gcp  estates.sweep_args()   # with estates.environment()

Both fake APIs (probe.lab.azure_fake, probe.lab.gcp_fake) listen on 127.0.0.1 over HTTPS; `ca_file` trusts both.
Each served endpoint of their fixtures (probe.lab.fixtures: ROLES) is a copy of its lab endpoint with certificates
for its name (probe.lab.cloud_servers.serve_fleet), reached through --connect-to: Azure's by host name, GCP's
by forwarding-rule address (the SNI name is the certificate's). A GCP address without a server (an internal load
balancer) is mapped to a closed loopback port, so nothing dials outside 127.0.0.0/8.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from pydantic import Field

from probe.lab.azure_fake import running_azure
from probe.lab.cloud import FleetEndpoint, FleetManifest
from probe.lab.cloud_servers import serving_fleet
from probe.lab.fixtures import CloudRole
from probe.lab.fixtures import azure as azure_fixtures
from probe.lab.fixtures import gcp as gcp_fixtures
from probe.lab.gcp_fake import running_gcp
from probe.lab.manager import LabState, load_state
from probe.models import Frozen

__all__ = ["CLOSED_PORT", "ESTATES_DIR", "Estates", "estate_manifest", "running_estates"]

ESTATES_DIR = "estates"  # <state_dir>/estates: the fake APIs' CA files
CLOSED_PORT = 9  # where an unserved address is sent: nothing listens on 127.0.0.1:9 (refused)


class Estates(Frozen):
    """The running emulated estates: API endpoints, the CA trusting them, the tokens they accept (fixtures), and
    the lab servers behind their TLS endpoints."""

    azure_endpoint: str
    gcp_endpoint: str
    ca_file: str
    azure_token: str
    gcp_token: str
    manifest: FleetManifest = Field(description="roles azure-* and gcp-*, with the lab servers that serve them")
    connect_to: tuple[str, ...] = Field(description="--connect-to values for every served or internal endpoint")

    def environment(self) -> dict[str, str]:
        """The variables a sweep of the estates needs: the fakes' bearer tokens, and no metadata-server probe."""
        return {"AZURE_ACCESS_TOKEN": self.azure_token, "GOOGLE_OAUTH_ACCESS_TOKEN": self.gcp_token,
                "NO_GCE_CHECK": "True"}

    def hint(self) -> tuple[str, str]:
        """(environment prefix, options) of a sweep command line, as text (the tokens are the fakes' fixtures)."""
        env = " ".join(f"{k}={v}" for k, v in self.environment().items())
        args = self.sweep_args()
        return env, " ".join(args[:4]) + " " + " ".join(
            f"{args[i]} {args[i + 1]}" for i in range(4, len(args), 2))

    def sweep_args(self) -> list[str]:
        """`--provider azure --provider gcp` with the endpoints, the CA and the --connect-to map."""
        args = ["--provider", "azure", "--provider", "gcp", "--azure-endpoint", self.azure_endpoint,
                "--gcp-endpoint", self.gcp_endpoint, "--cloud-ca-file", self.ca_file]
        for item in self.connect_to:
            args += ["--connect-to", item]
        return args


def _endpoints(prefix: str, roles: dict[str, CloudRole]) -> list[FleetEndpoint]:
    return [FleetEndpoint(role=f"{prefix}-{name}", kind=role.kind, region="global", host=role.host,
                          declared_policy=None, scheme=role.scheme, reachable=role.lab_endpoint is not None)
            for name, role in roles.items()]


def estate_manifest(azure_endpoint: str) -> tuple[FleetManifest, dict[str, str]]:
    """Every TLS endpoint of both estates as a fleet manifest, and the role -> lab endpoint assignment."""
    roles = {f"azure-{k}": v for k, v in azure_fixtures.ROLES.items()} | {
        f"gcp-{k}": v for k, v in gcp_fixtures.ROLES.items()}
    endpoints = _endpoints("azure", azure_fixtures.ROLES) + _endpoints("gcp", gcp_fixtures.ROLES)
    manifest = FleetManifest(endpoint_url=azure_endpoint, account="estates", regions=(), endpoints=tuple(endpoints),
                             certificates={}, keys={}, resolve={})
    assignment = {name: role.lab_endpoint for name, role in roles.items() if role.lab_endpoint}
    return manifest, assignment


def _connect_to(served: FleetManifest) -> list[str]:
    """Azure names map to their servers; GCP addresses map to the server of their SNI name, or to a closed port."""
    items = [item for item in served.connect_to() if not any(
        item.startswith(f"{role.host}:") for role in gcp_fixtures.ROLES.values())]
    for role in gcp_fixtures.ROLES.values():
        address, port = served.resolve.get(role.host, ("127.0.0.1", CLOSED_PORT))
        items.append(f"{role.address}:443:{address}:{port}")
    return sorted(items)


@contextmanager
def running_estates(state_dir: Path, lab: LabState | Path) -> Iterator[Estates]:
    """Both fake APIs and the lab servers of their endpoints, for the duration of the `with` block."""
    directory = state_dir.resolve() / ESTATES_DIR  # the servers run from another directory
    directory.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        azure = stack.enter_context(running_azure(directory))
        gcp = stack.enter_context(running_gcp(directory))
        bundle = directory / "cloud-ca.pem"
        bundle.write_text(azure.ca_file.read_text() + gcp.ca_file.read_text())
        manifest, assignment = estate_manifest(azure.url)
        # the copies' certificates and logs go under <state_dir>/estates, apart from the AWS fleet's <state_dir>/cloud
        state = lab if isinstance(lab, LabState) else load_state(lab)
        served = stack.enter_context(serving_fleet(manifest, state.model_copy(update={"state_dir": str(directory)}),
                                                   assignment))
        yield Estates(azure_endpoint=azure.url, gcp_endpoint=gcp.url, ca_file=str(bundle), azure_token=azure.token,
                      gcp_token=gcp.token, manifest=served, connect_to=tuple(_connect_to(served)))
