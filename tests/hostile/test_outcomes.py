"""Every hostile endpoint ends as probe/lab/definitions/hostile.yaml says, within --deadline, with no traceback,
never hanging; through the CLI in-process (CliRunner) and as a user runs it (`python -m probe scan`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.lab.hostile import HostileEndpoint, HostileLab
from probe.scan.engine import DEADLINE_GRACE_S
from tests.hostile.conftest import Run, no_traceback, run_cli

DEADLINE = 6.0
TIMEOUT = 2.0
CONCURRENCY = 16
STARTUP_S = 15.0  # interpreter, sslyze import, trust store: generous


def scan_args(lab: HostileLab, db: Path, *extra: str) -> list[str]:
    return ["scan", "-t", str(lab.targets_csv), "--ca-file", str(lab.ca_file), "--deadline", str(DEADLINE),
            "--timeout", str(TIMEOUT), "--concurrency", str(CONCURRENCY), "--db", str(db), *extra]


def time_bound(endpoints: int) -> float:
    """ceil(endpoints / concurrency) rounds, each at most deadline + grace, plus start-up."""
    return math.ceil(endpoints / CONCURRENCY) * (DEADLINE + DEADLINE_GRACE_S) + STARTUP_S


def check_outcome(endpoint: HostileEndpoint, found: dict[str, Any]) -> None:
    expect = endpoint.definition.expect
    rules = {f["rule"] for f in found["findings"]}
    if expect.error is not None:
        assert found["status"] == "error", (endpoint.name, found)
        assert found["error"]["kind"] == expect.error.value, (endpoint.name, found["error"])
        for words in expect.message_contains:
            assert words in found["error"]["message"], (endpoint.name, found["error"])
        assert not rules, "an errored endpoint has no findings"
        assert found["compliant"] is None
    else:
        assert found["status"] == "ok", (endpoint.name, found["error"])
        assert set(expect.rules) <= rules, (endpoint.name, rules)
        assert not set(expect.absent_rules) & rules, (endpoint.name, rules)
        assert found["certificates"], endpoint.name


def check_document(lab: HostileLab, doc: dict[str, Any]) -> None:
    by_key = {e["target"]["host"] + ":" + str(e["target"]["port"]): e for e in doc["endpoints"]}
    assert len(doc["endpoints"]) == len(lab.scanned()), "every target accounted for, once"
    for endpoint in lab.scanned():
        check_outcome(endpoint, by_key[f"{endpoint.host}:{endpoint.port}"])


@pytest.fixture(scope="module")
def subprocess_run(hostile_lab: HostileLab, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    out = tmp_path_factory.mktemp("hostile-out")
    outputs = [f"-o{out / name}" for name in
               ("r.json", "r.csv", "r.md", "r.html", "r.sarif", "r.xml", "r.txt")]
    run = run_cli(*scan_args(hostile_lab, out / "h.db", *outputs), timeout=time_bound(len(hostile_lab.scanned())) + 60)
    return run, out


@pytest.mark.timeout(240)
def test_subprocess_scan_ends_as_expected_within_the_deadline(
    subprocess_run: tuple[Run, Path], hostile_lab: HostileLab
) -> None:
    run, out = subprocess_run
    no_traceback(run.stdout, run.stderr)
    assert run.code == 0, run.stderr
    check_document(hostile_lab, json.loads((out / "r.json").read_text(encoding="utf-8")))
    assert run.elapsed < time_bound(len(hostile_lab.scanned())), run.elapsed


@pytest.mark.timeout(240)
def test_cli_runner_scan_ends_as_expected(hostile_lab: HostileLab, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, scan_args(hostile_lab, tmp_path / "h.db", "--format", "json"))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    no_traceback(result.output)
    assert result.exit_code == 0, result.output
    check_document(hostile_lab, json.loads(result.stdout))


@pytest.mark.timeout(120)
def test_sni_required_endpoint_is_ok_with_sni(hostile_lab: HostileLab, tmp_path: Path) -> None:
    endpoint = hostile_lab.endpoint("sni-required")
    name = endpoint.definition.sni_name
    assert name and endpoint.definition.expect.with_sni == "ok"
    run = run_cli("scan", f"{endpoint.address}:{endpoint.port}", "--sni", name, "--ca-file", str(hostile_lab.ca_file),
                  "--deadline", str(DEADLINE), "--timeout", str(TIMEOUT), "--format", "json",
                  "--db", str(tmp_path / "s.db"))
    no_traceback(run.stdout, run.stderr)
    [found] = json.loads(run.stdout)["endpoints"]
    assert found["status"] == "ok", found["error"]
    assert found["target"]["sni"] == name
    assert found["certificates"][0]["hostname_match"] is True


def test_no_connection_follows_the_redirect(subprocess_run: tuple[Run, Path], hostile_lab: HostileLab) -> None:
    """The redirect endpoint answers HTTP with a 301 to the sink; the scan never dials the sink."""
    _, out = subprocess_run
    doc = json.loads((out / "r.json").read_text(encoding="utf-8"))
    redirect = hostile_lab.endpoint("redirect")
    assert any(e["target"]["host"] == redirect.host and e["status"] == "ok" for e in doc["endpoints"])
    assert hostile_lab.endpoint("redirect-sink").connections() == 0


# ---------------------------------------------------------------------------------------------- escaping

HOSTILE_BITS = ("<script>", "\x1b[", "\u202e", "\n+cmd", "=HYPERLINK")


def test_terminal_table_has_no_control_characters(subprocess_run: tuple[Run, Path]) -> None:
    run, out = subprocess_run
    for text in (run.stdout, (out / "r.txt").read_text(encoding="utf-8")):
        assert "hostile-strings" in text
        assert not any(c in text for c in "\x1b\x07\u202e\u202c\r"), "control characters reach the terminal"


def test_json_is_valid_and_keeps_the_text(subprocess_run: tuple[Run, Path]) -> None:
    _, out = subprocess_run
    raw = (out / "r.json").read_bytes()
    raw.decode("utf-8")  # strict: valid UTF-8
    doc = json.loads(raw)
    [hostile] = [e for e in doc["endpoints"] if e["target"]["host"].startswith("hostile-strings")]
    subject = hostile["certificates"][0]["subject"]
    assert "<script>" in subject.replace("\\", "") and "\u202e" in subject, "JSON keeps the text, escaped by JSON"


def test_html_escapes_markup(subprocess_run: tuple[Run, Path]) -> None:
    _, out = subprocess_run
    html = (out / "r.html").read_text(encoding="utf-8")
    assert "hostile-strings" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html or "&lt;script" in html
    assert "\x1b" not in html


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_csv_neutralises_formulas(subprocess_run: tuple[Run, Path]) -> None:
    import csv
    import io

    _, out = subprocess_run
    text = (out / "r.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert any("hostile-strings" in cell for row in rows for cell in row)
    for row in rows:
        for cell in row:
            if _is_number(cell):
                continue  # -20786 days to expiry is a number, not a formula
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
            assert "\x1b" not in cell and "\n" not in cell and "\u202e" not in cell, cell


def test_markdown_is_inert(subprocess_run: tuple[Run, Path]) -> None:
    _, out = subprocess_run
    md = (out / "r.md").read_text(encoding="utf-8")
    assert "hostile" in md
    assert "<script>" not in md and "<img" not in md and "\x1b" not in md and "\u202e" not in md


def test_sarif_and_junit_parse_and_hold_no_controls(subprocess_run: tuple[Run, Path]) -> None:
    import xml.etree.ElementTree as ET

    _, out = subprocess_run
    sarif = json.loads((out / "r.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"], "SARIF has a run"
    junit_text = (out / "r.xml").read_text(encoding="utf-8")
    root = ET.fromstring(junit_text)  # well-formed XML despite the hostile text
    assert root.iter("testcase")
    for text in ((out / "r.sarif").read_text(encoding="utf-8"), junit_text):
        assert "\x1b" not in text and "\x07" not in text
