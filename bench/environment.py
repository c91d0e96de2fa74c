"""What machine and software a benchmark ran on, recorded with every run."""

from __future__ import annotations

import datetime as dt
import os
import platform
import ssl
import sys
from importlib import metadata

PACKAGES = ("cryptography", "httpx", "boto3", "botocore", "moto", "aws-encryption-sdk", "werkzeug",
            "numpy", "pandas", "scipy", "matplotlib", "tlsprobe")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment() -> dict[str, object]:
    """A JSON-ready description of this machine, interpreter, OpenSSL and package versions."""
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    return {
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "openssl": ssl.OPENSSL_VERSION,
        "packages": versions,
        "loadavg_at_start": load,
    }
