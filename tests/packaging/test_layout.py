"""What the wheel installs: one top-level package `probe`, the bench harness as `probe.bench`, data files.

The package list in pyproject.toml is explicit (bench/ is mapped to probe.bench, which `packages.find`
cannot do), so these tests catch a package directory added under probe/ but not listed there.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest

import probe

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
PACKAGES: list[str] = SETUPTOOLS["packages"]
PACKAGE_DIR: dict[str, str] = SETUPTOOLS["package-dir"]


def _source_dir(package: str) -> Path:
    """The directory setuptools builds `package` from (the longest package-dir prefix wins)."""
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in PACKAGE_DIR:
            return ROOT / PACKAGE_DIR[prefix] / Path(*parts[cut:])
    return ROOT / Path(*parts)


def test_one_top_level_package_and_the_bench_under_it() -> None:
    assert {p.split(".")[0] for p in PACKAGES} == {"probe"}
    assert PACKAGE_DIR == {"probe.bench": "bench"}
    for package in PACKAGES:
        assert _source_dir(package).is_dir(), package


def test_every_directory_under_probe_and_bench_is_listed() -> None:
    found = set()
    for top, name in ((ROOT / "probe", "probe"), (ROOT / "bench", "probe.bench")):
        for directory in (top, *(d for d in top.rglob("*") if d.is_dir())):
            if "__pycache__" in directory.parts or not any(f.is_file() for f in directory.iterdir()):
                continue
            found.add(".".join([name, *directory.relative_to(top).parts]))
    missing = sorted(found - set(PACKAGES))
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_package_data_patterns_cover_every_data_file() -> None:
    patterns: list[str] = SETUPTOOLS["package-data"]["*"]
    for package in PACKAGES:
        for path in _source_dir(package).iterdir():
            if path.is_file() and path.suffix not in (".py", ".pyc") and not path.name.startswith("."):
                assert any(path.match(p) for p in patterns), f"{path} would not be in the wheel"


def test_bench_imports_as_probe_bench_with_its_pricing_table() -> None:
    quick = importlib.import_module("probe.bench.quick")
    cost = importlib.import_module("probe.bench.cost")
    assert Path(quick.__file__ or "").parent == ROOT / "bench"  # the editable install maps bench/ here
    assert cost.PRICING_FILE.is_file()


@pytest.mark.parametrize("root", ["bench", "probe", "tests"])
def test_nothing_imports_the_old_top_level_bench(root: str) -> None:
    old = re.compile(r"^\s*(from bench[. ]|import bench\b)|-m bench\.", re.MULTILINE)
    offenders = [str(p) for p in (ROOT / root).rglob("*.py") if old.search(p.read_text(encoding="utf-8"))]
    assert not offenders
    for extra in ("Makefile", ".ci/demo", ".ci/run"):
        assert not old.search((ROOT / extra).read_text(encoding="utf-8")), extra


def test_lab_definitions_ship_inside_the_package() -> None:
    from probe.lab.hostile import DEFAULT_HOSTILE_DEFINITION
    from probe.lab.paths import DEFAULT_DEFINITION

    package_dir = Path(probe.__file__).resolve().parent
    for definition in (DEFAULT_DEFINITION, DEFAULT_HOSTILE_DEFINITION):
        assert definition.is_file() and definition.is_relative_to(package_dir), definition
