"""The fixed rule ids. Profiles change thresholds, severities and clause text, never these names.

`ALL_RULES` are the scanner's rules (judged on an observation); probe.policy.rules.RULES is the table of every
rule with its clause and default severity."""

from __future__ import annotations

__all__ = ["ALL_RULES", "HSTS_RULES", "OPTIONAL_RULES", "PQ_RULES", "VULNERABILITY_RULES"]

PROTOCOL_DEPRECATED = "tls.protocol.deprecated"
PROTOCOL_NO_MODERN = "tls.protocol.no_modern"
CIPHER_PROHIBITED = "tls.cipher.prohibited"
CIPHER_SHA1_MAC = "tls.cipher.sha1_mac"
CIPHER_AES128 = "tls.cipher.aes128"
CIPHER_NO_FORWARD_SECRECY = "tls.cipher.no_forward_secrecy"
CIPHER_NOT_ALLOWED = "tls.cipher.not_allowed"
KEX_WEAK_DH = "tls.kex.weak_dh"
KEX_DH_COMPOSITE = "tls.kex.dh_composite"
KEX_DH_SMALL_SUBGROUP = "tls.kex.dh_small_subgroup"
CERT_KEY_WEAK = "cert.key.weak"
CERT_SIGNATURE_WEAK = "cert.signature.weak"
CERT_EXPIRED = "cert.expired"
CERT_EXPIRING = "cert.expiring"
CERT_UNTRUSTED = "cert.untrusted"
CERT_CHAIN_INCOMPLETE = "cert.chain_incomplete"
CERT_CHAIN_ORDER = "cert.chain_order"
CERT_HOSTNAME_MISMATCH = "cert.hostname_mismatch"
CERT_LIFETIME = "cert.lifetime"
CERT_MUST_STAPLE_UNSTAPLED = "cert.must_staple_unstapled"
CERT_NO_SCT = "cert.no_sct"
# Post-quantum key exchange (probe/policy/pq.py): only the hybrid groups count as readiness.
KEX_PQ_ABSENT = "tls.kex.pq_absent"
KEX_PQ_NOT_PREFERRED = "tls.kex.pq_not_preferred"
KEX_PQ_OBSOLETE = "tls.kex.pq_obsolete"
# HSTS on HTTPS endpoints (the GET / of probe/scan/http.py).
HSTS_MISSING = "http.hsts.missing"
HSTS_SHORT_MAX_AGE = "http.hsts.short_max_age"
HSTS_NO_SUBDOMAINS = "http.hsts.no_subdomains"
HSTS_INEFFECTIVE = "http.hsts.ineffective"
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
DRIFT_PQ = "drift.pq"
ACM_IMPORTED = "acm.imported"
ACM_EXPIRED = "acm.expired"
ACM_EXPIRING = "acm.expiring"
ACM_KEY_WEAK = "acm.key.weak"
KMS_ROTATION_DISABLED = "kms.rotation_disabled"
KMS_KEY_WEAK = "kms.key.weak"
KMS_NO_REPLICA = "kms.no_replica"
# Azure Key Vault (vaults and keys, management plane) and Google Cloud KMS keys and Compute SSL certificates.
AZURE_KEYVAULT_SOFT_DELETE_DISABLED = "azure.keyvault.soft_delete_disabled"
AZURE_KEYVAULT_PURGE_PROTECTION_DISABLED = "azure.keyvault.purge_protection_disabled"
AZURE_KEYVAULT_ROTATION_DISABLED = "azure.keyvault.rotation_disabled"
AZURE_KEYVAULT_ROTATION_INTERVAL = "azure.keyvault.rotation_interval"
AZURE_KEYVAULT_KEY_WEAK = "azure.keyvault.key.weak"
AZURE_KEYVAULT_KEY_NO_EXPIRY = "azure.keyvault.key.no_expiry"
AZURE_KEYVAULT_KEY_EXPIRED = "azure.keyvault.key.expired"
GCP_KMS_ROTATION_DISABLED = "gcp.kms.rotation_disabled"
GCP_KMS_ROTATION_INTERVAL = "gcp.kms.rotation_interval"
GCP_KMS_KEY_WEAK = "gcp.kms.key.weak"
GCP_KMS_SINGLE_REGION = "gcp.kms.single_region"
GCP_CERT_SELF_MANAGED = "gcp.certificate.self_managed"
GCP_CERT_EXPIRED = "gcp.certificate.expired"
GCP_CERT_EXPIRING = "gcp.certificate.expiring"
GCP_CERT_KEY_WEAK = "gcp.certificate.key.weak"
# The AWS estate's encryption posture (probe/policy/aws_posture.py): storage, databases, secrets, keys and audit.
AWS_S3_NO_CMK = "aws.s3.no_cmk"
AWS_S3_BUCKET_KEY_DISABLED = "aws.s3.bucket_key_disabled"
AWS_S3_TLS_NOT_REQUIRED = "aws.s3.tls_not_required"
AWS_S3_TLS_VERSION_BELOW_MINIMUM = "aws.s3.tls_version_below_minimum"
AWS_EBS_DEFAULT_ENCRYPTION_OFF = "aws.ebs.default_encryption_off"
AWS_EBS_VOLUME_UNENCRYPTED = "aws.ebs.volume_unencrypted"
AWS_EBS_SNAPSHOT_UNENCRYPTED = "aws.ebs.snapshot_unencrypted"
AWS_EBS_NO_CMK = "aws.ebs.no_cmk"
AWS_RDS_UNENCRYPTED = "aws.rds.unencrypted"
AWS_RDS_NO_CMK = "aws.rds.no_cmk"
AWS_EFS_UNENCRYPTED = "aws.efs.unencrypted"
AWS_EFS_NO_CMK = "aws.efs.no_cmk"
AWS_BACKUP_NO_CMK = "aws.backup.no_cmk"
AWS_SECRETS_NO_CMK = "aws.secrets.no_cmk"
AWS_SECRETS_ROTATION_DISABLED = "aws.secrets.rotation_disabled"
AWS_SECRETS_ROTATION_INTERVAL = "aws.secrets.rotation_interval"
AWS_SSM_SECRET_AS_STRING = "aws.ssm.secret_as_string"
AWS_KMS_POLICY_WILDCARD_PRINCIPAL = "aws.kms.policy_wildcard_principal"
AWS_KMS_SENSITIVE_NO_REPLICA = "aws.kms.sensitive_no_replica"
AWS_KMS_KEY_UNUSABLE_IN_USE = "aws.kms.key_unusable_in_use"
AWS_KMS_KEY_UNKNOWN = "aws.kms.key_unknown"
AWS_CLOUDTRAIL_NO_MULTI_REGION_TRAIL = "aws.cloudtrail.no_multi_region_trail"
AWS_CLOUDTRAIL_NOT_LOGGING = "aws.cloudtrail.not_logging"
AWS_CLOUDTRAIL_NO_LOG_VALIDATION = "aws.cloudtrail.no_log_validation"
AWS_CLOUDTRAIL_NOT_ENCRYPTED = "aws.cloudtrail.not_encrypted"

