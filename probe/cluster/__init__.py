"""Scale-out on Dask distributed: `--cluster local[:N]`, `--cluster tcp://HOST:8786`, `--cluster tls://HOST:PORT`.

The client (this process) reads the targets, resolves them, assigns each to a stream by its address and sends
chunks of targets to the cluster's workers, which scan them with the same engine as a single-process run and
return plain observations; the client judges them and is the store's only writer. Layout:

- `spec.py`: the `--cluster` value parsed (`ClusterSpec`), no Dask import;
- `chunk.py`: the work unit (`Chunk`) and `scan_chunk`, the function a worker runs (no Dask import either);
- `streams.py`: streams by address (`stream_of`), per-stream buffers, the dispatch rule;
- `client.py`: the Dask side (imported only when `--cluster` is given): connect or start the cluster,
  check the workers' tlsprobe, keep a bounded window of chunks in flight, turn worker deaths into errors.

`import probe` and `tlsprobe --help` import none of Dask: only `client.py` does, when a run uses a cluster.
"""

from __future__ import annotations

from probe.cluster.spec import ClusterError, ClusterSpec, parse_cluster

__all__ = ["ClusterError", "ClusterSpec", "parse_cluster"]
