"""Bundled profiles load and validate; broken or unknown profiles are one-line InputErrors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from probe.errors import InputError
from probe.models import Severity
from probe.policy import ALL_RULES, list_profiles, load_profile
from probe.policy.rule_ids import OPTIONAL_RULES

BUNDLED = Path(__file__).resolve().parents[2] / "probe" / "policy" / "profiles"


def test_bundled_profiles_listed() -> None:
    assert list_profiles() == ["mozilla-intermediate", "mozilla-modern", "op-pol-001", "pq-ready"]


@pytest.mark.parametrize("name", ["mozilla-intermediate", "mozilla-modern", "op-pol-001"])
def test_every_bundled_profile_loads_with_clause_and_remediation_for_each_active_rule(name: str) -> None:
    profile = load_profile(name)
    assert profile.slug == name
    for rule in profile.active_rules():
        assert profile.clause(rule)
        assert profile.remediation(rule)


def test_op_pol_001_matches_the_design_table() -> None:
    p = load_profile("op-pol-001")
    assert p.id == "OP-POL-001"
    assert p.ref().model_dump() == {"id": "OP-POL-001", "profile": "op-pol-001"}
    assert p.compliance_threshold == Severity.MEDIUM
    assert p.protocols.minimum == "TLSv1.2"
    assert p.protocols.deprecated == {"SSLv2": Severity.CRITICAL, "SSLv3": Severity.CRITICAL,
                                      "TLSv1.0": Severity.HIGH, "TLSv1.1": Severity.HIGH}
    assert p.ciphers.prohibited == {"NULL": Severity.CRITICAL, "EXPORT": Severity.CRITICAL, "anon": Severity.CRITICAL,
                                    "DES": Severity.CRITICAL, "RC4": Severity.HIGH, "3DES": Severity.HIGH,
                                    "MD5": Severity.HIGH}
    assert (p.ciphers.sha1_mac_severity, p.ciphers.below_256_bit_severity) == (Severity.MEDIUM, Severity.LOW)
    assert p.ciphers.forward_secrecy_required is False
    assert p.certificates.expiry_warning_days == 30
    assert p.signatures.allowed_hashes == ("sha256", "sha384", "sha512")
    # op-pol-001 emits exactly the brief's rule ids
    assert set(p.active_rules()) == set(ALL_RULES) - set(OPTIONAL_RULES)
    assert p.clause("tls.protocol.no_modern") == "OP-POL-001 3.1.1.1"
    assert p.clause("cert.key.weak") == "OP-POL-001 3.1.2.2"
    assert p.clause("cert.expired") == "OP-POL-001 3.3.1.2"


def test_mozilla_profiles_require_forward_secrecy() -> None:
    assert load_profile("mozilla-intermediate").ciphers.forward_secrecy_required
    assert load_profile("mozilla-modern").protocols.minimum == "TLSv1.3"


def test_name_is_case_insensitive() -> None:
    assert load_profile("OP-POL-001").id == "OP-POL-001"


def _op_pol_data() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((BUNDLED / "op-pol-001.yaml").read_text())


def test_profile_file_yaml_and_json(tmp_path: Path) -> None:
    data = _op_pol_data()
    data["id"] = "ACME-TLS-1"
    data["compliance_threshold"] = "high"
    yml = tmp_path / "acme.yaml"
    yml.write_text(yaml.safe_dump(data))
    js = tmp_path / "acme-json.json"
    js.write_text(json.dumps(data))
    assert (load_profile(str(yml)).id, load_profile(str(yml)).slug) == ("ACME-TLS-1", "acme")
    assert load_profile(str(js)).compliance_threshold == Severity.HIGH


def test_unknown_profile_name() -> None:
    with pytest.raises(InputError, match=r"unknown policy profile 'nope'.*op-pol-001"):
        load_profile("nope")


BROKEN = [
    (lambda d: d.pop("protocols"), r"protocols: Field required"),
    (lambda d: d["protocols"].update(minimum="TLSv9"), r"unknown minimum protocol"),
    (lambda d: d["protocols"]["deprecated"].pop("TLSv1.1"), r"no severity for TLSv1.1"),
    (lambda d: d["ciphers"]["prohibited"].update(ROT13="high"), r"unknown cipher families"),
    (lambda d: d["ciphers"].update(sha1_mac_severity="dreadful"), r"ciphers.sha1_mac_severity"),
    (lambda d: d["rules"].pop("cert.expired"), r"no clause/remediation for cert.expired"),
    (lambda d: d["rules"].update({"tls.made_up": {"clause": "x", "remediation": "y"}}), r"unknown rule ids"),
    (lambda d: d.update(colour="blue"), r"colour: Extra inputs are not permitted"),
    (lambda d: d["keys"].update(rsa=[{"below": -1, "severity": "high"}]), r"keys.rsa.0.below"),
    (lambda d: d["vulnerabilities"].update(poodle="high"), r"unknown vulnerabilities"),
]


@pytest.mark.parametrize(("breaker", "reason"), BROKEN)
def test_broken_profile_is_one_line_input_error(tmp_path: Path, breaker, reason: str) -> None:  # type: ignore[no-untyped-def]
    data = _op_pol_data()
    breaker(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match=reason) as info:
        load_profile(str(path))
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("name", "text", "reason"), [
    ("bad.yaml", "id: [unclosed", r"not valid YAML"),
    ("bad.json", "{not json", r"not valid JSON"),
    ("list.yaml", "- 1\n- 2\n", r"expected a mapping"),
])
def test_unparseable_profile(tmp_path: Path, name: str, text: str, reason: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=reason) as info:
        load_profile(str(path))
    assert "\n" not in str(info.value)


def test_threshold_lives_in_the_profile(tmp_path: Path) -> None:
    from tests.policy.factories import cert, observation, rules

    data = _op_pol_data()
    data["keys"]["rsa"] = [{"below": 4096, "severity": "low"}]
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(data))
    obs = observation(certificates=(cert(key_bits=3072),))
    assert rules(obs) == []
    assert rules(obs, load_profile(str(path))) == ["cert.key.weak"]


def test_public_names() -> None:
    import probe.policy

    assert set(probe.policy.__all__) == {
        "ALL_RULES", "DEFAULT_PROFILE", "Profile", "apply_waivers", "evaluate", "exceeds", "judge", "list_profiles",
        "load_profile", "load_waivers", "parse_profile", "suite_traits", "worst_severity",
    }
    assert all(hasattr(probe.policy, name) for name in probe.policy.__all__)
    assert probe.policy.DEFAULT_PROFILE in list_profiles()
