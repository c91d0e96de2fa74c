"""Run a suite and write its CSV, plots, environment and Markdown summary under an output directory."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import plots
from .cost import Workload, cost_curve, load_prices, monthly_calls, monthly_cost
from .environment import environment
from .kms_suite import KMSConfig, run_kms
from .tls_suite import TLSConfig, run_tls

Progress = Callable[[str], None]
CURVE_AGES_S = [1, 5, 30, 60, 300, 900, 3600, 21600, 86400]
CURVE_MAX_MESSAGES = [100, 1000, 10000, 100000]


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return str(v)


def md_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of ``columns`` from ``rows``."""
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(out)


def _with_ci(row: dict[str, Any], key: str) -> str:
    lo, hi = row.get(f"{key}_ci_lo"), row.get(f"{key}_ci_hi")
    base = _fmt(row.get(key))
    if isinstance(lo, float) and isinstance(hi, float) and not math.isnan(lo):
        return f"{base} [{_fmt(lo)}, {_fmt(hi)}]"
    return base


def env_section(env: dict[str, Any]) -> str:
    pk = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    return (f"- CPU: {env['cpu_model']} ({env['cores']} cores), load average at start {env['loadavg_at_start']}\n"
            f"- {env['platform']}, Python {env['python']}, {env['openssl']}\n- packages: {pk}\n"
            f"- recorded {env['recorded_at']}")


