"""Fixtures: an isolated AWS environment (no real credentials, no IMDS) and a seeded moto fleet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from probe.lab.cloud import FleetManifest, seed_fleet, start_cloud

_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL")
LAB_SERVERS = [("127.0.31.1", 9443), ("127.0.31.2", 9443)]


def _isolate(mp: pytest.MonkeyPatch, tmp: str, *, credentials: bool) -> None:
    for name in _CLEARED:
        mp.delenv(name, raising=False)
    mp.setenv("AWS_CONFIG_FILE", f"{tmp}/no-config")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp}/no-credentials")
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask 169.254.169.254
    mp.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    if credentials:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    else:
        mp.delenv("AWS_ACCESS_KEY_ID", raising=False)
        mp.delenv("AWS_SECRET_ACCESS_KEY", raising=False)


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, str(tmp_path_factory.mktemp("aws")), credentials=True)
        yield


@pytest.fixture
def no_credentials(tmp_path: object) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, str(tmp_path), credentials=False)
        yield


@pytest.fixture(scope="module")
def fleet(aws_env: None) -> Iterator[FleetManifest]:
    """moto in server mode on 127.0.0.1 with the seeded fleet (three regions)."""
    with start_cloud() as cloud:
        yield seed_fleet(cloud.endpoint_url, LAB_SERVERS)
