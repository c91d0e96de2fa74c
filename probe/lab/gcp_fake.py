"""An emulated Google Cloud API (Compute Engine v1, Cloud KMS v1, Resource Manager v3) for tests and the lab: the
fixture estate (probe.lab.fixtures.gcp) served over HTTPS on loopback, strict where the service is:

- every request needs `Authorization: Bearer <token>` (401 UNAUTHENTICATED otherwise);
- only the documented API versions' paths exist (compute/v1, v1 for KMS, v3 for projects); anything else is 404;
- lists page with `nextPageToken` / `pageToken`;
- project DENIED answers 403 PERMISSION_DENIED, project LEGACY has the Compute Engine API disabled (403 with the
  SERVICE_DISABLED reason) and throttles Cloud KMS once (429 with Retry-After); `throttle_always` makes a
  project's service answer 429 every time.

    with running_gcp(directory) as gcp:    # gcp.url, gcp.ca_file, gcp.token (GOOGLE_OAUTH_ACCESS_TOKEN)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from probe.lab.fake_api import ApiRequest, ApiResponse, FakeApi
from probe.lab.fixtures import gcp as fixtures

__all__ = ["TOKEN", "GcpFake", "running_gcp"]

TOKEN = "lab-gcp-token"  # what GOOGLE_OAUTH_ACCESS_TOKEN must hold for the fake (a fixture, not a secret)
PAGE_SIZE = 2
RETRY_AFTER = "1"
_COMPUTE = re.compile(r"^/compute/v1/projects/([^/]+)/(aggregated/(\w+)|global/targetSslProxies)$")
_LOCATIONS = re.compile(r"^/v1/projects/([^/]+)/locations$")
_RINGS = re.compile(r"^/v1/projects/([^/]+)/locations/([^/]+)/keyRings$")
_KEYS = re.compile(r"^/v1/(projects/([^/]+)/locations/[^/]+/keyRings/[^/]+)/cryptoKeys$")
_AGGREGATED = ("forwardingRules", "targetHttpsProxies", "sslPolicies", "sslCertificates")


def _error(status: int, state: str, message: str, *, reason: str | None = None,
           headers: dict[str, str] | None = None) -> ApiResponse:
    error: dict[str, Any] = {"code": status, "message": message, "status": state}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com"}]
        error["errors"] = [{"message": message, "domain": "usageLimits", "reason": "accessNotConfigured"}]
    return ApiResponse(status, {"error": error}, headers or {})


def _page(items: list[Any], token: str | None) -> tuple[list[Any], str | None]:
    start = int(token or 0)
    end = start + PAGE_SIZE
    return items[start:end], (str(end) if end < len(items) else None)


class GcpFake:
    """The request handler."""

    def __init__(self, token: str = TOKEN, *, throttle_always: tuple[tuple[str, str], ...] = ()) -> None:
        self.token = token
        self.compute = fixtures.compute()
        self.key_rings = fixtures.kms()
        self.crypto_keys = fixtures.crypto_keys()
        self.throttle_always = set(throttle_always)
        self._throttle_once = {(fixtures.LEGACY, "kms")}
        self._lock = threading.Lock()

    def __call__(self, request: ApiRequest) -> ApiResponse:
        if request.bearer() != self.token:
            return _error(401, "UNAUTHENTICATED", "Request is missing required authentication credential. Expected "
                          "OAuth 2 access token, login cookie or other valid authentication credential.")
        path, token = request.path, request.query.get("pageToken") or None
        if path == "/v3/projects:search":
            projects = [{"name": f"projects/{100000 + i}", "projectId": p, "state": "ACTIVE", "displayName": p,
                         "parent": "organizations/4242"} for i, p in enumerate(fixtures.PROJECTS)]
            items, next_token = _page(projects, token)
            return ApiResponse(200, {"projects": items, **({"nextPageToken": next_token} if next_token else {})})
        for pattern, service in ((_COMPUTE, "compute"), (_LOCATIONS, "kms"), (_RINGS, "kms"), (_KEYS, "kms")):
            match = pattern.match(path)
            if match:
                project = match.group(2) if pattern is _KEYS else match.group(1)
                refused = self._refused(project, service)
                if refused is not None:
                    return refused
                return self._compute(match, token) if service == "compute" else self._kms(pattern, match, token)
        return _error(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")

    def _refused(self, project: str, service: str) -> ApiResponse | None:
        if project == fixtures.DENIED:
            return _error(403, "PERMISSION_DENIED", f"Required '{service}.*.list' permission for 'projects/{project}'")
        if project == fixtures.LEGACY and service == "compute":
            return _error(403, "PERMISSION_DENIED", f"Compute Engine API has not been used in project {project} before "
                          "or it is disabled.", reason="SERVICE_DISABLED")
        throttled = _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests'.",
                           headers={"Retry-After": RETRY_AFTER})
        if (project, service) in self.throttle_always:
            return throttled
        with self._lock:
            if (project, service) in self._throttle_once:
                self._throttle_once.discard((project, service))
                return throttled
        return None

    def _compute(self, match: re.Match[str], token: str | None) -> ApiResponse:
        project, collection = match.group(1), match.group(3) or "targetSslProxies"
        scopes = self.compute.get(collection, {}) if project == fixtures.SHOP else {}
        if collection == "targetSslProxies":
            items, next_token = _page(list(scopes.get("global", [])), token)
            body: dict[str, Any] = {"kind": "compute#targetSslProxyList", "items": items}
        else:
            flat: list[tuple[str, dict[str, Any] | None]] = []
            for scope, listed in scopes.items():
                flat += [(scope, item) for item in listed] if listed else [(scope, None)]
            page, next_token = _page(flat, token)
            grouped: dict[str, Any] = {}
            for scope, item in page:
                entry = grouped.setdefault(scope, {})
                if item is None:
                    entry["warning"] = {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope "
                                        f"'{scope}' on this page."}
                else:
                    entry.setdefault(collection, []).append(item)
            body = {"kind": f"compute#{collection}AggregatedList", "items": grouped}
        if next_token:
            body["nextPageToken"] = next_token
        return ApiResponse(200, body)

    def _kms(self, pattern: re.Pattern[str], match: re.Match[str], token: str | None) -> ApiResponse:
        if pattern is _LOCATIONS:
            project = match.group(1)
            locations = [{"name": f"projects/{project}/locations/{loc}", "locationId": loc}
                         for loc in self.key_rings.get(project, {})]
            return ApiResponse(200, {"locations": locations})
        if pattern is _RINGS:
            project, location = match.group(1), match.group(2)
            if location not in self.key_rings.get(project, {}):
                return _error(404, "NOT_FOUND", f"Location {location} is not found or not supported.")
            items, next_token = _page(self.key_rings[project][location], token)
            return ApiResponse(200, {"keyRings": items, "totalSize": len(self.key_rings[project][location]),
                                     **({"nextPageToken": next_token} if next_token else {})})
        ring = match.group(1)
        if ring not in self.crypto_keys:
            return _error(404, "NOT_FOUND", f"KeyRing {ring} not found.")
        items, next_token = _page(self.crypto_keys[ring], token)
        return ApiResponse(200, {"cryptoKeys": items, "totalSize": len(self.crypto_keys[ring]),
                                 **({"nextPageToken": next_token} if next_token else {})})


@contextmanager
def running_gcp(directory: Path, token: str = TOKEN, *,
                throttle_always: tuple[tuple[str, str], ...] = ()) -> Iterator[FakeApi]:
    """The fake on a free loopback port; its CA in `directory/gcp-ca.pem`; `.token` is what it accepts."""
    with FakeApi(GcpFake(token, throttle_always=throttle_always), directory, name="gcp", token=token) as api:
        yield api
