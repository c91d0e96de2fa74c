"""The fixed rule ids. Profiles change thresholds, severities and clause text, never these names.

`ALL_RULES` are the scanner's rules (judged on an observation); probe.policy.rules.RULES is the table of every
rule with its clause and default severity."""

from __future__ import annotations

__all__ = ["ALL_RULES", "OPTIONAL_RULES", "VULNERABILITY_RULES"]

PROTOCOL_DEPRECATED = "tls.protocol.deprecated"
PROTOCOL_NO_MODERN = "tls.protocol.no_modern"
CIPHER_PROHIBITED = "tls.cipher.prohibited"
CIPHER_SHA1_MAC = "tls.cipher.sha1_mac"
CIPHER_AES128 = "tls.cipher.aes128"
CIPHER_NO_FORWARD_SECRECY = "tls.cipher.no_forward_secrecy"
CIPHER_NOT_ALLOWED = "tls.cipher.not_allowed"
KEX_WEAK_DH = "tls.kex.weak_dh"
CERT_KEY_WEAK = "cert.key.weak"
CERT_SIGNATURE_WEAK = "cert.signature.weak"
CERT_EXPIRED = "cert.expired"
CERT_EXPIRING = "cert.expiring"
CERT_UNTRUSTED = "cert.untrusted"
CERT_HOSTNAME_MISMATCH = "cert.hostname_mismatch"
CERT_LIFETIME = "cert.lifetime"
VULN_HEARTBLEED = "vuln.heartbleed"
VULN_CCS_INJECTION = "vuln.ccs_injection"
VULN_ROBOT = "vuln.robot"
VULN_INSECURE_RENEGOTIATION = "vuln.insecure_renegotiation"
VULN_COMPRESSION = "vuln.compression"
VULN_NO_FALLBACK_SCSV = "vuln.no_fallback_scsv"
# Cloud rules: declared configuration, drift between declaration and wire, ACM and KMS posture.
DECLARED_UNKNOWN_POLICY = "declared.unknown_policy"
DRIFT_PROTOCOL = "drift.protocol"
DRIFT_CIPHER = "drift.cipher"
ACM_IMPORTED = "acm.imported"
ACM_EXPIRED = "acm.expired"
ACM_EXPIRING = "acm.expiring"
ACM_KEY_WEAK = "acm.key.weak"
KMS_ROTATION_DISABLED = "kms.rotation_disabled"
KMS_KEY_WEAK = "kms.key.weak"
KMS_NO_REPLICA = "kms.no_replica"

# Vulnerability flag on models.Vulnerabilities -> rule id (fallback_scsv is inverted: False is the problem).
VULNERABILITY_RULES: dict[str, str] = {
    "heartbleed": VULN_HEARTBLEED,
    "ccs_injection": VULN_CCS_INJECTION,
    "robot": VULN_ROBOT,
    "insecure_renegotiation": VULN_INSECURE_RENEGOTIATION,
    "compression": VULN_COMPRESSION,
    "no_fallback_scsv": VULN_NO_FALLBACK_SCSV,
}

# Rules only a profile that sets their threshold emits (op-pol-001 leaves them off).
OPTIONAL_RULES: tuple[str, ...] = (CIPHER_NO_FORWARD_SECRECY, CIPHER_NOT_ALLOWED, CERT_LIFETIME)

ALL_RULES: tuple[str, ...] = (
    PROTOCOL_DEPRECATED,
    PROTOCOL_NO_MODERN,
    CIPHER_PROHIBITED,
    CIPHER_SHA1_MAC,
    CIPHER_AES128,
    CIPHER_NO_FORWARD_SECRECY,
    CIPHER_NOT_ALLOWED,
    KEX_WEAK_DH,
    CERT_KEY_WEAK,
    CERT_SIGNATURE_WEAK,
    CERT_EXPIRED,
    CERT_EXPIRING,
    CERT_UNTRUSTED,
    CERT_HOSTNAME_MISMATCH,
    CERT_LIFETIME,
    *VULNERABILITY_RULES.values(),
)
