"""`python -m probe.lab.cloud_daemon STATE_DIR`: the emulated AWS account, Azure and GCP of `lab up --cloud`.

Runs moto in server mode on 127.0.0.1, seeds the fleet, starts a lab TLS server for each reachable seeded
endpoint whose certificates name its host (probe.lab.cloud_servers), writes STATE_DIR/cloud.json (endpoint
URL, regions, --connect-to map, the manifest with each served endpoint's ground truth, pid) and serves until
SIGTERM, then stops those servers. The emulated Azure and GCP APIs and their endpoints' servers run beside it
(probe.lab.multicloud; `estates` in cloud.json).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

from probe.lab.cloud import FLEET_REGIONS, seed_fleet, start_cloud
from probe.lab.cloud_control import CLOUD_STATE
from probe.lab.cloud_servers import serving_fleet
from probe.lab.manager import load_state
from probe.lab.multicloud import running_estates


def main(state_dir: Path) -> None:
    lab = load_state(state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with (start_cloud() as cloud, serving_fleet(seed_fleet(cloud.endpoint_url), lab) as manifest,
          running_estates(state_dir, lab) as estates):
        record = {
            "pid": os.getpid(),
            "endpoint_url": cloud.endpoint_url,
            "regions": list(FLEET_REGIONS),
            "connect_to": manifest.connect_to(),
            "manifest": manifest.model_dump(mode="json"),
            "estates": estates.model_dump(mode="json"),  # the emulated Azure and GCP APIs (probe.lab.multicloud)
        }
        path = state_dir / CLOUD_STATE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        tmp.replace(path)
        stop.wait()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
