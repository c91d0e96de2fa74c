"""Scan and judge: the engine's observations turned into EndpointResults, streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date

from probe.models import EndpointResult, Target, Waiver
from probe.policy import Profile, judge
from probe.scan.engine import Engine


async def scan_and_judge(
    engine: Engine,
    targets: Iterable[Target],
    profile: Profile,
    waivers: Sequence[Waiver] = (),
    *,
    today: date,
) -> AsyncIterator[EndpointResult]:
    """Yield each endpoint's judged result as soon as its scan completes."""
    async for observation in engine.run(targets):
        yield judge(observation, profile, waivers, today=today)
