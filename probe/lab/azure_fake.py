"""An emulated Azure Resource Manager for tests and the lab: the fixture estate (probe.lab.fixtures.azure) served
over HTTPS on loopback, as strict as the service where it matters:

- every request needs `Authorization: Bearer <token>` (401 AuthenticationFailed otherwise);
- each resource provider answers only its documented `api-version` (400 InvalidApiVersionParameter);
- lists page with an absolute `nextLink` ($skiptoken);
- one subscription is denied (403 AuthorizationFailed), one is throttled (429 with Retry-After), and Front Door
  (classic) of the main subscription is throttled once, then answers;
- an unknown path is 404.

    with running_azure(directory) as azure:    # azure.url, azure.ca_file, azure.token
        discover(provider="azure", azure_endpoint=azure.url, cloud_ca_file=azure.ca_file)  # AZURE_ACCESS_TOKEN
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from probe.lab.fake_api import ApiRequest, ApiResponse, FakeApi
from probe.lab.fixtures import azure as fixtures

__all__ = ["API_VERSIONS", "TOKEN", "AzureFake", "running_azure"]

TOKEN = "lab-azure-token"  # what AZURE_ACCESS_TOKEN must hold for the fake (not a secret: a fixture)
PAGE_SIZE = 2
RETRY_AFTER = "1"
# api-version per resource provider, as the SDKs of the `azure` extra send them (first match wins).
API_VERSIONS: tuple[tuple[str, str], ...] = (
    ("/providers/microsoft.network/frontdoors", "2025-10-01"),
    ("/providers/microsoft.network/", "2026-03-01"),
    ("/providers/microsoft.cdn/", "2026-10-01"),
    ("/providers/microsoft.apimanagement/", "2024-05-01"),
    ("/providers/microsoft.keyvault/", "2026-05-15"),
)
_SUBSCRIPTIONS_VERSION = "2022-12-01"
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, {"error": {"code": code, "message": message}}, headers or {})


def api_version(path: str) -> str | None:
    lowered = path.lower()
    if lowered == "/subscriptions":
        return _SUBSCRIPTIONS_VERSION
    return next((version for part, version in API_VERSIONS if part in lowered), None)


class AzureFake:
    """The request handler: fixture lists and resources by lower-cased path."""

    def __init__(
        self, token: str = TOKEN, *, throttle_once: tuple[str, ...] = ("microsoft.network/frontdoors",)
    ) -> None:
        self.token = token
        self.collections = {k.lower(): v for k, v in fixtures.collections().items()}
        self.resources = {k.lower(): v for k, v in fixtures.resources().items()}
        self._throttle_once = {f"/subscriptions/{fixtures.SUBSCRIPTION}/providers/{p}" for p in throttle_once}
        self._lock = threading.Lock()

    def __call__(self, request: ApiRequest) -> ApiResponse:
        if request.bearer() != self.token:
            return _error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing or the token is not valid.",
            )
        path = request.path.rstrip("/")
        lowered = path.lower()
        expected = api_version(path)
        match = _SUBSCRIPTION.match(path)
        subscription = match.group(1) if match else None
        if expected is not None and subscription == fixtures.DENIED:
            return _error(
                403,
                "AuthorizationFailed",
                "The client 'tlsprobe-audit' does not have authorization to "
                f"perform action 'read' over scope '/subscriptions/{subscription}' or the scope is invalid.",
            )
        if expected is None or (lowered not in self.collections and lowered not in self.resources):
            return _error(404, "ResourceNotFound", f"The resource '{path}' was not found.")
        given = request.query.get("api-version")
        if given != expected:
            return _error(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{given}' is invalid. The supported versions are '{expected}'.",
            )
        throttled = self._throttled(subscription, lowered)
        if throttled is not None:
            return throttled
        if lowered in self.resources:
            return ApiResponse(200, self.resources[lowered])
        return self._page(request, path, self.collections[lowered], expected)

    def _throttled(self, subscription: str | None, lowered: str) -> ApiResponse | None:
        headers = {"Retry-After": RETRY_AFTER, "x-ms-ratelimit-remaining-subscription-reads": "0"}
        message = "The request is being throttled."
        if subscription == fixtures.THROTTLED and "/microsoft.apimanagement/" in lowered:
            return _error(429, "TooManyRequests", message, headers)
        with self._lock:
            if lowered in self._throttle_once:
                self._throttle_once.discard(lowered)
                return _error(429, "TooManyRequests", message, headers)
        return None

    @staticmethod
    def _page(request: ApiRequest, path: str, items: list[dict[str, Any]], version: str) -> ApiResponse:
        try:
            start = int(request.query.get("$skiptoken", "0"))
        except ValueError:
            return _error(400, "InvalidSkipToken", "The $skiptoken is not valid.")
        body: dict[str, Any] = {"value": items[start : start + PAGE_SIZE]}
        if start + PAGE_SIZE < len(items):
            body["nextLink"] = f"{request.base_url}{path}?api-version={version}&$skiptoken={start + PAGE_SIZE}"
        return ApiResponse(200, body)


@contextmanager
def running_azure(directory: Path, token: str = TOKEN) -> Iterator[FakeApi]:
    """The fake on a free loopback port; its CA in `directory/azure-ca.pem`; `.token` is what it accepts."""
    with FakeApi(AzureFake(token), directory, name="azure", token=token) as api:
        yield api
