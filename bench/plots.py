"""PNG plots of benchmark results (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def latency_cdf(samples: dict[str, list[float]], path: Path, title: str) -> Path:
    """One empirical CDF line per label (latencies in ms, log x axis)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, values in sorted(samples.items()):
        if not values:
            continue
        xs = np.sort(np.asarray(values))
        ax.plot(np.maximum(xs, 1e-4), np.arange(1, xs.size + 1) / xs.size, label=label, linewidth=1.2)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cost_vs_age(curve: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Monthly cost against cache max_age, one line per (price row, max_messages); messages per key beside."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in curve:
        groups.setdefault((f"{row['provider']} {row['product']}", int(row["max_messages"])), []).append(row)
    for (label, max_messages), rows in sorted(groups.items()):
        rows = sorted(rows, key=lambda r: float(r["max_age_s"]))
        ys = [float(r["usd_per_month"]) for r in rows]
        if all(np.isnan(ys)):
            continue
        xs = [float(r["max_age_s"]) for r in rows]
        style = "-" if label.startswith("aws") else "--"
        ax.plot(xs, ys, style, marker="o", markersize=3, label=f"{label}, max_messages={max_messages}",
                linewidth=1)
    seen: set[int] = set()
    for (_, max_messages), rows in sorted(groups.items()):
        if max_messages in seen:
            continue
        seen.add(max_messages)
        rows = sorted(rows, key=lambda r: float(r["max_age_s"]))
        ax2.plot([float(r["max_age_s"]) for r in rows], [float(r["messages_per_key"]) for r in rows],
                 marker="o", markersize=3, label=f"max_messages={max_messages}")
    for a in (ax, ax2):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("cache max_age (s)")
        a.grid(True, which="both", alpha=0.3)
    ax.set_ylabel("USD per month (dek-cache)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6)
    ax2.set_ylabel("messages per data key (exposure of one key)")
    ax2.set_title("security side: messages per data key", fontsize=9)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def handshake_by_key_rtt(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Full-handshake p50 (connect + TLS) per key type, grouped by RTT, one bar per key x version."""
    full = [r for r in rows if r["strategy"] == "full"]
    rtts = sorted({float(r["rtt_ms"]) for r in full})
    series = sorted({(str(r["key"]), str(r["version"])) for r in full})
    fig, ax = plt.subplots(figsize=(9, 5))
    width = 0.8 / max(1, len(series))
    for i, (key, version) in enumerate(series):
        vals = []
        for rtt in rtts:
            match = [r for r in full if r["key"] == key and r["version"] == version and float(r["rtt_ms"]) == rtt]
            vals.append(float(match[0]["hs_p50_ms"]) if match else np.nan)
        ax.bar(np.arange(len(rtts)) + i * width, vals, width, label=f"{key} TLS {version}")
    ax.set_xticks(np.arange(len(rtts)) + width * (len(series) - 1) / 2, [f"RTT {r:g} ms" for r in rtts])
    ax.set_ylabel("full handshake p50 (ms, TCP connect + TLS)")
    ax.set_title("Handshake latency by key type and RTT")
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
