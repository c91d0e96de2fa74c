"""Every rule tlsprobe can emit, with the OP-POL-001 clause it enforces and its default severity: one table.

A profile's `rules:` entry overrides a rule's clause, remediation or (for rules whose severity is not set by
a tiered setting such as key sizes) its severity. Rules whose severity comes from a profile setting
(`protocols.deprecated`, `keys.rsa`, `vulnerabilities`...) list the usual severity here for reference.
`declared.<rule>` judges a cloud listener's declared policy by the scanner rule `<rule>`, so each scanner
rule that a declaration can break has its `declared.` twin, with the same clause and severity.
"""

from __future__ import annotations

from dataclasses import dataclass

from probe.models import Severity
from probe.policy import rule_ids as R

__all__ = ["RULES", "RuleSpec", "rule"]

C_TRANSIT = "OP-POL-001 3.1.1.1"
C_ALGORITHMS = "OP-POL-001 3.1.2.2"
C_PROHIBITED = "OP-POL-001 3.1.2.3"
C_CERT_MANAGEMENT = "OP-POL-001 3.3.1.2"
C_KMS = "OP-POL-001 3.2.2.1"
C_BEYOND = "beyond OP-POL-001"  # what OP-POL-001 does not require: post-quantum key exchange
C_LIFECYCLE = "OP-POL-001 3.2.1.3"
C_KEY_VAULT = "OP-POL-001 3.2.2.2"
C_CLOUD_KMS = "OP-POL-001 3.2.2.3"
C_KEY_SETUP = "OP-POL-001 3.2.4"
C_APPLICATION_DATA = "OP-POL-001 3.1.1.2"
C_AWS_SERVICES = "OP-POL-001 3.1.2.1"
C_CMK = "OP-POL-001 3.2.1.2"
C_KEY_ACCESS = "OP-POL-001 3.2.1.4"
C_AUDIT = "OP-POL-001 3.2.3.4"
C_SECRETS = "OP-POL-001 3.3.1.1"
C_DEFAULT_ENCRYPTION = "OP-POL-001 3.4.1.1"
C_KEY_USAGE = "OP-POL-001 3.4.2.2"


@dataclass(frozen=True)
class RuleSpec:
    """One rule: what it checks, the clause it enforces, its default severity."""

    id: str
    clause: str
    severity: Severity
    title: str


_H, _M, _L, _I, _C = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO, Severity.CRITICAL

