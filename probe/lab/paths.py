"""The lab's default locations, apart from the lab code so the CLI can show them without loading it."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DEFINITION = REPO_ROOT / "targets" / "lab.yaml"
DEFAULT_STATE_DIR = Path("reports/lab")