# Vulnerability flag on models.Vulnerabilities -> rule id (fallback_scsv is inverted: False is the problem).
VULNERABILITY_RULES: dict[str, str] = {
    "heartbleed": VULN_HEARTBLEED,
    "ccs_injection": VULN_CCS_INJECTION,
    "robot": VULN_ROBOT,
    "insecure_renegotiation": VULN_INSECURE_RENEGOTIATION,
    "compression": VULN_COMPRESSION,
    "no_fallback_scsv": VULN_NO_FALLBACK_SCSV,
}

HSTS_RULES: tuple[str, ...] = (HSTS_MISSING, HSTS_SHORT_MAX_AGE, HSTS_NO_SUBDOMAINS, HSTS_INEFFECTIVE)
PQ_RULES: tuple[str, ...] = (KEX_PQ_ABSENT, KEX_PQ_NOT_PREFERRED, KEX_PQ_OBSOLETE)

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
    KEX_DH_COMPOSITE,
    KEX_DH_SMALL_SUBGROUP,
    CERT_KEY_WEAK,
    CERT_SIGNATURE_WEAK,
    CERT_EXPIRED,
    CERT_EXPIRING,
    CERT_UNTRUSTED,
    CERT_CHAIN_INCOMPLETE,
    CERT_CHAIN_ORDER,
    CERT_HOSTNAME_MISMATCH,
    CERT_LIFETIME,
    CERT_MUST_STAPLE_UNSTAPLED,
    CERT_NO_SCT,
    *VULNERABILITY_RULES.values(),
    *HSTS_RULES,
    *PQ_RULES,
)