_SCANNER = (
    RuleSpec(R.PROTOCOL_DEPRECATED, C_PROHIBITED, _H, "a protocol below TLS 1.2 is enabled"),
    RuleSpec(R.PROTOCOL_NO_MODERN, C_TRANSIT, _H, "neither TLS 1.2 nor TLS 1.3 is enabled"),
    RuleSpec(R.CIPHER_PROHIBITED, C_PROHIBITED, _C, "a NULL, EXPORT, anonymous, DES, 3DES, RC4 or MD5 suite"),
    RuleSpec(R.CIPHER_SHA1_MAC, C_PROHIBITED, _M, "a suite with an HMAC-SHA1 MAC"),
    RuleSpec(R.CIPHER_AES128, C_ALGORITHMS, _L, "a suite with a symmetric key below 256 bits"),
    RuleSpec(R.CIPHER_NO_FORWARD_SECRECY, C_ALGORITHMS, _M, "a suite without forward secrecy"),
    RuleSpec(R.CIPHER_NOT_ALLOWED, C_ALGORITHMS, _M, "a suite outside the profile's allowed list"),
    RuleSpec(R.KEX_WEAK_DH, C_ALGORITHMS, _M, "a key exchange below the profile's DH/ECDH size"),
    RuleSpec(R.KEX_DH_COMPOSITE, C_ALGORITHMS, _C, "a DHE group whose modulus is not prime"),
    RuleSpec(R.KEX_DH_SMALL_SUBGROUP, C_ALGORITHMS, _H, "a DHE generator in a small subgroup"),
    RuleSpec(R.CERT_KEY_WEAK, C_ALGORITHMS, _M, "a certificate key below RSA-3072 or ECC-256"),
    RuleSpec(R.CERT_SIGNATURE_WEAK, C_PROHIBITED, _H, "a certificate signed with SHA-1 or MD5"),
    RuleSpec(R.CERT_EXPIRED, C_CERT_MANAGEMENT, _H, "an expired certificate"),
    RuleSpec(R.CERT_EXPIRING, C_CERT_MANAGEMENT, _M, "a certificate within the expiry warning window"),
    RuleSpec(R.CERT_UNTRUSTED, C_CERT_MANAGEMENT, _H, "a chain that does not validate"),
    RuleSpec(R.CERT_CHAIN_INCOMPLETE, C_CERT_MANAGEMENT, _H,
             "a chain that validates only with an intermediate the server does not send"),
    RuleSpec(R.CERT_CHAIN_ORDER, C_CERT_MANAGEMENT, _L, "a chain sent out of order"),
    RuleSpec(R.CERT_HOSTNAME_MISMATCH, C_CERT_MANAGEMENT, _H, "a certificate that does not name the host"),
    RuleSpec(R.CERT_LIFETIME, C_CERT_MANAGEMENT, _M, "a certificate valid for longer than the profile allows"),
    RuleSpec(R.CERT_MUST_STAPLE_UNSTAPLED, C_CERT_MANAGEMENT, _H,
             "a must-staple certificate served without a stapled OCSP response"),
    RuleSpec(R.CERT_NO_SCT, C_CERT_MANAGEMENT, _L, "a publicly trusted certificate without embedded SCTs"),
    RuleSpec(R.VULN_HEARTBLEED, C_PROHIBITED, _C, "vulnerable to Heartbleed"),
    RuleSpec(R.VULN_CCS_INJECTION, C_PROHIBITED, _C, "vulnerable to OpenSSL CCS injection"),
    RuleSpec(R.VULN_ROBOT, C_PROHIBITED, _H, "vulnerable to ROBOT"),
    RuleSpec(R.VULN_INSECURE_RENEGOTIATION, C_PROHIBITED, _H, "insecure renegotiation"),
    RuleSpec(R.VULN_COMPRESSION, C_PROHIBITED, _M, "TLS compression (CRIME)"),
    RuleSpec(R.VULN_NO_FALLBACK_SCSV, C_PROHIBITED, _L, "no TLS_FALLBACK_SCSV downgrade protection"),
    RuleSpec(R.HSTS_MISSING, C_TRANSIT, _M, "an HTTPS endpoint without a valid HSTS header"),
    RuleSpec(R.HSTS_SHORT_MAX_AGE, C_TRANSIT, _L, "an HSTS max-age below the profile's minimum (one year)"),
    RuleSpec(R.HSTS_NO_SUBDOMAINS, C_TRANSIT, _L, "an HSTS header without includeSubDomains"),
    RuleSpec(R.HSTS_INEFFECTIVE, C_TRANSIT, _M, "HSTS served behind a certificate that does not validate"),
    # Post-quantum key exchange: OP-POL-001 does not require it (the pq-ready profile does).
    RuleSpec(R.KEX_PQ_ABSENT, C_BEYOND, _I, "no hybrid post-quantum key exchange group is accepted"),
    RuleSpec(R.KEX_PQ_NOT_PREFERRED, C_BEYOND, _I,
             "a classical group is negotiated under a browser-like hello although a hybrid group is accepted"),
    RuleSpec(R.KEX_PQ_OBSOLETE, C_BEYOND, _I, "the obsolete X25519Kyber768Draft00 group is still accepted"),
)
# A declaration has no certificate and no vulnerability: only protocol, suite and key-exchange rules apply.
_DECLARABLE = tuple(spec for spec in _SCANNER if spec.id.startswith("tls.") and spec.id not in R.PQ_RULES)

