"""Fixtures for the bench tests: a keep-alive moto server behind the latency proxy, stopped after use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from probe.bench.kms_suite import Bed, KMSConfig, kms_bed


@pytest.fixture(scope="module")
def bed() -> Iterator[Bed]:
    with kms_bed(KMSConfig(rtt_ms=2.0)) as ready:
        yield ready
