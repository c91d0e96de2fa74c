"""Optional parts of tlsprobe and the pip extras that install them.

`pip install tlsprobe` is the scanner (scan, sweep, discover, reports, history, alerts, metrics). The lab,
the benchmarks and Parquet output need more: a command that uses one checks first (without importing
anything) and, when a module is missing, raises `MissingExtra`, which the CLI shows as one line with exit
code 2: ``tlsprobe: error: 'tlsprobe lab' needs the lab extra (moto not installed): pip install 'tlsprobe[lab]'``.
"""

from __future__ import annotations

import importlib.util

from probe.errors import InputError

# The modules each extra brings (import names, not distribution names); `require` checks these.
EXTRAS: dict[str, tuple[str, ...]] = {
    "lab": ("moto", "flask", "trustme"),
    "bench": ("moto", "flask", "matplotlib", "numpy", "scipy", "pandas", "aws_encryption_sdk"),
    "parquet": ("pyarrow", "pandas"),
    "dask": ("dask", "distributed"),  # --cluster: scale-out on Dask distributed
    # --provider azure / gcp: the official SDKs (management plane; Cloud KMS and Resource Manager over REST)
    "azure": ("azure.identity", "azure.mgmt.network", "azure.mgmt.cdn", "azure.mgmt.frontdoor",
              "azure.mgmt.apimanagement", "azure.mgmt.keyvault", "azure.mgmt.resource.subscriptions"),
    "gcp": ("google.cloud.compute_v1", "google.cloud.kms_v1", "google.cloud.resourcemanager_v3"),
}


class MissingExtra(InputError):
    """A feature was asked for whose pip extra is not installed."""

    def __init__(self, what: str, extra: str, missing: tuple[str, ...]) -> None:
        self.what, self.extra, self.missing = what, extra, missing
        super().__init__(
            f"{what} needs the {extra} extra ({', '.join(missing)} not installed): pip install 'tlsprobe[{extra}]'"
        )


def installed(module: str) -> bool:
    """Whether `module` can be imported, found without importing it (a parent package may be imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package; a module set to None in sys.modules
        return False


def missing(extra: str) -> tuple[str, ...]:
    """The modules of `extra` that cannot be imported (empty: the extra is installed)."""
    return tuple(m for m in EXTRAS[extra] if not installed(m))


def require(extra: str, what: str | None = None) -> None:
    """Raise `MissingExtra` unless every module of `extra` can be imported; `what` names the feature
    in the message (default: the command ``'tlsprobe <extra>'``)."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(what or f"'tlsprobe {extra}'", extra, absent)
