"""Posture rules for ACM certificates and KMS keys, judged as resources with their own identity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from probe.discovery import AcmCertificate, KmsKey
from probe.models import Severity, Waiver
from probe.policy import load_profile
from probe.policy.resources import judge_resource, posture_findings

TODAY = date(2026, 3, 1)
PROFILE = load_profile("op-pol-001")
ARN = "arn:aws:acm:eu-west-1:111111111111:certificate/0f0f0f0f-1111-2222-3333-444444444444"


def _cert(**kw: object) -> AcmCertificate:
    fields: dict[str, object] = {"account": "111111111111", "region": "eu-west-1", "arn": ARN,
                                 "key_algorithm": "EC_prime256v1", "type": "AMAZON_ISSUED",
                                 "not_after": datetime(2027, 1, 1, tzinfo=UTC)}
    fields.update(kw)
    return AcmCertificate.model_validate(fields)


def _key(**kw: object) -> KmsKey:
    fields: dict[str, object] = {"account": "111111111111", "region": "eu-west-1", "key_id": "k1",
                                 "arn": "arn:aws:kms:eu-west-1:111111111111:key/k1", "key_spec": "SYMMETRIC_DEFAULT",
                                 "rotation_enabled": True}
    fields.update(kw)
    return KmsKey.model_validate(fields)


def _rules(item: AcmCertificate | KmsKey, profile: object = PROFILE, **kw: bool) -> dict[str, Severity]:
    return {f.rule: f.severity for f in posture_findings(item, profile, today=TODAY, **kw)}


def test_good_certificate_and_key_have_no_findings() -> None:
    assert _rules(_cert()) == {}
    assert _rules(_key()) == {}


def test_imported_certificate() -> None:
    findings = posture_findings(_cert(type="IMPORTED"), PROFILE, today=TODAY)
    assert [(f.rule, f.severity, f.clause) for f in findings] == [("acm.imported", Severity.MEDIUM,
                                                                   "OP-POL-001 3.3.1.2")]


def test_expiry_uses_the_profile_window() -> None:
    soon = datetime.combine(TODAY + timedelta(days=20), datetime.min.time(), UTC)
    assert _rules(_cert(not_after=soon)) == {"acm.expiring": Severity.MEDIUM}
    later = datetime.combine(TODAY + timedelta(days=45), datetime.min.time(), UTC)
    assert _rules(_cert(not_after=later)) == {}
    wide = PROFILE.model_copy(update={"certificates": PROFILE.certificates.model_copy(
        update={"expiry_warning_days": 60})})
    assert _rules(_cert(not_after=later), wide) == {"acm.expiring": Severity.MEDIUM}
    assert _rules(_cert(not_after=soon), None) == {"acm.expiring": Severity.MEDIUM}  # 30 days without a profile
    past = datetime.combine(TODAY - timedelta(days=2), datetime.min.time(), UTC)
    assert _rules(_cert(not_after=past)) == {"acm.expired": Severity.HIGH}


def test_certificate_key_sizes() -> None:
    assert _rules(_cert(key_algorithm="RSA_2048")) == {"acm.key.weak": Severity.MEDIUM}
    assert _rules(_cert(key_algorithm="RSA_1024")) == {"acm.key.weak": Severity.HIGH}
    assert _rules(_cert(key_algorithm="RSA_3072")) == {}
    weak = posture_findings(_cert(key_algorithm="RSA_2048"), PROFILE, today=TODAY)[0]
    assert weak.clause == "OP-POL-001 3.1.2.2" and weak.evidence["minimum"] == 3072


def test_kms_rules() -> None:
    assert _rules(_key(rotation_enabled=False)) == {"kms.rotation_disabled": Severity.MEDIUM}
    assert _rules(_key(key_spec="RSA_2048", rotation_enabled=None)) == {"kms.key.weak": Severity.MEDIUM}
    assert _rules(_key(key_spec="ECC_NIST_P256", rotation_enabled=None)) == {}
    assert _rules(_key(key_spec="RSA_3072", rotation_enabled=None)) == {}
    assert _rules(_key(), require_kms_replica=True) == {"kms.no_replica": Severity.LOW}
    replicated = _key(multi_region=True, multi_region_type="PRIMARY", replica_regions=("us-east-1",))
    assert _rules(replicated, require_kms_replica=True) == {}
    clauses = {f.clause for f in posture_findings(_key(rotation_enabled=False), None, today=TODAY,
                                                  require_kms_replica=True)}
    assert clauses == {"OP-POL-001 3.2.2.1"}


def test_a_resource_keeps_its_own_identity_and_attributes() -> None:
    result = judge_resource(_cert(type="IMPORTED", domain_name="shop.example.com"), PROFILE, today=TODAY)
    resource = result.resource
    assert (resource.provider, resource.kind, resource.id, resource.name) == (
        "aws", "acm-certificate", ARN, "shop.example.com")
    assert (resource.account, resource.region) == ("111111111111", "eu-west-1")
    assert resource.short_id == "certificate/0f0f0f0f-1111-2222-3333-444444444444"
    assert resource.attributes["type"] == "IMPORTED" and resource.attributes["key_algorithm"] == "EC_prime256v1"
    assert ".invalid" not in resource.model_dump_json()
    assert result.compliant is False and [f.rule for f in result.findings] == ["acm.imported"]
    key = judge_resource(_key(), PROFILE, today=TODAY)
    assert key.compliant is True and key.resource.name == "k1" and key.resource.attributes["rotation_enabled"]


def test_waivers_match_a_resource_by_id_resource_part_or_name() -> None:
    def waived(pattern: str) -> bool:
        waiver = Waiver(rule="kms.*", endpoint=pattern, reason="migration", expires=date(2026, 12, 31))
        result = judge_resource(_key(rotation_enabled=False), PROFILE, [waiver], today=TODAY)
        return all(f.waived for f in result.findings) and result.compliant is True

    assert waived("arn:aws:kms:eu-west-1:111111111111:key/k1")
    assert waived("key/*")
    assert waived("k1")
    assert not waived("key/other")


def test_a_profile_overrides_a_cloud_rule_severity_and_clause() -> None:
    data = PROFILE.model_dump(mode="json")
    data["rules"]["kms.rotation_disabled"] = {"severity": "high", "clause": "ACME-SEC 7.1"}
    from probe.policy.profile import parse_profile

    custom = parse_profile(data, slug="acme", origin="acme.yaml")
    [finding] = posture_findings(_key(rotation_enabled=False), custom, today=TODAY)
    assert (finding.severity, finding.clause) == (Severity.HIGH, "ACME-SEC 7.1")
    [default] = posture_findings(_key(rotation_enabled=False), PROFILE, today=TODAY)
    assert (default.severity, default.clause) == (Severity.MEDIUM, "OP-POL-001 3.2.2.1")
