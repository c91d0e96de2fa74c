"""`tlsprobe discover` as a command: bad input exits 2 with one line, the file provider, formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from probe.cli import discover as discover_cli
from probe.discovery import AwsOptions, discover
from probe.discovery.render import parse_document
from probe.errors import InputError

app = typer.Typer()
app.command()(discover_cli.command)
runner = CliRunner()


def test_missing_credentials_is_input_error(no_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-never-printed")  # a secret without its key id: unusable
    with pytest.raises(InputError, match="no AWS credentials"):
        discover(AwsOptions(regions=("eu-west-1",), endpoint_url="http://127.0.0.1:9"))
    result = runner.invoke(app, ["--provider", "aws", "--regions", "eu-west-1", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "no AWS credentials" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout


def test_unknown_profile_is_input_error(no_credentials: None) -> None:
    result = runner.invoke(app, ["--aws-profile", "nope", "--regions", "eu-west-1"])
    assert result.exit_code == 2 and "profile 'nope' not found" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--regions", "all,eu-west-1"], "'all' cannot be combined"),
    (["--regions", "Europe"], "not an AWS region name"),
    (["--role-arn", "arn:aws:iam::12:role/x"], "not an IAM role ARN"),
    (["--services", "elbv2,s4"], "unknown AWS service"),
    (["--provider", "file"], "needs --targets"),
])
def test_bad_flags_exit_2_with_one_line(no_credentials: None, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.strip().count("\n") == 0


def test_file_provider_lists_targets(tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("a.example.test\nb.example.test:8443\n", encoding="utf-8")
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["--provider", "file", "--targets", str(targets), "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = parse_document(out.read_text(encoding="utf-8"))
    assert [(t.host, t.port) for t in document.targets] == [("a.example.test", 443), ("b.example.test", 8443)]
    again = runner.invoke(app, ["--provider", "file", "--targets", str(out), "--format", "csv"])
    assert again.exit_code == 0 and again.stdout.splitlines()[0].startswith("host,port,sni,provider,kind")
    assert len(again.stdout.splitlines()) == 3


def test_not_a_discovery_document(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not a tlsprobe\.discovery/1 document"):
        parse_document(json.dumps({"schema": "other"}))
    with pytest.raises(InputError, match="invalid JSON"):
        parse_document("{")
