"""The HTML report: self-contained, escaped, and rendered by headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

from probe.models import PolicyRef, Severity
from probe.report.context import ReportContext
from probe.report.html import render_html
from tests.report_history.chromium import dump_dom, png_colours, screenshot
from tests.store.factory import MODERN, NOW, cert, errored, finding, ok


def context(title: str = "tlsprobe report") -> ReportContext:
    return ReportContext(PolicyRef(id="OP-POL-001", profile="op-pol-001"), NOW, NOW, title=title)


EVIL = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'


def sample() -> list:  # type: ignore[type-arg]
    return [
        ok("good.example.test", certs=(cert(days=300),)),
        ok("legacy.example.test", versions={**MODERN, "TLSv1.0": True, "TLSv1.1": True},
           certs=(cert(f"CN={EVIL}", key_bits=2048, days=12),),
           findings=(finding("tls.protocol.deprecated", Severity.HIGH, "TLSv1.0 is enabled", version="TLSv1.0"),
                     finding("tls.protocol.deprecated", Severity.HIGH, "TLSv1.1 is enabled", version="TLSv1.1"),
                     finding("cert.expiring", Severity.MEDIUM, "expires in 12 days"),
                     finding("cert.key.weak", Severity.HIGH, f"certificate CN={EVIL} has a 2048-bit key"))),
        ok("expired.example.test", certs=(cert(days=-5),), findings=(finding("cert.expired", Severity.HIGH),)),
        errored("down.example.test", message=EVIL),
    ]


def test_html_is_self_contained_and_escaped() -> None:
    page = render_html(sample(), context("nightly <sweep>"))
    assert "<script>document" not in page and "<img src=x" not in page
    assert "&lt;script&gt;document.title=&quot;pwned&quot;" in page
    assert page.count("<script>") == 1  # our own filter script only
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page), "external reference"
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert "nightly &lt;sweep&gt;" in page
    assert page.count('class="endpoint-row"') == 4 and page.count('class="finding-row"') == 5
    assert page.count('class="expiry-point"') == 3 and "<svg" in page


def test_chromium_renders_tables_and_charts(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(sample(), context("tlsprobe nightly")), encoding="utf-8")
    png = tmp_path / "report.png"
    screenshot(page, png, tmp_path / "profile-shot")
    colours = png_colours(png)
    assert len(colours) >= 8, f"page looks blank: {len(colours)} colours"
    background = max(colours.values())
    assert background < 0.97 * sum(colours.values())  # more than one flat colour
    # Severity bars and cell colours were painted.
    assert (0xD3, 0x2F, 0x2F) in colours and (0xC8, 0xE6, 0xC9) in colours
    dom = dump_dom(page, tmp_path / "profile-dom")
    assert dom.count('class="endpoint-row"') == 4
    for host in ("good.example.test:443", "legacy.example.test:443", "down.example.test:443"):
        assert f'data-endpoint="{host}"' in dom
    assert "<title>tlsprobe nightly</title>" in dom  # the subject's script never ran
    assert 'id="severity-chart"' in dom and 'id="expiry-timeline"' in dom
