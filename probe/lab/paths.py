"""The lab's default locations, apart from the lab code so the CLI can show them without loading it.

The lab definitions ship inside the package (probe/lab/definitions/), so `tlsprobe lab up` works from an
installed wheel in any directory; the state directory is relative to the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
DEFAULT_DEFINITION = DEFINITIONS_DIR / "lab.yaml"
DEFAULT_HOSTILE_DEFINITION = DEFINITIONS_DIR / "hostile.yaml"
DEFAULT_STATE_DIR = Path("reports/lab")

# The directory `probe` was imported from: site-packages for an installed wheel, the checkout for an
# editable install or a run from the source tree.
_IMPORT_ROOT = Path(__file__).resolve().parents[2]


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a `python -m probe....` child process started in another directory.

    A child of an installed tlsprobe imports it as its parent did. Run from a source tree that is not
    installed (``python -m probe`` in the checkout), the child would not find `probe` once its working
    directory is elsewhere, so the checkout leads its PYTHONPATH. site-packages itself is never put on
    PYTHONPATH (that would put every installed package ahead of the standard library).
    """
    env = dict(os.environ if base is None else base)
    if (_IMPORT_ROOT / "pyproject.toml").is_file():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_IMPORT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env
