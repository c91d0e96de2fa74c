"""Hostile input: whatever a targets, profile, waiver or JSON document file holds, tlsprobe gives a result or a
one-line error with exit code 2, never a traceback. A million-line targets file is validated and read streaming."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from probe.cli.main import app
from probe.errors import InputError
from probe.policy import load_profile, load_waivers
from probe.report.document import build_document, read_document
from probe.targets import TargetSpec
from tests.hostile.conftest import REPO_ROOT
from tests.report.factories import NOW, POLICY, mixed_results

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(st.characters(codec="utf-8"), max_size=300) | st.text(
    alphabet="0123456789.:/[]-,#\n\t host port ip sni 127 ::1 443 abc", max_size=300
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _write(tmp: Path, name: str, data: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".yaml"])
@FAST
@given(body=TEXT | st.binary(max_size=300))
def test_targets_parser_gives_targets_or_input_errors(tmp_path: Path, suffix: str, body: str | bytes) -> None:
    path = _write(tmp_path, "t" + suffix, body)
    spec = TargetSpec(files=(path,))
    try:
        count = spec.validate()
    except InputError as exc:
        assert str(exc) and all(p.strip() for p in getattr(exc, "problems", [str(exc)]))
        return
    assert count == sum(1 for _ in spec.targets())


@FAST
@given(body=TEXT | st.binary(max_size=200))
def test_invalid_targets_through_the_cli_exit_2_without_traceback(tmp_path: Path, body: str | bytes) -> None:
    path = _write(tmp_path, "t.txt", body if isinstance(body, bytes) else body + "\nnot a host!!\n")
    if isinstance(body, bytes):
        path.write_bytes(body + b"\nnot a host!!\n")
    result = CliRunner().invoke(app, ["scan", "-t", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "tlsprobe: error:" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@FAST
@given(data=JSONISH | TEXT)
def test_profile_files_load_or_raise_input_error(tmp_path: Path, suffix: str, data: object) -> None:
    text = data if isinstance(data, str) else (json.dumps(data) if suffix == ".json" else yaml.safe_dump(data))
    path = _write(tmp_path, "p" + suffix, text)
    try:
        load_profile(str(path))
    except InputError as exc:
        assert "\n" not in str(exc).strip() or len(str(exc)) < 2000


@FAST
@given(data=JSONISH | TEXT, wrap=st.booleans())
def test_waiver_files_load_or_raise_input_error(tmp_path: Path, data: object, wrap: bool) -> None:
    if wrap and not isinstance(data, str):
        data = {"waivers": [data]}
    text = data if isinstance(data, str) else yaml.safe_dump(data)
    path = _write(tmp_path, "w.yaml", text)
    try:
        waivers = load_waivers(path)
    except InputError:
        return
    assert isinstance(waivers, list)


def _valid_document() -> dict[str, object]:
    doc = build_document(mixed_results(), policy=POLICY, started_at=NOW, finished_at=NOW)
    return json.loads(json.dumps(doc))  # type: ignore[no-any-return]


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    doc = _valid_document()
    for _ in range(draw(st.integers(1, 4))):
        target: object = doc
        path = []
        while isinstance(target, dict | list) and target and draw(st.booleans()):
            key = draw(st.sampled_from(list(target.keys()) if isinstance(target, dict) else range(len(target))))
            path.append(key)
            target = target[key]  # type: ignore[index]
        if not path:
            break
        parent: object = doc
        for key in path[:-1]:
            parent = parent[key]  # type: ignore[index]
        parent[path[-1]] = draw(JSONISH)  # type: ignore[index]
    return json.dumps(doc)


@FAST
@given(text=mutated_documents() | TEXT)
def test_diff_of_hostile_documents_is_a_result_or_exit_2(tmp_path: Path, text: str) -> None:
    good = _write(tmp_path, "good.json", json.dumps(_valid_document()))
    bad = _write(tmp_path, "bad.json", text)
    runner = CliRunner()
    for args in (["diff", str(good), str(bad)], ["diff", str(bad), "--baseline", str(good)],
                 ["diff", str(good), "--baseline", str(bad)]):
        result = runner.invoke(app, [*args, "--db", str(tmp_path / "none.db")])
        assert result.exit_code in (0, 2), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            assert result.output.count("tlsprobe: error:") == 1


def test_read_document_refuses_hostile_json_with_input_error() -> None:
    for text in ("", "[]", "{}", '{"schema": "tlsprobe.scan/1", "endpoints": [1]}', "\udcff", "1e999999"):
        with pytest.raises(InputError):
            read_document(text)


MILLION_SCRIPT = r"""
import sys, time
from pathlib import Path
from probe.targets import TargetSpec

def rss_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])

path = Path(sys.argv[1])
baseline = rss_kb("VmRSS:")
spec = TargetSpec(files=(path,))
count = spec.validate()
streamed = sum(1 for _ in spec.targets())
print(count, streamed, rss_kb("VmHWM:") - baseline)
"""


@pytest.mark.timeout(150)
def test_a_million_targets_are_validated_and_read_streaming(tmp_path: Path) -> None:
    """Plain and CSV, each in its own process (in parallel): validate, then stream every target; peak RSS growth
    stays far below what holding the targets would cost (hundreds of MB)."""
    lines = 1_000_000
    runs = {}
    for suffix in (".txt", ".csv"):
        path = tmp_path / f"million{suffix}"
        with path.open("w", encoding="utf-8") as out:
            if suffix == ".csv":
                out.write("host,port\n")
                out.writelines(f"h{i}.example.test,{443 + i % 1000}\n" for i in range(lines))
            else:
                out.writelines(f"h{i}.example.test:{443 + i % 1000}\n" for i in range(lines))
        runs[suffix] = subprocess.Popen([sys.executable, "-c", MILLION_SCRIPT, str(path)], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    for suffix, proc in runs.items():
        out, err = proc.communicate(timeout=140)
        assert proc.returncode == 0, err
        count, streamed, growth_kb = map(int, out.split())
        print(f"{suffix}: {count} targets, peak RSS growth {growth_kb} kB")
        assert count == streamed == lines, suffix
        assert growth_kb < 40_000, f"{suffix}: peak RSS grew {growth_kb} kB over a million targets"
