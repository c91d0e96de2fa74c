"""`tlsprobe bench tls | kms`: what encryption costs in latency, CPU, KMS calls and money.

The harness is the ``probe.bench`` package (``bench/`` in the source tree), installed with the bench extra:
``pip install 'tlsprobe[bench]'``. This module parses options, checks that the extra is there, runs a suite
with progress bars and prints where the reports went.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from probe.cli.common import fail, fail_from
from probe.extras import MissingExtra, require

app = typer.Typer(
    help="Benchmark encryption overhead: TLS handshakes and reuse (tls), KMS calls and data-key caching (kms).",
    no_args_is_help=True,
)
_out = Console()

OutputDir = Annotated[Path, typer.Option("--output-dir", help="Where CSV, PNG and Markdown reports go.")]
Repeat = Annotated[int, typer.Option("--repeat", min=1, help="Runs per cell; 95% CIs need at least 2.")]


def _require_bench() -> None:
    """Exit 2 unless the bench extra is installed (called by each command, so that --help works without it)."""
    try:
        require("bench")
    except MissingExtra as exc:
        fail_from(exc)


def _floats(text: str, flag: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"{flag}: expected comma-separated numbers, got {text!r}")
    if not values or any(v < 0 for v in values):
        fail(f"{flag}: expected one or more non-negative numbers, got {text!r}")
    return values


def _names(text: str, allowed: tuple[str, ...], flag: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if names == ["all"]:
        return list(allowed)
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        fail(f"{flag}: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(allowed)} or all")
    return names


@app.command("tls")
def tls(
    rtt: Annotated[str, typer.Option("--rtt", help="Round-trip times to emulate, ms, comma-separated.")] = "0,20,80",
    keys: Annotated[str, typer.Option("--keys", help="rsa2048, rsa3072, ecdsa-p256 or all.")] = "all",
    versions: Annotated[str, typer.Option("--versions", help="TLS versions: 1.2, 1.3.")] = "1.2,1.3",
    strategies: Annotated[str, typer.Option("--strategies", help="full, resume, keepalive or all.")] = "all",
    requests: Annotated[int, typer.Option("--requests", min=1, help="Requests per cell.")] = 500,
    repeat: Repeat = 1,
    output_dir: OutputDir = Path("reports"),
    groups: Annotated[str | None, typer.Option(
        "--groups", help="Post-quantum cost instead: full TLS 1.3 handshakes per key-exchange group between the "
        "lab's Node server and a Node client (OpenSSL 3.5), --requests handshakes per group and RTT, plus the "
        "HelloRetryRequest penalty: X25519, X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, P-256, "
        "P-384 or all.")] = None,
) -> None:
    """TLS handshake overhead: key types, versions, full vs resumed vs keep-alive, over emulated RTTs."""
    _require_bench()
    if groups is not None:
        from probe.bench.pq_suite import PQ_GROUPS, PQConfig, write_pq

        pq_config = PQConfig(groups=_names(groups, PQ_GROUPS, "--groups"), rtts_ms=_floats(rtt, "--rtt"),
                             handshakes=requests)
        rows = write_pq(pq_config, output_dir)["rows"]
        _out.print(f"{len(rows)} cells -> {output_dir / 'bench-tls-pq.csv'}, {output_dir / 'bench-tls-pq.md'}")
        return
    from probe.bench.certs import KEY_TYPES
    from probe.bench.progress import progress_bar
    from probe.bench.quick import tls_steps
    from probe.bench.report import write_tls
    from probe.bench.tls_suite import STRATEGIES, VERSIONS, TLSConfig

    config = TLSConfig(rtts_ms=_floats(rtt, "--rtt"), keys=_names(keys, KEY_TYPES, "--keys"),
                       versions=_names(versions, VERSIONS, "--versions"),
                       strategies=_names(strategies, STRATEGIES, "--strategies"), requests=requests, repeat=repeat)
    with progress_bar("tls", tls_steps(config)) as advance:
        result = write_tls(config, output_dir, advance)
    _out.print(f"{len(result['rows'])} cells -> {output_dir / 'bench-tls.csv'}, {output_dir / 'bench-tls.md'}")


@app.command("kms")
def kms(
    strategies: Annotated[str, typer.Option(
        "--strategies", help="direct, envelope, dek-cache, esdk-cache, esdk-cache-signing, local-only or all.")
    ] = "all",
    messages: Annotated[int, typer.Option("--messages", min=1, help="Messages per cell.")] = 20000,
    size: Annotated[int, typer.Option("--size", min=1, help="Plaintext bytes per message.")] = 4096,
    contexts: Annotated[str, typer.Option("--contexts", help="Encryption-context counts, comma-separated.")
                        ] = "1,10,100",
    max_messages: Annotated[int, typer.Option("--max-messages", min=1, help="Messages per cached data key.")] = 1000,
    max_age: Annotated[float, typer.Option("--max-age", min=0.001, help="Seconds a cached data key lives.")] = 300.0,
    project_rate: Annotated[float, typer.Option("--project-rate", min=0.0,
                                                help="Messages per second of the project (cost model).")] = 1000.0,
    instances: Annotated[int, typer.Option("--instances", min=1,
                                           help="Instances, each with its own cache (cost model).")] = 20,
    bench_instances: Annotated[int, typer.Option("--bench-instances", min=1,
                                                 help="Instances simulated in the bench itself.")] = 1,
    rtt: Annotated[float, typer.Option("--rtt", min=0.0, help="RTT to the emulated KMS, ms.")] = 10.0,
    repeat: Repeat = 1,
    real: Annotated[bool, typer.Option("--real", help="Use real AWS KMS (standard credential chain).")] = False,
    key_id: Annotated[str | None, typer.Option("--key-id", help="KMS key id, ARN or alias (with --real).")] = None,
    region: Annotated[str, typer.Option("--region", help="AWS region (with --real).")] = "eu-west-1",
    output_dir: OutputDir = Path("reports"),
) -> None:
    """KMS calls, latency and monthly cost per strategy; counted calls checked against the cost model."""
    _require_bench()
    from probe.bench.kms_strategies import STRATEGIES
    from probe.bench.kms_suite import KMSConfig
    from probe.bench.progress import progress_bar
    from probe.bench.quick import kms_steps
    from probe.bench.report import write_kms

    if real and not key_id:
        fail("--real needs --key-id")
    config = KMSConfig(
        strategies=_names(strategies, STRATEGIES, "--strategies"), messages=messages, size=size,
        contexts=[int(c) for c in _floats(contexts, "--contexts") if c >= 1] or fail("--contexts: need >= 1"),
        max_messages=max_messages, max_age_s=max_age, project_rate=project_rate, instances=instances,
        bench_instances=bench_instances, repeat=repeat, rtt_ms=rtt, real=real, key_id=key_id, region=region)
    try:
        with progress_bar("kms", kms_steps(config)) as advance:
            result = write_kms(config, output_dir, advance)
    except Exception as exc:  # boto/botocore errors (no credentials, access denied) end the run: exit 2
        if not real:
            raise
        fail(f"real KMS run failed: {type(exc).__name__}: {exc}")
    _out.print(f"{len(result['rows'])} cells -> {output_dir / 'bench-kms.csv'}, {output_dir / 'bench-kms.md'}")
    for note in result["notes"]:
        _out.print(f"note: {note}")


@app.command("scan")
def scan(
    rtt: Annotated[float, typer.Option("--rtt", min=0.0, help="Round-trip time through the latency proxy, ms.")] = 20.0,
    fleet: Annotated[int, typer.Option("--fleet", min=1, help="Lab endpoints in the fleet scenario.")] = 50,
    sweep: Annotated[int, typer.Option("--sweep", min=0, help="Targets in the sweep scenario (0: skip).")] = 10000,
    tools: Annotated[
        str, typer.Option("--tools", help="tlsprobe, tlsprobe-sslyze, sslyze-cli, sslyze-checks, sslscan or all.")
    ] = "all",
    output_dir: OutputDir = Path("reports"),
) -> None:
    """tlsprobe (fast and --engine sslyze), the sslyze CLI (full, and its checks alone) and sslscan on lab
    endpoints behind the latency proxy."""
    _require_bench()
    from probe.bench.scan_bench import TOOLS, run_bench, table

    chosen = _names(tools, TOOLS, "--tools")
    result = run_bench(rtt, fleet, sweep, output_dir, chosen, progress=lambda s: _out.print(f"... {s}"))
    _out.print(table(result["rows"]), markup=False, highlight=False)
    for line in result["goals"]:
        _out.print(line, markup=False)
    _out.print(f"-> {output_dir / 'bench-scan.csv'}, {output_dir / 'bench-scan.md'}")


@app.command("scale")
def scale(
    sizes: Annotated[str, typer.Option("--sizes", help="Targets of the memory runs, comma-separated.")] = "10000,"
    "100000",
    fleet: Annotated[int, typer.Option("--fleet", min=1, help="Lab TLS endpoints of the throughput runs.")] = 200,
    rtt: Annotated[float, typer.Option("--rtt", min=0.0, help="Round-trip time through the latency proxy, ms.")] = 20.0,
    cluster: Annotated[str, typer.Option("--cluster", help="The cluster runs' --cluster ('' skips them).")] = "local:2",
    output_dir: OutputDir = Path("reports"),
) -> None:
    """Peak RSS and wall time at 10,000 and 100,000 mostly-closed targets (--output x.json and JSON to stdout),
    and a lab fleet behind the latency proxy, single process against --cluster local:2; an extrapolation to
    1,000,000 endpoints an hour. Writes bench-scale.md and bench-scale.csv."""
    _require_bench()
    if cluster:
        try:
            require("dask", "'tlsprobe bench scale --cluster'")
        except MissingExtra as exc:
            fail_from(exc)
    from probe.bench.scale import run_scale, table

    counts = [int(c) for c in _floats(sizes, "--sizes") if c >= 1] or fail("--sizes: need >= 1")
    result = run_scale(output_dir, counts, fleet, rtt, cluster or None, progress=lambda s: _out.print(f"... {s}"))
    _out.print(table(result["rows"]), markup=False, highlight=False)
    for line in [*result["goals"], *result["estimate"]]:
        _out.print(line, markup=False)
    _out.print(f"-> {output_dir / 'bench-scale.csv'}, {output_dir / 'bench-scale.md'}")
