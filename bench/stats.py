"""Percentiles and confidence intervals for benchmark figures."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds of samples given in seconds (NaN when empty)."""
    if not samples_s:
        return {"p50_ms": math.nan, "p95_ms": math.nan, "p99_ms": math.nan}
    arr = np.asarray(samples_s, dtype=float) * 1000.0
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


def mean_ci95(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and two-sided 95% Student-t interval; the interval is NaN with fewer than two finite values."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, math.nan, math.nan
    half = float(sps.t.ppf(0.975, arr.size - 1) * arr.std(ddof=1) / math.sqrt(arr.size))
    return mean, mean - half, mean + half


def aggregate_runs(runs: list[dict[str, object]], headline: Sequence[str]) -> dict[str, object]:
    """Collapse repeated runs of one cell: numeric columns become means; headline ones get _ci_lo/_ci_hi."""
    out: dict[str, object] = dict(runs[0])
    for key, first in runs[0].items():
        if isinstance(first, bool) or not isinstance(first, int | float):
            continue
        vals = [float(r[key]) for r in runs if isinstance(r.get(key), int | float)]  # type: ignore[arg-type]
        mean, lo, hi = mean_ci95(vals)
        same_int = isinstance(first, int) and len(set(vals)) == 1
        out[key] = first if same_int else mean
        if key in headline:
            out[f"{key}_ci_lo"] = lo
            out[f"{key}_ci_hi"] = hi
    out["repeat"] = len(runs)
    return out
