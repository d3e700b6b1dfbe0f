"""Model limits for a whole Ray cluster: one actor holds them, every row on every node asks it.

A call takes a *lease*: a slot among the calls in flight (the batch's ``concurrency``), a slot
of its model (the model's ``concurrency``) and, for a rate-limited model, its start spaced
``1 / rate_limit`` seconds after the previous one. The lease names the row runner that took it,
so the leases of a runner that died (a killed worker, a lost node) are given back by the
driver (:meth:`Limits.release_owner`) instead of being held for ever.

This module imports Ray only in :func:`remote_limits`; the actor's logic is plain asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any


class Limits:
    """The state of the limits actor (one per batch)."""

    def __init__(self, total: int, models: dict[str, tuple[int | None, float | None]]) -> None:
        self.total = asyncio.Semaphore(max(1, total))
        self.models = {n: asyncio.Semaphore(c) for n, (c, _) in models.items() if c}
        self.interval = {n: 1.0 / r for n, (_, r) in models.items() if r}
        self.next_start: dict[str, float] = {}
        self.leases: dict[int, tuple[str, str]] = {}  # lease -> (model, owner)
        self.ids = itertools.count(1)
        self.starts: list[float] = []  # when each rate-limited call started (for the tests)

    async def acquire(self, model: str, owner: str) -> int:
        sem = self.models.get(model)
        if sem is not None:  # the model first, so that waiting holds no global slot
            await sem.acquire()
        await self.total.acquire()
        interval = self.interval.get(model)
        if interval is not None:
            now = time.monotonic()
            start = max(now, self.next_start.get(model, 0.0))
            self.next_start[model] = start + interval
            if start > now:
                await asyncio.sleep(start - now)
            self.starts.append(time.time())
        lease = next(self.ids)
        self.leases[lease] = (model, owner)
        return lease

    def release(self, lease: int) -> None:
        held = self.leases.pop(lease, None)
        if held is None:
            return
        self.total.release()
        sem = self.models.get(held[0])
        if sem is not None:
            sem.release()

    def release_owner(self, owner: str) -> int:
        """Give back every lease of a runner that died; how many there were."""
        mine = [lease for lease, (_, who) in self.leases.items() if who == owner]
        for lease in mine:
            self.release(lease)
        return len(mine)

    def held(self) -> int:
        return len(self.leases)

    def call_starts(self) -> list[float]:
        return list(self.starts)


class RemoteLimits:
    """A row's :class:`~dramaturg.run.limits.CallLimits` on a node: the node's share of the
    calls in flight, held here; and, for the models with limits of their own (``limited``:
    a ``concurrency`` or a ``rate_limit``), a lease from the cluster's limits actor. A call to
    a model without limits makes no round trip."""

    def __init__(self, actor: Any, owner: str, share: int, limited: set[str]) -> None:
        self.actor = actor
        self.owner = owner
        self.share = asyncio.Semaphore(max(1, share))
        self.limited = limited

    @contextlib.asynccontextmanager
    async def slot(self, model: str) -> AsyncIterator[None]:
        if model not in self.limited:
            async with self.share:
                yield
            return
        lease = await self.actor.acquire.remote(model, self.owner)
        try:
            async with self.share:
                yield
        finally:  # not awaited: the next call need not wait for the release's round trip
            self.actor.release.remote(lease)


def remote_limits(total: int, models: dict[str, tuple[int | None, float | None]]) -> Any:
    """The limits actor, started (on the driver's node, where it lives as long as the batch)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    actor_class = ray.remote(Limits)
    return actor_class.options(
        num_cpus=0,
        max_concurrency=10_000,
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
    ).remote(total, models)
