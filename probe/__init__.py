"""tlsprobe: sweep TLS endpoints, judge them against an encryption policy, remember and alert.

The library in one call::

    import probe
    document = probe.scan(["example.com"])            # a ScanDocument (the JSON document, typed)
    for endpoint in document.endpoints:
        print(endpoint.endpoint, endpoint.compliant, [f.rule for f in endpoint.findings])

`scan_async`, `iter_scan` and `aiter_scan` scan the same way; `discover` lists a cloud estate's endpoints and
`sweep` runs discovery, scan, store, diff and alerts as `tlsprobe sweep` does.
"""

from importlib.metadata import PackageNotFoundError, version

# The subpackage probe.scan is imported first, so that the public function `scan` bound below is what
# `probe.scan` names from then on (importing a subpackage for the first time rebinds its parent's attribute).
import probe.scan as _scan_package  # noqa: F401
from probe.api import SweepResult, aiter_scan, discover, iter_scan, scan, scan_async, sweep
from probe.app.job import ProgressEvent
from probe.document import EndpointReport, ScanDocument
from probe.errors import InputError, TlsProbeError
from probe.models import Finding, Severity, Target

try:
    __version__ = version("tlsprobe")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "EndpointReport",
    "Finding",
    "InputError",
    "ProgressEvent",
    "ScanDocument",
    "Severity",
    "SweepResult",
    "Target",
    "TlsProbeError",
    "__version__",
    "aiter_scan",
    "discover",
    "iter_scan",
    "scan",
    "scan_async",
    "sweep",
]
