"""Credentials, accounts, regions and thread-safe clients for AWS discovery. Read-only calls only."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from probe.discovery.models import AwsOptions
from probe.errors import InputError
from probe.models import DiscoveryError

__all__ = ["Account", "ClientFactory", "base_session", "describe_error", "error_code", "pages"]

ClientHook = Callable[[Any], None]
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Account:
    """One account to discover, with the session that reaches it."""

    account_id: str
    session: boto3.Session


def error_code(exc: BaseException) -> str:
    """AWS error code ('AccessDenied', 'Throttling' …) or the exception's class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def describe_error(exc: BaseException) -> str:
    """One line for a DiscoveryError: code and AWS's message (never credentials)."""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message") or "").replace("\n", " ")
        text = f"{error_code(exc)}: {message}" if message else error_code(exc)
    else:
        text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text[:300]


def base_session(options: AwsOptions) -> boto3.Session:
    """The caller's session; InputError (exit 2) when the profile is unknown or there are no credentials."""
    try:
        session = boto3.Session(profile_name=options.profile)
        credentials = session.get_credentials()
    except ProfileNotFound:
        raise InputError(f"AWS profile {options.profile!r} not found") from None
    except BotoCoreError as exc:
        raise InputError(f"AWS credentials unusable: {type(exc).__name__}") from None
    if credentials is None:
        raise InputError("no AWS credentials found (use --aws-profile, AWS_PROFILE or the AWS_* environment)")
    return session


class ClientFactory:
    """Creates clients under a lock (boto3 sessions are not thread-safe) and caches them; clients are."""

    def __init__(self, options: AwsOptions, client_hook: ClientHook | None = None) -> None:
        self._options = options
        self._hook = client_hook
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, str, str], Any] = {}
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": options.max_attempts},
            connect_timeout=options.connect_timeout, read_timeout=options.read_timeout,
            max_pool_connections=max(10, options.max_workers), user_agent_extra="tlsprobe-discovery",
        )

    def client(self, session: boto3.Session, service: str, region: str) -> Any:
        key = (id(session), service, region)
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                found = session.client(service, region_name=region, endpoint_url=self._options.endpoint_url,
                                       config=self._config)
                if self._hook is not None:
                    self._hook(found)
                self._cache[key] = found
            return found

    def home_region(self, session: boto3.Session) -> str:
        return session.region_name or DEFAULT_REGION

    def caller_account(self, session: boto3.Session) -> str:
        """Account id of the caller; InputError when AWS rejects the credentials or cannot be reached."""
        try:
            identity = self.client(session, "sts", self.home_region(session)).get_caller_identity()
        except (ClientError, BotoCoreError) as exc:
            raise InputError(f"cannot reach AWS STS or use the credentials: {error_code(exc)}") from None
        return str(identity["Account"])

    def assume(self, session: boto3.Session, role_arn: str, external_id: str | None) -> boto3.Session:
        """A session for an assumed role (raises ClientError/BotoCoreError to the caller)."""
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": self._options.session_name}
        if external_id:
            params["ExternalId"] = external_id
        creds = self.client(session, "sts", self.home_region(session)).assume_role(**params)["Credentials"]
        with self._lock:
            return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                 aws_session_token=creds["SessionToken"], region_name=self.home_region(session))

    def enabled_regions(self, account: Account) -> list[str]:
        """Regions enabled for the account (opted in or not requiring opt-in), via EC2 DescribeRegions."""
        ec2 = self.client(account.session, "ec2", self.home_region(account.session))
        response = ec2.describe_regions(
            Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}])
        return sorted(r["RegionName"] for r in response["Regions"])


def pages(client: Any, operation: str, result_key: str, **params: Any) -> Iterator[Any]:
    """Every item of a listing, following pagination (botocore paginator where one exists)."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            yield from _dig(page, result_key)
    else:
        yield from _dig(getattr(client, operation)(**params), result_key)


def _dig(page: Any, dotted: str) -> list[Any]:
    """page["A"]["B"] for "A.B"; [] when any part is missing."""
    value = page
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return list(value or [])


def account_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else "unknown"


def partition_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"


def account_error(account: str | None, service: str, exc: BaseException, region: str | None = None) -> DiscoveryError:
    return DiscoveryError(provider="aws", account=account, region=region, service=service, error=describe_error(exc))
