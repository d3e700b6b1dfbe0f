"""The step cache of a batch on Ray: one SQLite index on the driver's machine (its WAL mode does
not work on a network filesystem), reached by the row runners through one actor on the driver's
node. The runners' calls read and write it as they would a folder of their own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..store.cache import Entry, StepCache


class CacheServer:
    """The actor's state: the driver's step cache, open for the whole batch."""

    def __init__(self, root: str) -> None:
        self.cache = StepCache.open(Path(root))
        self.hits = 0

    def get(self, key: str) -> Entry | None:
        entry = self.cache.get(key)
        self.hits += entry is not None
        return entry

    def put(
        self,
        key: str,
        step: str,
        value: Mapping[str, Any],
        attachments: Mapping[str, bytes] | None = None,
    ) -> None:
        self.cache.put(key, step, value, attachments)

    def close(self) -> None:
        self.cache.close()


class RemoteCache:
    """A row's :class:`~dramaturg.store.cache.CacheStore` that asks the cache actor. Closing it
    closes nothing: the cache is the batch's."""

    def __init__(self, actor: Any, root: Path) -> None:
        self.actor = actor
        self._root = root

    @property
    def root(self) -> Path:
        return self._root

    def get(self, key: str) -> Entry | None:
        import ray

        entry: Entry | None = ray.get(self.actor.get.remote(key))
        return entry

    def put(
        self,
        key: str,
        step: str,
        value: Mapping[str, Any],
        attachments: Mapping[str, bytes] | None = None,
    ) -> None:
        import ray

        ray.get(self.actor.put.remote(key, step, dict(value), dict(attachments or {})))

    def close(self) -> None:
        return None


def remote_cache(root: Path) -> Any:
    """The cache actor on the driver's node, for the cache folder ``root``."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    return (
        ray.remote(CacheServer)
        .options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False))
        .remote(str(root))
    )
