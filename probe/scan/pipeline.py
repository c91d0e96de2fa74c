"""Scan and judge: the engine's observations turned into EndpointResults, streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date
from functools import partial

from probe.models import EndpointResult, Observation, Target, Waiver
from probe.policy import Profile, judge
from probe.scan.engine import Engine

Judge = Callable[[Observation], EndpointResult]


def policy_judge(profile: Profile, waivers: Sequence[Waiver] = (), *, today: date) -> Judge:
    """The plain policy judgement of an observation (what `scan` uses)."""
    return partial(judge, profile=profile, waivers=waivers, today=today)


async def scan_and_judge(engine: Engine, targets: Iterable[Target], judge_one: Judge) -> AsyncIterator[EndpointResult]:
    """Yield each endpoint's judged result as soon as its scan completes."""
    async for observation in engine.run(targets):
        yield judge_one(observation)