_CLOUD = (
    RuleSpec(R.DECLARED_UNKNOWN_POLICY, C_PROHIBITED, _I, "a declared policy tlsprobe cannot expand"),
    RuleSpec(R.DRIFT_PROTOCOL, C_PROHIBITED, _M, "protocols on the wire differ from the declared policy"),
    RuleSpec(R.DRIFT_CIPHER, C_PROHIBITED, _M, "suites on the wire differ from the declared policy"),
    RuleSpec(R.DRIFT_PQ, C_BEYOND, _L, "post-quantum groups on the wire differ from the declared policy"),
    RuleSpec(R.ACM_IMPORTED, C_CERT_MANAGEMENT, _M, "an imported ACM certificate (not renewed automatically)"),
    RuleSpec(R.ACM_EXPIRED, C_CERT_MANAGEMENT, _H, "an expired ACM certificate"),
    RuleSpec(R.ACM_EXPIRING, C_CERT_MANAGEMENT, _M, "an ACM certificate within the expiry warning window"),
    RuleSpec(R.ACM_KEY_WEAK, C_ALGORITHMS, _M, "an ACM certificate key below RSA-3072 or ECC-256"),
    RuleSpec(R.KMS_ROTATION_DISABLED, C_KMS, _M, "a customer-managed KMS key without automatic rotation"),
    RuleSpec(R.KMS_KEY_WEAK, C_ALGORITHMS, _M, "a KMS key spec below RSA-3072 or ECC-256"),
    RuleSpec(R.KMS_NO_REPLICA, C_KMS, _L, "a customer-managed KMS key without a cross-region replica"),
    RuleSpec(R.AZURE_KEYVAULT_SOFT_DELETE_DISABLED, C_KEY_SETUP, _H, "a Key Vault without soft delete"),
    RuleSpec(R.AZURE_KEYVAULT_PURGE_PROTECTION_DISABLED, C_KEY_SETUP, _M, "a Key Vault without purge protection"),
    RuleSpec(R.AZURE_KEYVAULT_ROTATION_DISABLED, C_KEY_VAULT, _M, "a Key Vault key without automatic rotation"),
    RuleSpec(R.AZURE_KEYVAULT_ROTATION_INTERVAL, C_LIFECYCLE, _L,
             "a Key Vault key rotated less often than the profile's maximum interval"),
    RuleSpec(R.AZURE_KEYVAULT_KEY_WEAK, C_ALGORITHMS, _M, "a Key Vault key below RSA-3072 or ECC-256"),
    RuleSpec(R.AZURE_KEYVAULT_KEY_NO_EXPIRY, C_LIFECYCLE, _L, "a Key Vault key without an expiry date"),
    RuleSpec(R.AZURE_KEYVAULT_KEY_EXPIRED, C_LIFECYCLE, _M, "an enabled Key Vault key past its expiry date"),
    RuleSpec(R.GCP_KMS_ROTATION_DISABLED, C_CLOUD_KMS, _M, "a Cloud KMS symmetric key without a rotation period"),
    RuleSpec(R.GCP_KMS_ROTATION_INTERVAL, C_LIFECYCLE, _L,
             "a Cloud KMS key rotated less often than the profile's maximum interval"),
    RuleSpec(R.GCP_KMS_KEY_WEAK, C_ALGORITHMS, _M, "a Cloud KMS key algorithm below RSA-3072 or ECC-256"),
    RuleSpec(R.GCP_KMS_SINGLE_REGION, C_CLOUD_KMS, _L, "a Cloud KMS key in a single-region location"),
    RuleSpec(R.GCP_CERT_SELF_MANAGED, C_CERT_MANAGEMENT, _M,
             "a self-managed Compute SSL certificate (not renewed automatically)"),
    RuleSpec(R.GCP_CERT_EXPIRED, C_CERT_MANAGEMENT, _H, "an expired Compute SSL certificate"),
    RuleSpec(R.GCP_CERT_EXPIRING, C_CERT_MANAGEMENT, _M, "a Compute SSL certificate within the expiry warning window"),
    RuleSpec(R.GCP_CERT_KEY_WEAK, C_ALGORITHMS, _M, "a Compute SSL certificate key below RSA-3072 or ECC-256"),
)

