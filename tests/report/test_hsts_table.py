"""The terminal table's HSTS: a column in the wide layout (only when an endpoint was asked GET /), a line under
the status in the narrow one, a fact in the stacked blocks. Pure: synthetic results."""

from __future__ import annotations

from rich.cells import cell_len

from probe.models import EndpointResult, HstsHeader, HttpInfo, Target
from probe.report.table import format_table
from tests.policy.factories import observation

FULL = HttpInfo(status=200, hsts=HstsHeader(raw="max-age=31536000; includeSubDomains; preload", max_age=31536000,
                                            include_subdomains=True, preload=True))
CASES = {
    "full": FULL,
    "day": HttpInfo(status=200, hsts=HstsHeader(raw="max-age=86400", max_age=86400)),
    "odd": HttpInfo(status=200, hsts=HstsHeader(raw="max-age=90; includeSubDomains", max_age=90,
                                                include_subdomains=True)),
    "none": HttpInfo(status=301),
    "invalid": HttpInfo(status=200, hsts=HstsHeader(raw="max-age=abc")),
    "hang": HttpInfo(error="timeout: nothing within 3 s waiting for the response"),
    "tls-only": None,
}
LABELS = {"full": "1y sub preload", "day": "1d", "odd": "90s sub", "none": "none", "invalid": "invalid",
          "hang": "no answer", "tls-only": "-"}


def results(cases: dict[str, HttpInfo | None]) -> list[EndpointResult]:
    return [EndpointResult(observation=observation(target=Target(host=f"{name}.example.com", ip=f"192.0.2.{i}"),
                                                   http=http), compliant=True)
            for i, (name, http) in enumerate(cases.items(), start=1)]


def row(text: str, host: str) -> str:
    return next(line for line in text.splitlines() if line.lstrip().startswith(host))


def test_wide_layout_has_an_hsts_column() -> None:
    text = format_table(results(CASES), width=200)
    assert "hsts" in text.splitlines()[0]
    for name, label in LABELS.items():
        cells = [cell.strip() for cell in row(text, f"{name}.example.com").split("│")]
        assert cells[4] == label, (name, cells)


def test_no_hsts_column_when_no_endpoint_was_asked() -> None:
    text = format_table(results({"a": None, "b": None}), width=200)
    assert "hsts" not in text and "HSTS" not in text


def test_narrow_and_stacked_layouts_say_hsts_too() -> None:
    narrow = format_table(results(CASES), width=100)
    assert "address:port" not in narrow and "HSTS 1y sub preload" in narrow and "HSTS no answer" in narrow
    stacked = format_table(results(CASES), width=40)
    assert "┃" not in stacked
    words = " ".join(line.strip() for line in stacked.splitlines())  # facts wrap between words
    assert "HSTS 1d" in words and max(cell_len(line) for line in stacked.splitlines()) <= 40
    assert "HSTS -" not in words  # an endpoint without a GET says nothing of HSTS
