"""Policy profiles: a validated data model and the loaders for bundled names and user files."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from probe.errors import InputError
from probe.models import TLS_VERSIONS, Frozen, PolicyRef, Severity
from probe.policy import rule_ids as R
from probe.policy.suites import PROHIBITED_FAMILIES

__all__ = [
    "AwsPostureSettings",
    "CertificateSettings",
    "CipherSettings",
    "HstsSettings",
    "KeySettings",
    "PolicyClause",
    "PqSettings",
    "Profile",
    "ProtocolSettings",
    "RuleText",
    "SignatureSettings",
    "Tier",
    "list_profiles",
    "load_profile",
    "parse_profile",
]

_PROFILE_PACKAGE = "probe.policy.profiles"


class RuleText(Frozen):
    """A profile's word on a rule: the clause it enforces, a one-line remediation, and (for a rule without a
    severity setting of its own) its severity. What is left out comes from probe.policy.rules.RULES."""

    clause: str | None = Field(default=None, min_length=1)
    remediation: str | None = Field(default=None, min_length=1)
    severity: Severity | None = None


class Tier(Frozen):
    """Key sizes strictly below `below` bits get `severity`."""

    below: int = Field(gt=0)
    severity: Severity


class ProtocolSettings(Frozen):
    minimum: str = "TLSv1.2"
    deprecated: dict[str, Severity] = Field(description="severity of each enabled version below the minimum")
    no_modern_severity: Severity = Severity.HIGH

    @model_validator(mode="after")
    def _versions_consistent(self) -> Self:
        if self.minimum not in TLS_VERSIONS:
            raise ValueError(f"unknown minimum protocol {self.minimum!r} (one of {', '.join(TLS_VERSIONS)})")
        below = TLS_VERSIONS[: TLS_VERSIONS.index(self.minimum)]
        unknown = sorted(set(self.deprecated) - set(below))
        if unknown:
            raise ValueError(f"deprecated lists {', '.join(unknown)}, which is not below minimum {self.minimum}")
        missing = [v for v in below if v not in self.deprecated]
        if missing:
            raise ValueError(f"no severity for {', '.join(missing)} (below minimum {self.minimum})")
        return self


def _tiers_sorted(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    return tuple(sorted(tiers, key=lambda t: t.below))


class KeySettings(Frozen):
    """Key-size tiers; the smallest tier a key falls under decides the severity."""

    rsa: tuple[Tier, ...] = ()
    ec: tuple[Tier, ...] = ()
    dh: tuple[Tier, ...] = ()
    ecdh: tuple[Tier, ...] = ()

    @field_validator("rsa", "ec", "dh", "ecdh")
    @classmethod
    def _sort(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        return _tiers_sorted(tiers)


class SignatureSettings(Frozen):
    allowed_hashes: tuple[str, ...] = ("sha256", "sha384", "sha512")
    weak_severity: Severity = Severity.HIGH

    @field_validator("allowed_hashes")
    @classmethod
    def _lower(cls, hashes: tuple[str, ...]) -> tuple[str, ...]:
        if not hashes:
            raise ValueError("allowed_hashes must not be empty")
        return tuple(h.lower() for h in hashes)


class CipherSettings(Frozen):
    prohibited: dict[str, Severity]
    sha1_mac_severity: Severity | None = Severity.MEDIUM
    below_256_bit_severity: Severity | None = Severity.LOW
    forward_secrecy_required: bool = False
    no_forward_secrecy_severity: Severity = Severity.MEDIUM
    allowed_suites: tuple[str, ...] | None = Field(default=None, description="when set, any other suite is a finding")
    not_allowed_severity: Severity = Severity.MEDIUM

    @field_validator("prohibited")
    @classmethod
    def _known_families(cls, families: dict[str, Severity]) -> dict[str, Severity]:
        unknown = sorted(set(families) - set(PROHIBITED_FAMILIES))
        if unknown:
            raise ValueError(f"unknown cipher families {unknown} (known: {', '.join(PROHIBITED_FAMILIES)})")
        return families


class CertificateSettings(Frozen):
    expiry_warning_days: int = Field(default=30, ge=0)
    expired_severity: Severity = Severity.HIGH
    expiring_severity: Severity = Severity.MEDIUM
    untrusted_severity: Severity = Severity.HIGH
    hostname_mismatch_severity: Severity = Severity.HIGH
    max_lifetime_days: int | None = Field(default=None, gt=0)
    lifetime_severity: Severity = Severity.MEDIUM
    must_staple_unstapled_severity: Severity | None = Field(
        default=None, description="a must-staple certificate served without a stapled OCSP response; null = off"
    )
    no_sct_severity: Severity | None = Field(
        default=None, description="a publicly trusted certificate without embedded SCTs; null = off"
    )


class PqSettings(Frozen):
    """Post-quantum key exchange (probe/policy/pq.py); a null severity turns its rule off. Only the hybrid groups
    (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024) count as readiness."""

    absent_severity: Severity | None = Field(default=Severity.INFO, description="tls.kex.pq_absent: no hybrid group")
    not_preferred_severity: Severity | None = Field(
        default=Severity.INFO, description="tls.kex.pq_not_preferred: a classical group under a browser-like hello"
    )
    obsolete_severity: Severity | None = Field(
        default=Severity.INFO, description="tls.kex.pq_obsolete: X25519Kyber768Draft00 still accepted"
    )


class HstsSettings(Frozen):
    """HSTS (RFC 6797) on HTTPS endpoints; a null severity turns its rule off."""

    min_max_age: int = Field(default=31536000, ge=0, description="seconds; below it: http.hsts.short_max_age")
    missing_severity: Severity | None = Severity.MEDIUM
    short_max_age_severity: Severity | None = Severity.LOW
    no_subdomains_severity: Severity | None = Severity.LOW
    ineffective_severity: Severity | None = Severity.MEDIUM


# Names or descriptions of SSM parameters that look like secrets (regular expressions, case-insensitive).
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    r"passw(or)?d", r"secret", r"token", r"api[-_.\s]?key", r"private[-_.\s]?key", r"credential",
    r"conn(ection)?[-_.\s]?str(ing)?",
)


class AwsPostureSettings(Frozen):
    """The AWS estate's encryption posture (probe/policy/aws_posture.py)."""

    secret_patterns: tuple[str, ...] = Field(
        default=DEFAULT_SECRET_PATTERNS, description="regular expressions (case-insensitive) over an SSM parameter's "
        "name and description: a match stored as String is aws.ssm.secret_as_string")
    max_secret_rotation_days: int = Field(default=90, gt=0, description="longer: aws.secrets.rotation_interval")

    @field_validator("secret_patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"secret pattern {pattern!r}: {exc}") from None
        return patterns


class PolicyClause(Frozen):
    """One clause of the policy text (a numbered heading): the coverage matrix has a row for each."""

    id: str = Field(pattern=r"^\d+(\.\d+)*$", description='the heading\'s number, e.g. "3.2.1.2"')
    title: str = Field(min_length=1)
    not_checked: str | None = Field(default=None, description="what of the clause tlsprobe cannot check from the "
                                    "APIs it reads, and why (all of it when no rule enforces the clause)")


class Profile(Frozen):
    """One policy profile. Thresholds live here, never in code."""

    id: str = Field(min_length=1, description='policy id shown in reports, e.g. "OP-POL-001"')
    slug: str = Field(default="", description="bundled name or file stem; filled in by the loader")
    name: str = Field(min_length=1)
    description: str = ""
    compliance_threshold: Severity = Severity.MEDIUM
    protocols: ProtocolSettings
    keys: KeySettings
    signatures: SignatureSettings = SignatureSettings()
    ciphers: CipherSettings
    certificates: CertificateSettings = CertificateSettings()
    hsts: HstsSettings | None = Field(default=None, description="HSTS rules of HTTPS endpoints; absent = not judged")
    pq: PqSettings | None = Field(default=None, description="post-quantum key exchange rules; absent = not judged")
    vulnerabilities: dict[str, Severity | None] = Field(description="rule severity per vulnerability, null = off")
    rules: dict[str, RuleText]
    aws: AwsPostureSettings = AwsPostureSettings()
    clauses: tuple[PolicyClause, ...] = Field(default=(), description="the policy's clauses, for the coverage matrix")

    @field_validator("clauses")
    @classmethod
    def _unique_clauses(cls, clauses: tuple[PolicyClause, ...]) -> tuple[PolicyClause, ...]:
        seen = [c.id for c in clauses]
        twice = sorted({c for c in seen if seen.count(c) > 1})
        if twice:
            raise ValueError(f"clauses listed twice: {', '.join(twice)}")
        return clauses

    @field_validator("vulnerabilities")
    @classmethod
    def _known_vulnerabilities(cls, vulns: dict[str, Severity | None]) -> dict[str, Severity | None]:
        unknown = sorted(set(vulns) - set(R.VULNERABILITY_RULES))
        if unknown:
            raise ValueError(f"unknown vulnerabilities {unknown} (known: {', '.join(R.VULNERABILITY_RULES)})")
        return vulns

    @model_validator(mode="after")
    def _every_active_rule_has_text(self) -> Self:
        from probe.policy.rules import RULES

        unknown = sorted(set(self.rules) - set(RULES))
        if unknown:
            raise ValueError(f"rules: unknown rule ids {unknown}")
        missing = [rule for rule in self.active_rules()
                   if rule not in self.rules or not (self.rules[rule].clause and self.rules[rule].remediation)]
        if missing:
            raise ValueError(f"rules: no clause/remediation for {', '.join(missing)}")
        return self

    def active_rules(self) -> tuple[str, ...]:
        """Rule ids this profile can emit."""
        off: set[str] = set()
        if self.ciphers.sha1_mac_severity is None:
            off.add(R.CIPHER_SHA1_MAC)
        if self.ciphers.below_256_bit_severity is None:
            off.add(R.CIPHER_AES128)
        if not self.ciphers.forward_secrecy_required:
            off.add(R.CIPHER_NO_FORWARD_SECRECY)
        if self.ciphers.allowed_suites is None:
            off.add(R.CIPHER_NOT_ALLOWED)
        if not self.ciphers.prohibited:
            off.add(R.CIPHER_PROHIBITED)
        if self.certificates.max_lifetime_days is None:
            off.add(R.CERT_LIFETIME)
        if not (self.keys.dh or self.keys.ecdh):
            off.add(R.KEX_WEAK_DH)
        if not (self.keys.rsa or self.keys.ec):
            off.add(R.CERT_KEY_WEAK)
        off.update(rule for flag, rule in R.VULNERABILITY_RULES.items() if self.vulnerabilities.get(flag) is None)
        if self.certificates.must_staple_unstapled_severity is None:
            off.add(R.CERT_MUST_STAPLE_UNSTAPLED)
        if self.certificates.no_sct_severity is None:
            off.add(R.CERT_NO_SCT)
        hsts = self.hsts
        if hsts is None:
            off.update(R.HSTS_RULES)
        else:
            severities = (hsts.missing_severity, hsts.short_max_age_severity, hsts.no_subdomains_severity,
                          hsts.ineffective_severity)
            off.update(rule for rule, severity in zip(R.HSTS_RULES, severities, strict=True) if severity is None)
        if self.pq is None:
            off.update(R.PQ_RULES)
        else:
            pq = (self.pq.absent_severity, self.pq.not_preferred_severity, self.pq.obsolete_severity)
            off.update(rule for rule, severity in zip(R.PQ_RULES, pq, strict=True) if severity is None)
        return tuple(rule for rule in R.ALL_RULES if rule not in off)

    def clause(self, rule: str) -> str:
        """The clause a rule enforces: the profile's, else the rule table's."""
        from probe.policy.rules import rule as spec

        text = self.rules.get(rule)
        return text.clause if text and text.clause else spec(rule).clause

    def severity(self, rule: str) -> Severity:
        """The severity of a rule without a severity setting of its own: the profile's, else the table's."""
        from probe.policy.rules import rule as spec

        text = self.rules.get(rule)
        return text.severity if text and text.severity else spec(rule).severity

    def remediation(self, rule: str) -> str:
        """Short human remediation for a rule id ('' for a rule this profile does not describe)."""
        text = self.rules.get(rule)
        return text.remediation if text and text.remediation else ""

    def ref(self) -> PolicyRef:
        return PolicyRef(id=self.id, profile=self.slug)


def list_profiles() -> list[str]:
    """Names of the bundled profiles (usable with `load_profile` and `--policy`)."""
    folder = resources.files(_PROFILE_PACKAGE)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "profile"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_profile(data: Any, *, slug: str, origin: str) -> Profile:
    """Validate already-parsed profile data; `origin` names the file in error messages."""
    if not isinstance(data, dict):
        raise InputError(f"policy profile {origin}: expected a mapping at top level, got {type(data).__name__}")
    if "extends" in data:
        data = _extended(data, origin)
    try:
        profile = Profile.model_validate({**data, "slug": data.get("slug") or slug})
    except ValidationError as exc:
        raise InputError(f"policy profile {origin}: {_one_line(exc)}") from exc
    return profile


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override` on top, mappings merged key by key (a value that is not a mapping replaces)."""
    out = dict(base)
    for key, value in override.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _extended(data: dict[str, Any], origin: str, depth: int = 0) -> dict[str, Any]:
    """`extends: <bundled profile>`: that profile's settings with this one's on top (e.g. pq-ready on op-pol-001)."""
    name = str(data["extends"]).strip().lower()
    if name not in list_profiles() or depth > 3:
        raise InputError(f"policy profile {origin}: extends {data['extends']!r}, which is not a bundled profile")
    text = resources.files(_PROFILE_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    base = _parse_text(text, json_format=False, origin=name)
    if isinstance(base, dict) and "extends" in base:
        base = _extended(base, name, depth + 1)
    return _merged(base, {key: value for key, value in data.items() if key != "extends"})


def _parse_text(text: str, *, json_format: bool, origin: str) -> Any:
    try:
        return json.loads(text) if json_format else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"policy profile {origin}: not valid {'JSON' if json_format else 'YAML'}: {reason}") from exc


def load_profile(name_or_path: str) -> Profile:
    """A bundled profile by name ("op-pol-001", case-insensitive) or a YAML/JSON profile file."""
    bundled = name_or_path.strip().lower().removesuffix(".yaml")
    if bundled in list_profiles():
        text = resources.files(_PROFILE_PACKAGE).joinpath(f"{bundled}.yaml").read_text(encoding="utf-8")
        return parse_profile(_parse_text(text, json_format=False, origin=bundled), slug=bundled, origin=bundled)
    path = Path(name_or_path)
    if not path.is_file():
        names = ", ".join(list_profiles())
        raise InputError(f"unknown policy profile {name_or_path!r}: not a bundled profile ({names}) nor a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"policy profile {path}: cannot read: {exc}") from exc
    data = _parse_text(text, json_format=path.suffix.lower() == ".json", origin=str(path))
    return parse_profile(data, slug=path.stem, origin=str(path))
