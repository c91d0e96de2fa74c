"""Start and stop the emulated AWS account of `tlsprobe lab up --cloud` (a moto daemon process)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from probe.errors import TlsProbeError

CLOUD_STATE = "cloud.json"  # written by probe.lab.cloud_daemon in the lab's state directory

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class CloudLabError(TlsProbeError):
    """The emulated account did not start."""


def cloud_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / CLOUD_STATE
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def start_cloud_daemon(state_dir: Path, timeout: float = 60.0) -> dict[str, Any]:
    """Start moto, seed the fleet onto the running lab, wait for cloud.json; return its content."""
    stop_cloud_daemon(state_dir)
    log = (state_dir / "logs").joinpath("cloud.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **FAKE_CREDENTIALS}
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "probe.lab.cloud_daemon", str(state_dir)],
            stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = cloud_state(state_dir)
        if state is not None and state.get("pid") == process.pid:
            return state
        if process.poll() is not None:
            raise CloudLabError(f"emulated AWS account failed to start (see {log})")
        time.sleep(0.2)
    process.kill()
    raise CloudLabError(f"emulated AWS account did not come up within {timeout:g} s (see {log})")


def stop_cloud_daemon(state_dir: Path) -> bool:
    """Stop the moto daemon if one runs for this state directory, and the lab servers it started for the
    seeded endpoints (it stops them itself on SIGTERM; this catches a daemon that had to be killed); True
    when the daemon was stopped."""
    state = cloud_state(state_dir)
    if state is None:
        return False
    try:
        stopped = _stop_daemon(state)
    finally:
        _stop_served(state)
    (state_dir / CLOUD_STATE).unlink(missing_ok=True)
    return stopped


def _stop_served(state: dict[str, Any]) -> None:
    from probe.lab.manager import EndpointState, stop_endpoints  # not at import: the CLI loads this module

    served = (state.get("manifest") or {}).get("served") or {}
    served_estates = ((state.get("estates") or {}).get("manifest") or {}).get("served") or {}
    stop_endpoints(EndpointState.model_validate(item) for item in [*served.values(), *served_estates.values()])


def _stop_daemon(state: dict[str, Any]) -> bool:
    pid = int(state.get("pid", 0))
    stopped = False
    if pid > 0 and _is_daemon(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
            stopped = True
        for _ in range(50):
            if not _is_daemon(pid):
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    return stopped


def _is_daemon(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"probe.lab.cloud_daemon" in cmdline


def sweep_hint(state_dir: Path) -> str:
    """The sweep command line for the emulated account (what `make demo` runs)."""
    state = cloud_state(state_dir) or {}
    connect = " ".join(f"--connect-to {item}" for item in state.get("connect_to", []))
    env, clouds = "", ""
    if state.get("estates"):  # the emulated Azure and GCP of the same daemon: one sweep of the three clouds
        from probe.lab.multicloud import Estates

        env, clouds = Estates.model_validate(state["estates"]).hint()
        env, clouds = f" {env}", f" {clouds}"
    return (
        f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing{env} tlsprobe sweep --provider aws{clouds} "
        f"--endpoint-url {state.get('endpoint_url', 'URL')} --regions {','.join(state.get('regions', []))} "
        f"--ca-file {state_dir / 'ca.pem'} --dns-server static {connect}"
    )
