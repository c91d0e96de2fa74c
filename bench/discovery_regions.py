"""Benchmark: AWS discovery over 10 regions versus 1, with injected API latency. Not a test.

moto (server mode, loopback) holds a small estate in each region (ALBs with HTTPS listeners, a
certificate, a KMS key); a FaultProxy in front of it adds a fixed delay to every API call, as a
far-away AWS endpoint would. Discovery runs accounts x regions x services concurrently, so 10
regions should cost far less than 10 times one region (goal: at most 3x).

moto and the proxy each run in a process of their own: in the discovery process they would share
its GIL, and the benchmark would measure moto's CPU rather than discovery's concurrency.

    .venv/bin/python -m probe.bench.discovery_regions [--delay 0.1] [--repeat 3] [--max-workers 32]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from probe.discovery import AwsOptions, discover
from probe.lab.cloud import FaultProxy, seed_minimal_region, start_cloud

REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
           "ap-southeast-1", "ap-southeast-2", "ap-northeast-1")


def _isolate_environment() -> None:
    """Emulator credentials only: no real profile, no instance metadata."""
    empty = tempfile.mkdtemp(prefix="tlsprobe-bench-aws-")
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGIONS[0],
                      AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=f"{empty}/config",
                      AWS_SHARED_CREDENTIALS_FILE=f"{empty}/credentials")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)


def _timed(url: str, regions: tuple[str, ...], workers: int) -> tuple[float, int, int]:
    started = time.perf_counter()
    result = discover(AwsOptions(endpoint_url=url, regions=regions, max_workers=workers))
    elapsed = time.perf_counter() - started
    if result.errors:
        raise SystemExit(f"discovery errors: {result.errors[0].error}")
    return elapsed, len(result.targets), len(result.scopes)


def _serve_cloud(conn: Connection) -> None:
    _isolate_environment()
    with start_cloud() as cloud:
        for region in REGIONS:
            seed_minimal_region(cloud.endpoint_url, region)
        conn.send(cloud.endpoint_url)
        conn.recv()  # until the parent says stop


def _serve_proxy(conn: Connection, upstream: str, delay: float) -> None:
    with FaultProxy(upstream, delay_s=delay) as proxy:
        conn.send(proxy.url)
        conn.recv()
        conn.send(proxy.requests)


def _start(target: Callable[..., object], *args: object) -> tuple[BaseProcess, Connection, object]:
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=target, args=(theirs, *args), daemon=True)
    process.start()
    if not ours.poll(300):
        process.terminate()
        raise SystemExit("emulator did not start")
    return process, ours, ours.recv()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.1, help="seconds added to every API call")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-workers", type=int, default=32)
    args = parser.parse_args()
    _isolate_environment()
    cloud, cloud_conn, moto_url = _start(_serve_cloud)
    proxy, proxy_conn, proxy_url = _start(_serve_proxy, moto_url, args.delay)
    try:
        _timed(str(moto_url), REGIONS, args.max_workers)  # warm-up: moto loads its backends lazily
        one = [_timed(str(proxy_url), REGIONS[:1], args.max_workers) for _ in range(args.repeat)]
        ten = [_timed(str(proxy_url), REGIONS, args.max_workers) for _ in range(args.repeat)]
        proxy_conn.send("stop")
        calls = proxy_conn.recv()
    finally:
        for conn, process in ((proxy_conn, proxy), (cloud_conn, cloud)):
            if process.is_alive():
                conn.send("stop")
                process.join(timeout=10)
                if process.is_alive():
                    process.terminate()
    one_s = statistics.median(t for t, _, _ in one)
    ten_s = statistics.median(t for t, _, _ in ten)
    print(f"injected latency per API call: {args.delay * 1000:.0f} ms; max_workers {args.max_workers}; "
          f"{calls} proxied calls in total")
    print(f"1 region  : {one_s:6.2f} s (median of {args.repeat}; {one[0][1]} targets, {one[0][2]} scopes)")
    print(f"10 regions: {ten_s:6.2f} s (median of {args.repeat}; {ten[0][1]} targets, {ten[0][2]} scopes)")
    print(f"ratio 10/1: {ten_s / one_s:.2f}x (goal <= 3x)")


if __name__ == "__main__":
    main()
