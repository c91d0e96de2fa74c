"""The README's library examples run as written against the lab, and print what the lab's ground truth says."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from probe.lab.manager import LabState, running_lab

README = Path(__file__).resolve().parents[1] / "README.md"
NAMES = ["compliant", "legacy", "plain-http", "pq-default"]


def library_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use as a library", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    with running_lab(tmp_path_factory.mktemp("lab"), names=NAMES) as state:
        yield state


def run_example(code: str, lab: LabState, cwd: Path) -> str:
    code = code.replace("reports/lab/", lab.state_dir + "/")
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # no warnings, no progress noise from the library
    return done.stdout


def test_there_are_a_sync_and_an_async_example() -> None:
    examples = library_examples()
    assert len(examples) == 2
    assert "probe.scan(" in examples[0] and "probe.aiter_scan(" in examples[1]


def test_sync_example_prints_each_endpoint_as_the_lab_serves_it(lab: LabState, tmp_path: Path) -> None:
    out = run_example(library_examples()[0], lab, tmp_path).splitlines()
    assert out[0] == "4 endpoints, 3 ok, 2 compliant"
    rows = {line.split()[0]: line for line in out[1:]}
    for endpoint in lab.endpoints:
        row = rows[endpoint.host]
        if endpoint.truth is None:
            assert " error " in row
            continue
        versions = " ".join(v for v, on in endpoint.truth.tls_versions.items() if on)
        assert f" ok    {versions} " in row, row
        pq = endpoint.truth.pq
        assert f" {(', '.join(pq.supported) or 'none') if pq else '-'} " in row, row  # post-quantum groups
    assert "tls.protocol.deprecated" in rows["legacy.lab.tlsprobe.test"]
    assert rows["compliant.lab.tlsprobe.test"].endswith(" none" + " " * 34 + "-")  # no PQ, no finding at low+


def test_async_example_names_errors_and_the_worst_finding(lab: LabState, tmp_path: Path) -> None:
    out = run_example(library_examples()[1], lab, tmp_path).splitlines()
    plain = next(e for e in lab.endpoints if e.name == "plain-http")
    assert f"{plain.host}:{plain.port}@{plain.address}: not_tls" in out
    assert "legacy.lab.tlsprobe.test: worst finding high" in out  # TLS 1.0/1.1: tls.protocol.deprecated
    assert len(out) == 2