# The AWS estate's encryption posture (probe/policy/aws_posture.py). `no_cmk` rules apply to resources tagged
# sensitive (--sensitive-tag); an AWS-managed key passes for the rest, as 3.2.2.1 asks.
_AWS_POSTURE = (
    RuleSpec(R.AWS_S3_NO_CMK, C_CMK, _H, "a sensitive S3 bucket not encrypted with a customer-managed KMS key"),
    RuleSpec(R.AWS_S3_BUCKET_KEY_DISABLED, C_KEY_USAGE, _L, "an SSE-KMS bucket without an S3 Bucket Key"),
    RuleSpec(R.AWS_S3_TLS_NOT_REQUIRED, C_TRANSIT, _M,
             "an S3 bucket whose policy does not deny requests without TLS (aws:SecureTransport)"),
    RuleSpec(R.AWS_S3_TLS_VERSION_BELOW_MINIMUM, C_PROHIBITED, _M,
             "an S3 bucket policy whose s3:TlsVersion condition admits TLS below 1.2"),
    RuleSpec(R.AWS_EBS_DEFAULT_ENCRYPTION_OFF, C_DEFAULT_ENCRYPTION, _M,
             "a region where EBS encryption by default is off"),
    RuleSpec(R.AWS_EBS_VOLUME_UNENCRYPTED, C_AWS_SERVICES, _H, "an unencrypted EBS volume"),
    RuleSpec(R.AWS_EBS_SNAPSHOT_UNENCRYPTED, C_AWS_SERVICES, _H, "an unencrypted EBS snapshot"),
    RuleSpec(R.AWS_EBS_NO_CMK, C_CMK, _H, "a sensitive EBS volume or snapshot without a customer-managed key"),
    RuleSpec(R.AWS_RDS_UNENCRYPTED, C_TRANSIT, _H, "an RDS instance or Aurora cluster with unencrypted storage"),
    RuleSpec(R.AWS_RDS_NO_CMK, C_CMK, _H, "a sensitive RDS instance or cluster without a customer-managed key"),
    RuleSpec(R.AWS_EFS_UNENCRYPTED, C_APPLICATION_DATA, _H, "an EFS file system not encrypted at rest"),
    RuleSpec(R.AWS_EFS_NO_CMK, C_CMK, _H, "a sensitive EFS file system without a customer-managed key"),
    RuleSpec(R.AWS_BACKUP_NO_CMK, C_CMK, _H, "a sensitive AWS Backup vault without a customer-managed key"),
    RuleSpec(R.AWS_SECRETS_NO_CMK, C_CMK, _H, "a sensitive secret encrypted with the default aws/secretsmanager key"),
    RuleSpec(R.AWS_SECRETS_ROTATION_DISABLED, C_SECRETS, _M, "a secret without automatic rotation"),
    RuleSpec(R.AWS_SECRETS_ROTATION_INTERVAL, C_SECRETS, _L,
             "a secret rotated less often than the profile's maximum interval"),
    RuleSpec(R.AWS_SSM_SECRET_AS_STRING, C_APPLICATION_DATA, _H,
             "a parameter that looks like a secret stored as a String, not a SecureString"),
    RuleSpec(R.AWS_KMS_POLICY_WILDCARD_PRINCIPAL, C_KEY_ACCESS, _C,
             'a key policy granting kms:* or decryption to "Principal": "*" without a condition'),
    RuleSpec(R.AWS_KMS_SENSITIVE_NO_REPLICA, C_KMS, _M, "a sensitive customer-managed key without a multi-Region "
             "replica"),
    RuleSpec(R.AWS_KMS_KEY_UNUSABLE_IN_USE, C_LIFECYCLE, _H,
             "a key disabled or pending deletion while a resource still uses it"),
    RuleSpec(R.AWS_KMS_KEY_UNKNOWN, C_CMK, _I,
             "a sensitive resource whose key is not in the inventory (customer-managed or not is unknown)"),
    RuleSpec(R.AWS_CLOUDTRAIL_NO_MULTI_REGION_TRAIL, C_AUDIT, _H, "an account without a logging multi-Region trail"),
    RuleSpec(R.AWS_CLOUDTRAIL_NOT_LOGGING, C_AUDIT, _H, "a CloudTrail trail that is not logging"),
    RuleSpec(R.AWS_CLOUDTRAIL_NO_LOG_VALIDATION, C_AUDIT, _M, "a trail without log file validation"),
    RuleSpec(R.AWS_CLOUDTRAIL_NOT_ENCRYPTED, C_AUDIT, _M, "a trail whose logs are not encrypted with a KMS key"),
)

# The DH group a server uses has no declared form: no declared twin.
_GROUP_RULES = (R.KEX_DH_COMPOSITE, R.KEX_DH_SMALL_SUBGROUP)

RULES: dict[str, RuleSpec] = {
    spec.id: spec
    for spec in (
        *_SCANNER,
        *(RuleSpec(f"declared.{s.id}", s.clause, s.severity, f"the declared policy allows {s.title}")
          for s in _DECLARABLE if s.id not in _GROUP_RULES),
        *_CLOUD,
        *_AWS_POSTURE,
    )
}


def rule(rule_id: str) -> RuleSpec:
    """The table's entry for a rule id; KeyError names a rule missing from the table (a bug)."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"rule {rule_id!r} is not in probe.policy.rules.RULES") from None
