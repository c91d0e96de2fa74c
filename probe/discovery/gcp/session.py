"""Credentials, clients, retries and error text for Google Cloud discovery. The SDK is imported here.

Credentials: a bearer token from $GOOGLE_OAUTH_ACCESS_TOKEN when set; else, with --gcp-endpoint, anonymous
credentials (nothing asks the metadata server); else google-auth's default credentials, whose absence is an
input error. Trust: Google's clients have no CA option, so --cloud-ca-file sets REQUESTS_CA_BUNDLE while the
discovery runs. Cloud KMS and Resource Manager are built with transport="rest" (their default, gRPC, would
ignore that bundle); Compute's clients are REST already.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import GoogleAuthError

from probe.discovery.models import GcpOptions
from probe.errors import InputError

__all__ = ["TOKEN_ENV", "GcpSession", "Throttled", "describe_error", "link_path", "message_dict"]

T = TypeVar("T")
TOKEN_ENV = "GOOGLE_OAUTH_ACCESS_TOKEN"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
_NO_CREDENTIALS = ("no Google Cloud credentials found (gcloud auth application-default login, "
                   f"GOOGLE_APPLICATION_CREDENTIALS, an attached service account, or a bearer token in {TOKEN_ENV})")


class Throttled(Exception):
    """A call still answered 429 after every attempt, each Retry-After honoured."""

    def __init__(self, attempts: int, retry_after: str | None) -> None:
        super().__init__(f"throttled (HTTP 429) after {attempts} attempts, Retry-After {retry_after or '-'} s "
                         "honoured; gave up")


def credentials(options: GcpOptions, environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials to use; InputError (exit 2, one line) when there are none."""
    env = os.environ if environ is None else environ
    token = env.get(TOKEN_ENV, "").strip()
    if token:
        from google.oauth2.credentials import Credentials as TokenCredentials

        return TokenCredentials(token=token)  # type: ignore[no-untyped-call]
    if options.endpoint:
        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        found, _ = google.auth.default(scopes=[CLOUD_PLATFORM])
    except DefaultCredentialsError:
        raise InputError(_NO_CREDENTIALS) from None
    result: Credentials = found
    return result


def _retry_after(exc: gexc.GoogleAPICallError) -> str | None:
    headers = getattr(exc.response, "headers", None) or {}
    value = headers.get("Retry-After")
    return str(value) if value is not None else None


def describe_error(exc: BaseException) -> str:
    """One line for a DiscoveryError: HTTP status, Google's reason and message (never a token)."""
    if isinstance(exc, gexc.GoogleAPICallError):
        reason = exc.reason or getattr(exc, "grpc_status_code", None) or ""
        text = f"HTTP {exc.code}" + (f" {reason}" if reason else "") + f": {exc.message}"
        if exc.code == 404 or exc.reason == "SERVICE_DISABLED":
            text = f"API disabled or not found ({text})"
    elif isinstance(exc, Throttled):
        text = str(exc)
    elif isinstance(exc, GoogleAuthError):
        text = f"HTTP 401 (the credentials were refused): {type(exc).__name__}: {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def link_path(url: str | None) -> str:
    """A Compute reference (`https://www.googleapis.com/compute/v1/projects/...`) as its resource path
    (`projects/...`); parsed, never fetched."""
    text = str(url or "")
    for marker in ("/compute/v1/", "/compute/beta/", "/compute/alpha/"):
        if marker in text:
            return text.split(marker, 1)[1]
    return text.removeprefix("/")


def message_dict(message: Any) -> dict[str, Any]:
    """A proto-plus message as the REST API's JSON (camelCase keys, enum names)."""
    data: dict[str, Any] = type(message).to_dict(message, preserving_proto_field_name=False,
                                                  use_integers_for_enums=False)
    return data


class GcpSession:
    """Builds Google Cloud clients that share the credentials and the endpoint, and runs calls with retries."""

    def __init__(self, options: GcpOptions, creds: Credentials) -> None:
        self.options = options
        self.credentials = creds

    @contextlib.contextmanager
    def trust(self) -> Iterator[None]:
        """REQUESTS_CA_BUNDLE set to --cloud-ca-file for the duration (no client option exists)."""
        if not self.options.ca_file:
            yield
            return
        before = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = self.options.ca_file
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = before

    def client(self, factory: Callable[..., T], *, rest: bool = False) -> T:
        kwargs: dict[str, Any] = {"credentials": self.credentials}
        if self.options.endpoint:
            kwargs["client_options"] = {"api_endpoint": self.options.endpoint.rstrip("/")}
        if rest:
            kwargs["transport"] = "rest"
        return factory(**kwargs)

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()` (which must read every page it needs), again after each 429's Retry-After (at most
        `max_retry_after` seconds), `max_attempts` times at most; Throttled when it never got through."""
        attempts = self.options.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return fn()
            except gexc.TooManyRequests as exc:
                retry_after = _retry_after(exc)
                if attempt == attempts:
                    raise Throttled(attempts, retry_after) from None
                try:
                    wait = float(retry_after) if retry_after is not None else 2.0 ** attempt
                except ValueError:
                    wait = 2.0 ** attempt
                time.sleep(min(max(wait, 0.0), self.options.max_retry_after))
        raise AssertionError("unreachable")

    def projects(self) -> list[str]:
        """The given projects, or every active project the credentials see; InputError when they cannot be
        listed (rejected credentials say so)."""
        if self.options.projects:
            return list(dict.fromkeys(self.options.projects))
        from google.cloud import resourcemanager_v3

        client = self.client(resourcemanager_v3.ProjectsClient, rest=True)
        try:
            found = self.call(lambda: [message_dict(p) for p in client.search_projects(request={})])
        except (gexc.Unauthenticated, GoogleAuthError) as exc:
            raise InputError(f"Google Cloud rejected the credentials: {describe_error(exc)}") from None
        except (gexc.GoogleAPICallError, Throttled) as exc:
            raise InputError(f"cannot list GCP projects: {describe_error(exc)}") from None
        return [str(p["projectId"]) for p in found if p.get("projectId") and p.get("state", "ACTIVE") == "ACTIVE"]
