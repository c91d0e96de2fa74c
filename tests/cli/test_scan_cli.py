"""The scan command's contract: exit codes, one-line reasons for bad input, every target accounted for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from tests.test_resolve import dns_server  # noqa: F401 - fixture


def scan(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["scan", "--db", str(tmp_path / "h.db"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_invalid_targets_are_all_reported_with_file_and_line_and_nothing_is_scanned(tmp_path: Path) -> None:
    targets = tmp_path / "prod.txt"
    targets.write_text("ok.example.com\nbad host\n\nx.example.com:0\n10.0.0.0/8\n")
    code, out, err = scan(tmp_path, "--targets", str(targets))
    assert code == 2
    assert f"{targets}:2" in err and f"{targets}:4" in err and f"{targets}:5" in err
    assert "3 problems" in err
    assert out == ""
    assert not (tmp_path / "h.db").exists(), "nothing scanned, nothing stored"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resolve", "a.test:443"], "expected HOST:PORT:ADDR"),
        (["--connect-to", "a.test:443:127.0.0.1"], "expected HOST:PORT:ADDR:PORT2"),
        (["--policy", "no-such-profile"], "no-such-profile"),
        (["--ca-file", "/nonexistent/ca.pem"], "file not found"),
        (["--concurrency", "0"], "--concurrency"),
        (["--dns-server", "not a server"], "--dns-server"),
    ],
)
def test_unusable_flags_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = scan(tmp_path, "127.0.0.1:9", *args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], err


def test_broken_waivers_file_exits_2(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("- {rule: x}\n")
    code, _, err = scan(tmp_path, "127.0.0.1:9", "--waivers", str(waivers))
    assert code == 2 and str(waivers) in err


def test_errored_endpoints_count_only_with_fail_on_error(tmp_path: Path) -> None:
    code, out, _ = scan(tmp_path, "127.0.40.1:9", "--format", "json", "--fail-on", "critical")
    assert code == 0
    assert json.loads(out)["endpoints"][0]["error"]["kind"] == "refused"
    code, _, _ = scan(tmp_path, "127.0.40.1:9", "--format", "json", "--fail-on-error")
    assert code == 1


def test_all_ips_scans_each_address_of_a_name(tmp_path: Path, dns_server: tuple[str, int]) -> None:  # noqa: F811
    host, port = dns_server
    code, out, _ = scan(tmp_path, "multi.lab.test:9", "--all-ips", "--dns-server", f"{host}:{port}", "--format", "json")
    assert code == 0
    endpoints = json.loads(out)["endpoints"]
    assert sorted(e["target"]["ip"] for e in endpoints) == ["127.0.20.1", "127.0.20.2"]
    assert all(e["error"]["kind"] == "refused" for e in endpoints)
    code, out, _ = scan(tmp_path, "multi.lab.test:9", "--dns-server", f"{host}:{port}", "--format", "json")
    assert len(json.loads(out)["endpoints"]) == 1


def test_static_resolution_never_asks_dns(tmp_path: Path) -> None:
    code, out, _ = scan(tmp_path, "unmapped.example.com", "--dns-server", "static", "--format", "json")
    assert code == 0
    error = json.loads(out)["endpoints"][0]["error"]
    assert error["kind"] == "dns" and "static" in error["message"]


def test_json_logs_on_stderr_and_python_dash_m(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "probe", "scan", "127.0.40.2:9", "--db", str(tmp_path / "h.db"), "--format", "csv",
         "--log-level", "debug", "--log-format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "127.0.40.2" in result.stdout and "refused" in result.stdout
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(r["logger"] == "probe.scan.engine" and "refused" in r["message"] for r in records), result.stderr
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)


def test_without_db_the_sweep_goes_to_tlsprobe_db(tmp_path: Path) -> None:
    """Scheduled jobs often have no persistent home: TLSPROBE_DB (else the user's data directory) holds the
    history, never a reports/ folder under the current directory."""
    from probe.store import Store

    db = tmp_path / "jobs" / "history.db"
    result = CliRunner().invoke(app, ["scan", "127.0.44.1:1", "--timeout", "1", "--format", "json"],
                                env={"TLSPROBE_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["endpoints"][0]["error"]["kind"] == "refused"
    with Store.open(db) as store:
        [sweep] = store.sweeps()
        assert sweep.state == "done" and sweep.endpoints == 1


def test_every_scan_option_is_a_parameter_of_scan_and_sweep() -> None:
    """The commands hand their parameters to ScanOptions.from_values: an option it does not find there would
    silently keep its default."""
    import inspect
    from dataclasses import fields

    from probe.app.options import ScanOptions
    from probe.cli import scan as scan_cli
    from probe.cli import sweep as sweep_cli

    wanted = {f.name for f in fields(ScanOptions)}
    for command in (scan_cli.command, sweep_cli.command):
        assert wanted <= set(inspect.signature(command).parameters), wanted - set(inspect.signature(command).parameters)
