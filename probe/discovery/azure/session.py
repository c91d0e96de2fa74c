"""Credentials, clients and error text for Azure discovery. Read-only calls only; the SDK is imported here.

Credentials: a static bearer token from $AZURE_ACCESS_TOKEN when set (and required with --azure-endpoint, so
that nothing asks the instance metadata address), else azure-identity's DefaultAzureCredential chain, tried
once before any listing so that "no credentials" is an input error, never "nothing found".
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

from probe.discovery.models import AzureOptions
from probe.errors import InputError

__all__ = [
    "MANAGEMENT_SCOPE",
    "STATIC_TOKEN_ENV",
    "AzureSession",
    "StaticTokenCredential",
    "describe_error",
    "rest",
]

STATIC_TOKEN_ENV = "AZURE_ACCESS_TOKEN"
MANAGEMENT_URL = "https://management.azure.com"
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
_NO_CREDENTIALS = (
    "no Azure credentials found (az login, AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, a managed identity, "
    f"or a bearer token in {STATIC_TOKEN_ENV})"
)


class StaticTokenCredential:
    """A bearer token given by the caller (`$AZURE_ACCESS_TOKEN`); never shown by repr."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<hidden>)"


def credential(options: AzureOptions, environ: Mapping[str, str] | None = None) -> TokenCredential:
    """The credential to use; InputError (exit 2, one line) when there is none."""
    env = os.environ if environ is None else environ
    token = env.get(STATIC_TOKEN_ENV, "").strip()
    if token:
        return StaticTokenCredential(token)
    if options.endpoint:
        raise InputError(f"--azure-endpoint needs a bearer token in {STATIC_TOKEN_ENV} "
                         "(the default credential chain would ask the cloud's metadata address)")
    from azure.identity import CredentialUnavailableError, DefaultAzureCredential

    chain = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    try:
        chain.get_token(MANAGEMENT_SCOPE)
    except (CredentialUnavailableError, ClientAuthenticationError):
        raise InputError(_NO_CREDENTIALS) from None
    return chain


def describe_error(exc: BaseException, attempts: int | None = None) -> str:
    """One line for a DiscoveryError: HTTP status, Azure's error code and message (never a token)."""
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code = getattr(exc.error, "code", None) if exc.error is not None else None
        message = getattr(exc.error, "message", None) if exc.error is not None else None
        text = f"HTTP {status} {code}" if code else f"HTTP {status}"
        if status == 429:
            headers = getattr(exc.response, "headers", None) or {}
            retry_after = headers.get("Retry-After")
            tries = f" after {attempts} attempts" if attempts else ""
            text = f"throttled (HTTP 429){tries}, Retry-After {retry_after or '-'} s honoured; gave up"
        elif message:
            text += f": {message}"
    elif isinstance(exc, AzureError):
        text = f"{type(exc).__name__}: {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def rest(model: Any) -> dict[str, Any]:
    """An SDK model as the REST API's JSON (camelCase keys, `properties` nested), whatever the SDK's generation."""
    as_dict = getattr(model, "as_dict", None)
    if as_dict is not None and isinstance(model, Mapping):  # typespec-generated models: a view of the JSON
        data: dict[str, Any] = as_dict()
        return data
    if hasattr(model, "serialize"):  # msrest-generated models (azure-mgmt-apimanagement)
        serialised: dict[str, Any] = model.serialize(keep_readonly=True)
        return serialised
    return dict(model)


class AzureSession:
    """Builds management clients that share the credential, the base URL, the trust and the retry policy."""

    def __init__(self, options: AzureOptions, cred: TokenCredential) -> None:
        self.options = options
        self.credential = cred
        self.base_url = (options.endpoint or MANAGEMENT_URL).rstrip("/")

    def client_kwargs(self) -> dict[str, Any]:
        """azure-core pipeline settings: retries honour Retry-After (429, 5xx); `max_attempts` tries at most."""
        options = self.options
        return {
            "base_url": self.base_url,
            "credential_scopes": [MANAGEMENT_SCOPE],
            "connection_verify": options.ca_file or True,
            "retry_total": options.max_attempts - 1,
            "retry_backoff_factor": 0.2,
            "retry_backoff_max": options.max_retry_after,
            "connection_timeout": min(options.timeout, 10.0),
            "read_timeout": options.timeout,
            "user_agent": "tlsprobe-discovery",
        }

    def client(self, kind: str, subscription: str | None = None) -> Any:
        """A client of one management API: network, cdn, frontdoor, apimanagement, keyvault or subscriptions."""
        kwargs = self.client_kwargs()
        if kind == "subscriptions":
            from azure.mgmt.resource.subscriptions import SubscriptionClient

            return SubscriptionClient(self.credential, **kwargs)
        if subscription is None:
            raise ValueError(f"{kind} client needs a subscription")
        if kind == "network":
            from azure.mgmt.network import NetworkManagementClient

            return NetworkManagementClient(self.credential, subscription, **kwargs)
        if kind == "cdn":
            from azure.mgmt.cdn import CdnManagementClient

            return CdnManagementClient(self.credential, subscription, **kwargs)
        if kind == "frontdoor":
            from azure.mgmt.frontdoor import FrontDoorManagementClient

            return FrontDoorManagementClient(self.credential, subscription, **kwargs)
        if kind == "apimanagement":
            from azure.mgmt.apimanagement import ApiManagementClient

            return ApiManagementClient(self.credential, subscription, **kwargs)
        if kind == "keyvault":
            from azure.mgmt.keyvault import KeyVaultManagementClient

            return KeyVaultManagementClient(self.credential, subscription, **kwargs)
        raise ValueError(f"unknown Azure client {kind!r}")

    def subscriptions(self) -> list[str]:
        """The given subscriptions, or every one the credential sees; InputError when they cannot be listed."""
        if self.options.subscriptions:
            return list(dict.fromkeys(self.options.subscriptions))
        try:
            listed = [rest(s) for s in self.client("subscriptions").subscriptions.list()]
        except ClientAuthenticationError as exc:
            raise InputError(f"Azure rejected the credentials: {describe_error(exc)}") from None
        except AzureError as exc:
            raise InputError(f"cannot list Azure subscriptions: {describe_error(exc)}") from None
        return [str(s["subscriptionId"]) for s in listed if s.get("subscriptionId") and s.get("state") != "Disabled"]
