"""The terminal table's post-quantum key exchange: a column in the wide layout (only when an endpoint offers TLS
1.3), a line under the status in the narrow one, a fact in the stacked blocks. Pure: synthetic results."""

from __future__ import annotations

from rich.cells import cell_len

from probe.models import EndpointResult, PostQuantum, Target
from probe.report.table import format_table
from tests.policy.factories import observation

CASES: dict[str, PostQuantum | None] = {
    "hybrid": PostQuantum(supported=("X25519MLKEM768",), negotiated="X25519MLKEM768", hrr_upgrade=False),
    "hrr": PostQuantum(supported=("X25519MLKEM768", "SecP256r1MLKEM768"), negotiated="X25519MLKEM768",
                       hrr_upgrade=True),
    "nist": PostQuantum(supported=("SecP256r1MLKEM768",), negotiated="X25519"),
    "classical": PostQuantum(negotiated="X25519"),
    "tls12": None,
}
LABELS = {"hybrid": "X25519MLKEM768", "hrr": "X25519MLKEM768 +HRR", "nist": "SecP256r1MLKEM768",
          "classical": "none", "tls12": "-"}


def results(cases: dict[str, PostQuantum | None]) -> list[EndpointResult]:
    return [EndpointResult(observation=observation(target=Target(host=f"{name}.example.com", ip=f"192.0.2.{i}"),
                                                   pq=pq), compliant=True)
            for i, (name, pq) in enumerate(cases.items(), start=1)]


def row(text: str, host: str) -> str:
    return next(line for line in text.splitlines() if line.lstrip().startswith(host))


def test_wide_layout_has_a_pq_column() -> None:
    text = format_table(results(CASES), width=200)
    header = [cell.strip() for cell in text.splitlines()[0].split("┃")]
    assert header[4] == "pq", header
    for name, label in LABELS.items():
        cells = [cell.strip() for cell in row(text, f"{name}.example.com").split("│")]
        assert cells[4] == label, (name, cells)


def test_no_pq_column_when_no_endpoint_offers_tls13() -> None:
    text = format_table(results({"a": None, "b": None}), width=200)
    assert " pq " not in text.splitlines()[0] and "PQ " not in text


def test_narrow_and_stacked_layouts_say_pq_too() -> None:
    narrow = format_table(results(CASES), width=90)
    assert "address:port" not in narrow and "PQ X25519MLKEM768 +HRR" in narrow and "PQ none" in narrow
    stacked = format_table(results(CASES), width=40)
    words = " ".join(line.strip() for line in stacked.splitlines())
    assert "PQ SecP256r1MLKEM768" in words and max(cell_len(line) for line in stacked.splitlines()) <= 40
    assert "PQ -" not in words  # a TLS 1.2 endpoint says nothing of PQ


def test_info_findings_are_counted_not_listed() -> None:
    from probe.models import Finding, Severity

    info = Finding(rule="tls.kex.pq_absent", severity=Severity.INFO, clause="beyond OP-POL-001", message="no PQ")
    low = Finding(rule="tls.cipher.aes128", severity=Severity.LOW, clause="OP-POL-001 3.1.2.2", message="AES-128")
    result = EndpointResult(observation=observation(target=Target(host="a.example.com", ip="192.0.2.9"),
                                                    pq=PostQuantum(negotiated="X25519")),
                            findings=(info, low), compliant=True)
    text = format_table([result], width=200)
    assert "low tls.cipher.aes128" in text and "tls.kex.pq_absent" not in row(text, "a.example.com")
    assert "info 1" in text.splitlines()[-1]  # the summary line counts it


def test_nameless_resources_are_told_apart_by_region() -> None:
    from probe.models import Resource, ResourceResult

    items = [ResourceResult(resource=Resource(provider="aws", kind="ebs-encryption-default", region=region,
                                              id=f"arn:aws:ec2:{region}:123456789012:ebs-encryption-by-default"),
                            compliant=True)
             for region in ("eu-west-1", "us-east-1")]
    text = format_table(items, width=120)
    assert text.count("ebs-encryption-by-default") == 2 and "eu-west-1" in text and "us-east-1" in text
