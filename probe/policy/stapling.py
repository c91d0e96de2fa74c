"""OCSP must-staple and certificate transparency, from what the scan read of each certificate deployment. Pure.

- `cert.must_staple_unstapled`: the leaf carries the TLS Feature status_request extension (RFC 7633) and the
  server staples no OCSP response: clients that honour must-staple refuse the connection.
- `cert.no_sct`: a chain that validates against a public trust store embeds no SCT; browsers require
  certificate transparency for public CAs. A private CA (--ca-file) is not judged.
An unstapled OCSP response alone is no finding: public CAs are winding OCSP down.
"""

from __future__ import annotations

from collections.abc import Iterator

from probe.models import Finding, Observation
from probe.policy import rule_ids as R
from probe.policy.profile import Profile

__all__ = ["stapling_findings"]


def stapling_findings(obs: Observation, profile: Profile) -> Iterator[Finding]:
    settings = profile.certificates
    for index, cert in enumerate(obs.certificates):
        where = {"certificate": index, "subject": cert.subject}
        if cert.must_staple and cert.ocsp_stapled is False and settings.must_staple_unstapled_severity is not None:
            yield Finding(rule=R.CERT_MUST_STAPLE_UNSTAPLED, severity=settings.must_staple_unstapled_severity,
                          clause=profile.clause(R.CERT_MUST_STAPLE_UNSTAPLED),
                          message=f"certificate {cert.subject} demands a stapled OCSP response (must-staple) "
                                  "and the server staples none",
                          evidence={**where, "must_staple": True, "ocsp_stapled": False})
        if cert.publicly_trusted and cert.sct_count == 0 and settings.no_sct_severity is not None:
            yield Finding(rule=R.CERT_NO_SCT, severity=settings.no_sct_severity, clause=profile.clause(R.CERT_NO_SCT),
                          message=f"certificate {cert.subject} is publicly trusted and embeds no SCT "
                                  "(certificate transparency)",
                          evidence={**where, "sct_count": 0, "issuer": cert.issuer})