def cpu_ratios(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Server CPU per full handshake: RSA-3072 against RSA-2048 and ECDSA P-256, per version and RTT."""
    out = []
    full = {(r["key"], r["version"], r["rtt_ms"]): r for r in rows if r["strategy"] == "full"}
    for (key, version, rtt), r in sorted(full.items(), key=lambda kv: (kv[0][2], kv[0][1])):
        if key != "rsa3072":
            continue
        base = float(r["server_cpu_ms_per_handshake"])
        entry: dict[str, Any] = {"version": version, "rtt_ms": rtt, "rsa3072_cpu_ms": base}
        for other in ("rsa2048", "ecdsa-p256"):
            o = full.get((other, version, rtt))
            entry[f"{other}_cpu_ms"] = float(o["server_cpu_ms_per_handshake"]) if o else math.nan
            entry[f"rsa3072_vs_{other}"] = base / entry[f"{other}_cpu_ms"] if o else math.nan
        out.append(entry)
    return out


def write_tls(config: TLSConfig, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Run the TLS suite and write bench-tls.csv, bench-tls-*.png and bench-tls.md; return the figures."""
    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    rows, samples = run_tls(config, progress)
    pd.DataFrame(rows).to_csv(out / "bench-tls.csv", index=False)
    low_rtt = min(config.rtts_ms)
    cdf = {k: v for k, v in samples.items() if k.endswith(f"rtt={max(config.rtts_ms):g}ms")}
    plots.latency_cdf(cdf, out / "bench-tls-cdf.png",
                      f"TLS request latency per strategy, RTT {max(config.rtts_ms):g} ms")
    plots.handshake_by_key_rtt(rows, out / "bench-tls-handshake.png")
    ratios = cpu_ratios([r for r in rows if r["rtt_ms"] == low_rtt])
    cols = ["key", "version", "strategy", "rtt_ms", "p50_ms", "p95_ms", "p99_ms", "hs_p50_ms", "requests_per_s",
            "connections", "resumed", "server_cpu_ms_per_handshake"]
    table_rows = [{**r, "p50_ms": _with_ci(r, "p50_ms"),
                   "server_cpu_ms_per_handshake": _with_ci(r, "server_cpu_ms_per_handshake")} for r in rows]
    md = [f"# TLS bench\n\n{env_section(env)}\n",
          f"{config.requests} requests per cell, repeat {config.repeat} (95% CI in brackets when repeat > 1). "
          "Latency proxy on loopback adds the RTT (plus one RTT before the first client byte for the TCP "
          "handshake). Server CPU is the server process's CPU time (CLOCK_PROCESS_CPUTIME_ID, all threads) over "
          "the cell divided by its handshakes; it includes the server's fixed per-connection Python work, so "
          "key-type ratios understate the raw signature cost, and for keepalive (one handshake) it is the "
          "whole cell's CPU.\n",
          md_table(table_rows, cols),
          f"\n## Server CPU per full handshake (RTT {low_rtt:g} ms)\n",
          md_table(ratios, list(ratios[0].keys())) if ratios else "(needs rsa3072 in --keys)",
          "\n![handshake](bench-tls-handshake.png)\n![cdf](bench-tls-cdf.png)\n"]
    (out / "bench-tls.md").write_text("\n".join(md), encoding="utf-8")
    (out / "bench-tls-env.json").write_text(json.dumps(env, indent=2), encoding="utf-8")
    return {"rows": rows, "cpu_ratios": ratios, "markdown": "\n".join(md)}


def kms_checks(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per contexts value: model match, envelope/dek-cache p50 ratios, dek-cache hit rate vs local-only."""
    out = []
    for n_ctx in sorted({int(r["contexts"]) for r in rows}):
        by = {r["strategy"]: r for r in rows if int(r["contexts"]) == n_ctx}
        env_p50 = float(by["envelope"]["p50_ms"]) if "envelope" in by else math.nan
        entry: dict[str, Any] = {"contexts": n_ctx}
        for name in ("dek-cache", "esdk-cache", "esdk-cache-signing"):
            if name in by:
                entry[f"{name} calls=model"] = bool(by[name]["model_match"])
                entry[f"envelope/{name} p50"] = env_p50 / float(by[name]["p50_ms"])
        if "dek-cache" in by and "local-only" in by:
            entry["dek-cache hit/local-only msgs/s"] = (float(by["dek-cache"]["hit_msgs_per_s"])
                                                        / float(by["local-only"]["hit_msgs_per_s"]))
        out.append(entry)
    return out


def write_kms(config: KMSConfig, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Run the KMS suite and write bench-kms.csv, bench-kms-cost.csv, plots and bench-kms.md."""
    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    rows, samples, notes = run_kms(config, progress)
    pd.DataFrame(rows).to_csv(out / "bench-kms.csv", index=False)
    prices = load_prices()
    ctx0 = config.contexts[0]
    curve = cost_curve(prices, config.project_rate, config.instances, ctx0, [float(a) for a in CURVE_AGES_S],
                       CURVE_MAX_MESSAGES)
    pd.DataFrame(curve).to_csv(out / "bench-kms-cost.csv", index=False)
    shown = {prices[0].product, "Cloud KMS HSM key, RSA-3072 / RSA-4096 / EC"}  # two rows keep the plot legible
    plots.cost_vs_age([c for c in curve if c["product"] in shown], out / "bench-kms-cost.png",
                      f"dek-cache monthly cost: {config.project_rate:g} msg/s, {config.instances} instances, "
                      f"{ctx0} contexts")
    plots.latency_cdf({k: v for k, v in samples.items() if k.endswith(f"contexts={ctx0}")},
                      out / "bench-kms-cdf.png", f"KMS encrypt latency per strategy, {ctx0} contexts")
    checks = kms_checks(rows)
    cost_rows = []
    for name in config.strategies:
        w = Workload(config.project_rate, config.instances, ctx0, config.max_messages, config.max_age_s)
        calls = sum(monthly_calls(name, w))
        cost_rows.append({"strategy": name, "kms_calls_per_month": calls,
                          **{p.label: monthly_cost(calls, p) for p in prices}})
    cols = ["strategy", "contexts", "kms_calls_encrypt", "kms_calls_decrypt", "model_calls_encrypt",
            "model_calls_decrypt", "p50_ms", "p99_ms", "decrypt_p50_ms", "msgs_per_s", "hit_msgs_per_s",
            "kms_connections", "usd_per_month"]
    table_rows = [{**r, "p50_ms": _with_ci(r, "p50_ms"), "hit_msgs_per_s": _with_ci(r, "hit_msgs_per_s")}
                  for r in rows]
    md = [f"# KMS bench\n\n{env_section(env)}\n",
          f"Backend: {rows[0]['backend'] if rows else 'n/a'}. {config.messages} messages of {config.size} B "
          f"per cell, max_messages {config.max_messages}, max_age {config.max_age_s:g} s, repeat {config.repeat}. "
          "Latencies are encrypt-side; KMS calls are counted by botocore hooks. usd_per_month: AWS KMS "
          f"symmetric at {config.project_rate:g} msg/s over {config.instances} instances (model).\n",
          md_table(table_rows, cols), "\n## Checks\n", md_table(checks, list(checks[0].keys())) if checks else "",
          f"\n## Monthly cost by provider ({ctx0} contexts; unverified prices as marked in bench/pricing.csv)\n",
          md_table(cost_rows, list(cost_rows[0].keys())) if cost_rows else "",
          *(f"\n- {n}" for n in notes),
          "\n![cost](bench-kms-cost.png)\n![cdf](bench-kms-cdf.png)\n"]
    (out / "bench-kms.md").write_text("\n".join(md), encoding="utf-8")
    (out / "bench-kms-env.json").write_text(json.dumps(env, indent=2), encoding="utf-8")
    return {"rows": rows, "checks": checks, "markdown": "\n".join(md), "notes": notes}
