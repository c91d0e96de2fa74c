"""How the emulated cloud's endpoints are served (probe.lab.cloud_servers), without starting any server: each
reachable seeded role gets a copy of its lab endpoint under the seeded host, so its certificates name that host
unless the lab endpoint's certificates name another one on purpose; the ground truth must say which."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from probe.lab.cloud import SUGGESTED_LAB_ENDPOINTS, FleetEndpoint, FleetManifest
from probe.lab.cloud_servers import _check_hostname_truth, _copies
from probe.lab.definition import Expect, ExpectedFinding, load_definition
from probe.lab.manager import EndpointState, LabError, LabState
from probe.lab.paths import DEFAULT_DEFINITION
from probe.lab.truth import cert_truth, endpoint_truth
from probe.models import Severity

NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
MISMATCH = ExpectedFinding(rule="cert.hostname_mismatch", severity=Severity.HIGH)


def _lab(tmp_path: Path) -> LabState:
    return LabState(state_dir=str(tmp_path), definition=str(DEFAULT_DEFINITION), profile="op-pol-001",
                    started_at=NOW, ca_file=str(tmp_path / "ca.pem"), client_cert="", client_key="",
                    targets_csv="", endpoints=())


def _manifest(*endpoints: FleetEndpoint) -> FleetManifest:
    return FleetManifest(endpoint_url="http://127.0.0.1:1", regions=("eu-west-1",), endpoints=endpoints,
                         certificates={}, keys={}, resolve={})


FLEET = _manifest(
    FleetEndpoint(role="alb-good", kind="elbv2-listener", region="eu-west-1",
                  host="alb-good-1.eu-west-1.elb.amazonaws.com", declared_policy=None),
    FleetEndpoint(role="edge-domain", kind="apigateway-domain", region="ap-southeast-2", host="edge.example.test",
                  declared_policy=None),
    FleetEndpoint(role="alb-internal", kind="elbv2-listener", region="eu-west-1",
                  host="alb-internal-1.eu-west-1.elb.amazonaws.com", declared_policy=None, reachable=False),
)


def _state(copy_name: str, host: str, sans: tuple[str, ...] | None, expect: Expect) -> EndpointState:
    source = load_definition().endpoints[0]
    spec = source.server.certificates[0].model_copy(update={"sans": sans})
    truth = endpoint_truth(source, (cert_truth(spec, host, "c.pem", "c.key", NOW, NOW),))
    return EndpointState(name=copy_name, host=host, address="127.0.10.1", port=1, kind="tls", pid=1,
                         spec_file="s.json", log_file="s.log", truth=truth, expect=expect)


def test_each_reachable_role_is_a_copy_of_its_lab_endpoint_under_the_seeded_host(tmp_path: Path) -> None:
    copies = _copies(FLEET, _lab(tmp_path), SUGGESTED_LAB_ENDPOINTS)
    assert set(copies) == {"alb-good", "edge-domain"}  # the internal load balancer has no server
    known = {e.name: e for e in load_definition().endpoints}
    for role, copy in copies.items():
        source = known[SUGGESTED_LAB_ENDPOINTS[role]]
        host = next(e.host for e in FLEET.endpoints if e.role == role)
        assert (copy.name, copy.host, copy.port, copy.address) == (f"cloud-{role}", host, 0, source.address)
        assert (copy.server, copy.expect) == (source.server, source.expect)
        truths = [cert_truth(c, copy.host, "c.pem", "c.key", NOW, NOW) for c in copy.server.certificates]
        matches = {t.hostname_match for t in truths}
        assert matches == {MISMATCH not in copy.expect.findings}, role
    assert copies["alb-good"].server.certificates[0].sans is None  # issued for the seeded host
    assert MISMATCH in copies["edge-domain"].expect.findings  # the deliberate one


def test_a_role_assigned_to_an_unknown_lab_endpoint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LabError, match=re.escape("alb-good is assigned to 'nowhere'")):
        _copies(FLEET, _lab(tmp_path), {"alb-good": "nowhere"})


def test_the_hostname_truth_and_the_expected_findings_must_agree() -> None:
    host = "www.example.test"
    _check_hostname_truth("cdn-modern", _state("cloud-cdn-modern", host, None, Expect()))
    deliberate = Expect(findings=(MISMATCH,))
    _check_hostname_truth("edge-domain", _state("cloud-edge-domain", host, ("other.test",), deliberate))
    with pytest.raises(LabError, match=re.escape("names other.test, but its expected findings lack cert.hostname")):
        _check_hostname_truth("x", _state("cloud-x", host, ("other.test",), Expect()))
    with pytest.raises(LabError, match=re.escape(f"names {host}, but its expected findings list cert.hostname")):
        _check_hostname_truth("y", _state("cloud-y", host, None, Expect(findings=(MISMATCH,))))
