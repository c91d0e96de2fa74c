"""Quick profile of both suites on the embedded defaults: ``python -m probe.bench.quick`` (``make bench``).

Writes reports/bench-tls.*, reports/bench-kms.* and reports/bench-summary.md in a few minutes on
two cores: TLS at RTT 0 and 10 ms with all key types, versions and strategies (60 requests per
cell, 2 repeats); KMS with every strategy on moto behind the 10 ms proxy (4 KiB messages, 1 and 10
contexts, max_messages 100, 2 repeats). Messages per cell differ by strategy so that each cell takes
seconds: 250 for direct and envelope (two KMS round trips each), 4000 for dek-cache and local-only
(so the hit-path throughput is timed over enough messages), 1000 for esdk-cache and 500 for
esdk-cache-signing (ECDSA P-384 per message); the CSV's ``messages`` column says which.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .kms_suite import KMSConfig
from .progress import progress_bar
from .report import md_table, write_kms, write_tls
from .tls_suite import TLSConfig

QUICK_TLS = TLSConfig(rtts_ms=[0.0, 10.0], requests=60, repeat=2)
QUICK_KMS = KMSConfig(messages=250, size=4096, contexts=[1, 10], max_messages=100, max_age_s=300.0,
                      project_rate=1000.0, instances=20, repeat=2,
                      messages_by_strategy={"dek-cache": 4000, "local-only": 4000, "esdk-cache": 1000,
                                            "esdk-cache-signing": 500})


def tls_steps(c: TLSConfig) -> int:
    return len(c.rtts_ms) * len(c.keys) * len(c.versions) * len(c.strategies) * c.repeat


def kms_steps(c: KMSConfig) -> int:
    return len(c.contexts) * len(c.strategies) * c.repeat


def main(out: Path = Path("reports")) -> dict[str, Any]:
    """Run the quick profile and write reports under ``out``; returns the figures."""
    t0 = time.perf_counter()
    with progress_bar("tls", tls_steps(QUICK_TLS)) as advance:
        tls = write_tls(QUICK_TLS, out, advance)
    with progress_bar("kms", kms_steps(QUICK_KMS)) as advance:
        kms = write_kms(QUICK_KMS, out, advance)
    wall = time.perf_counter() - t0
    summary = [
        "# Bench quick profile\n",
        f"Wall time {wall:.0f} s. The machine may be shared with other work; treat timings as indicative.\n",
        "## Done-means figures\n",
        md_table(kms["checks"], list(kms["checks"][0].keys())) if kms["checks"] else "",
        "\n### Server CPU per full handshake\n",
        md_table(tls["cpu_ratios"], list(tls["cpu_ratios"][0].keys())) if tls["cpu_ratios"] else "",
        "\n---\n", kms["markdown"], "\n---\n", tls["markdown"],
    ]
    (out / "bench-summary.md").write_text("\n".join(summary), encoding="utf-8")
    return {"wall_s": wall, "tls": tls, "kms": kms}


if __name__ == "__main__":
    figures = main()
    sys.stdout.write((Path("reports") / "bench-summary.md").read_text(encoding="utf-8").split("\n---\n")[0] + "\n")
