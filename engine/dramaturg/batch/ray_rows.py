"""A batch's rows on a Ray cluster: the unit of work is a whole row, never a step.

- On each node one async *row runner* actor runs many rows at once and holds that node's
  models (the embedded one loaded once per node). It runs a row into node-local scratch and
  returns the finished run folder as a tar archive: the driver is the only writer of the batch
  folder, and no shared filesystem is needed.
- A row that goes on from an earlier attempt (resume) travels the other way first: the driver
  sends its run folder, the runner resumes it, and sends it back.
- Model limits hold for the whole cluster: every call takes a lease from one limits actor
  (:mod:`.ray_limits`).
- A runner that dies (a killed worker, a lost node) loses only its rows in flight: the driver
  gives its leases back, starts a runner where there is room, and runs those rows again from
  their start (or from their folder on the driver, as it was), with the same seeds and so the
  same outputs. A row whose step failed after the engine's own retries is a failed row, not a
  Ray retry.

Ray is imported when a batch runs on it, never by ``import dramaturg`` or a local batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import DramaturgError, InputError
from ..result import RunResult
from ..store.readback import load_run
from .folder import BatchFolder
from .job import BatchJob, load_snapshot_chain
from .ray_cache import RemoteCache
from .ray_limits import RemoteLimits, remote_limits
from .rows import Row
from .runner import BatchOptions, BatchResult, BatchRunner

#: the batch folder's files a runner needs to load the chain
SNAPSHOT = ("chain.yaml", "templates.json")
#: how long the driver trusts its list of the cluster's live nodes (a joining node is used from
#: then on; a lost one is known at once, from its runner's death)
NODES_EVERY = 2.0


def pack(folder: Path) -> bytes:
    """``folder`` as a tar archive (paths relative to it; not compressed: the rows' text is
    small and compressing it cost more CPU than the network saves on one machine)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(folder, arcname=".")
    return buf.getvalue()


def unpack(data: bytes, target: Path) -> None:
    """Extract an archive made by :func:`pack` into ``target`` (emptied first), refusing links,
    devices and paths that leave it (tarfile's ``data`` filter)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        tar.extractall(target, filter="data")


@dataclass(frozen=True)
class Finished:
    """A row a runner settled: its status, its run folder as an archive (None: the run never
    began, ``error`` says why) and its result as the run left it (the driver need not read the
    folder back)."""

    status: str
    data: bytes | None
    error: str | None
    run: RunResult | None


class RowRunner:
    """One node's row runner (made a Ray actor by :func:`_runner_class`)."""

    def __init__(
        self,
        snapshot: bytes,
        options: BatchOptions,
        limits: Any,
        owner: str,
        share: int,
        limited: set[str],
    ) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="dramaturg-rows-"))
        unpack(snapshot, self.scratch / "chain")
        self.job = load_snapshot_chain(self.scratch / "chain")
        self.options = options
        self.limits = RemoteLimits(limits, owner, share, limited)
        self.owner = owner
        #: one scratch batch folder for every row this runner runs
        self.folder = BatchFolder(self.scratch / "batch")
        self.folder.root.mkdir()
        # the cluster's limits, not this runner's own; the driver records the rows
        self.runner = BatchRunner(
            self.job, [], self.folder, options, limiter=self.limits, record=False
        )

    def ready(self) -> str:
        import os

        return f"{os.getpid()}"

    async def run_row(self, row: Row, earlier: bytes | None) -> Finished:
        """Run (or, given its ``earlier`` folder, resume) one row."""
        root = self.folder.run_root(row.id)
        if root.exists():  # an earlier try of the row on this node
            await asyncio.to_thread(shutil.rmtree, root, True)
        if earlier is not None:
            await asyncio.to_thread(unpack, earlier, root)
        try:
            result = await self.runner.run_one(row)
            data = await asyncio.to_thread(pack, root) if root.is_dir() else None
            return Finished(result.status, data, result.error, result.run)
        finally:
            await asyncio.to_thread(shutil.rmtree, root, True)


def _runner_class() -> Any:
    import ray

    return ray.remote(RowRunner)


class RayBatchRunner(BatchRunner):
    """A batch whose rows run on a Ray cluster; the driver writes the batch folder."""

    def __init__(
        self,
        job: BatchJob,
        rows: list[Row],
        folder: BatchFolder,
        options: BatchOptions,
        *,
        per_node: int,
        owns_ray: bool = False,
    ) -> None:
        super().__init__(job, rows, folder, options)
        import ray

        self.ray = ray
        #: this batch started Ray (no address given), so it stops it
        self.owns_ray = owns_ray
        self.per_node = per_node
        limits = {n: (p.concurrency, p.rate_limit) for n, p in self.policies.items()}
        self.limits_actor = remote_limits(options.concurrency, limits)
        #: the models whose calls take a lease from the limits actor (their own limits)
        self.limited = {n for n, (c, r) in limits.items() if c or r}
        self._nodes: tuple[float, list[str]] | None = None  # (when asked, the live nodes)
        #: each node's share of the calls in flight (split among the nodes alive now)
        self.share = max(1, options.concurrency // max(1, len(self._alive_nodes())))
        self.cache_actor, self.cache_root = self._cache()
        self.snapshot = self._snapshot(folder.root)
        self.runners: dict[str, Any] = {}  # node id -> its runner
        self._busy: dict[str, int] = {}  # node id -> its rows in flight
        self._uses: dict[str, int] = {}  # node id -> rows given to it
        self._ready: set[str] = set()  # nodes whose runner answered
        #: nodes whose runner died: not used again while others are left (a node whose raylet
        #: died stays "alive" in Ray's table until its heartbeats time out)
        self._lost_nodes: set[str] = set()
        self.owners: dict[str, str] = {}  # node id -> the runner's lease owner
        self._lock = asyncio.Lock()

    @staticmethod
    def _snapshot(root: Path) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "chain"
            copy.mkdir()
            for name in SNAPSHOT:
                if (root / name).is_file():
                    shutil.copy2(root / name, copy / name)
            if (root / "templates").is_dir():
                shutil.copytree(root / "templates", copy / "templates")
            (copy / "batch.json").write_bytes((root / "batch.json").read_bytes())
            return pack(copy)

    def _alive_nodes(self, *, fresh: bool = False) -> list[str]:
        """The cluster's live nodes: asked of Ray's control store at most once every
        :data:`NODES_EVERY` seconds (a round trip a row need not pay), or now when ``fresh``."""
        now = time.monotonic()
        if fresh or self._nodes is None or now - self._nodes[0] > NODES_EVERY:
            nodes: list[dict[str, Any]] = self.ray.nodes()  # type: ignore[no-untyped-call]
            self._nodes = (now, [n["NodeID"] for n in nodes if n.get("Alive")])
        return self._nodes[1]

    async def _runner(self) -> tuple[str, Any]:
        """A live node's runner (started on first use; nodes taken in turn)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        async with self._lock:
            nodes = [n for n in self._alive_nodes() if n not in self._lost_nodes]
            if not nodes:  # every node lost one: try them all again
                self._lost_nodes.clear()
                nodes = self._alive_nodes(fresh=True)
            if not nodes:
                raise InputError("the Ray cluster has no live node", hint="start one: ray start")
            # the node with the fewest rows in flight (then the one used least)
            node = min(nodes, key=lambda n: (self._busy.get(n, 0), self._uses.get(n, 0)))
            self._uses[node] = self._uses.get(node, 0) + 1
            if node not in self.runners:
                owner = f"{node[:12]}-{uuid.uuid4().hex[:6]}"
                actor = (
                    _runner_class()
                    .options(
                        num_cpus=0,
                        max_concurrency=self.per_node,
                        scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
                    )
                    .remote(
                        self.snapshot,
                        self._worker_options(),
                        self.limits_actor,
                        owner,
                        self.share,
                        self.limited,
                    )
                )
                self.runners[node], self.owners[node] = actor, owner
            self._busy[node] = self._busy.get(node, 0) + 1
            return node, self.runners[node]

    def _cache(self) -> tuple[Any, Path | None]:
        """The batch's step cache on the driver's node (none for dry runs or cache=False)."""
        from ..store.cache import cache_dir_for
        from .ray_cache import remote_cache

        where = None if self.options.dry_run else cache_dir_for(self.options.cache)
        if where is None:
            return None, None
        return remote_cache(where), where

    def _worker_options(self) -> BatchOptions:
        o = self.options
        shared = None
        if self.cache_actor is not None and self.cache_root is not None:
            shared = RemoteCache(self.cache_actor, self.cache_root)
        return BatchOptions(
            rows_in_flight=self.per_node,
            concurrency=o.concurrency,
            retries=o.retries,
            backoff=o.backoff,
            cache=False if shared is None else None,
            step_cache=shared,  # the driver's, through its actor
            export=o.export,
            dry_run=o.dry_run,
            seed=o.seed,
            models=o.models,
        )

    async def _lost(self, node: str) -> None:
        """A runner died: forget it and give its leases back."""
        async with self._lock:
            self.runners.pop(node, None)
            owner = self.owners.pop(node, None)
            self._lost_nodes.add(node)
            self._ready.discard(node)
            self._nodes = None  # ask Ray again which nodes are alive
        if owner is not None:
            await self.limits_actor.release_owner.remote(owner)

    async def _remote(self, row: Row, earlier: bytes | None) -> RunResult:
        from ray.exceptions import RayActorError  # a runner that died, or a lost node

        assert self.folder is not None
        for _attempt in range(10):
            node, actor = await self._runner()
            ref = None
            try:
                if node not in self._ready:  # a runner that cannot start fails here, once
                    await actor.ready.remote()
                    self._ready.add(node)
                ref = actor.run_row.remote(row, earlier)
                done: Finished = await ref
            except asyncio.CancelledError:  # Ctrl-C, or a stopped batch: the row stops there too
                if ref is not None:
                    self.ray.cancel(ref)
                raise
            except RayActorError:
                await self._lost(node)
                continue  # the row runs again, from where the driver has it
            finally:
                self._busy[node] = max(0, self._busy.get(node, 1) - 1)
            if done.data is None:
                raise DramaturgError(done.error or f"row {row.index} did not run ({done.status})")
            root = self.folder.run_root(row.id)
            # in a thread: the driver's loop goes on handing out rows while the files land
            await asyncio.to_thread(unpack, done.data, root)
            if done.run is None:
                return load_run(root)
            return replace(done.run, run_dir=root)
        raise DramaturgError(f"row {row.index}: its runner died 10 times; the row is left")

    def rows_at_once(self) -> int:
        """``rows_in_flight`` on every node (the nodes alive when the batch starts)."""
        return self.per_node * max(1, len(self._alive_nodes()))

    async def run(self) -> BatchResult:
        try:
            return await super().run()
        finally:
            if self.cache_actor is not None:
                with contextlib.suppress(Exception):
                    await self.cache_actor.close.remote()
            for actor in [*self.runners.values(), self.limits_actor, self.cache_actor]:
                if actor is None:
                    continue
                with contextlib.suppress(Exception):
                    self.ray.kill(actor)
            if self.owns_ray:
                self.ray.shutdown()

    async def _start(self, row: Row) -> RunResult:
        return await self._remote(row, None)

    async def _resume(self, row: Row) -> RunResult:
        assert self.folder is not None
        return await self._remote(row, pack(self.folder.run_root(row.id)))


def ray_batch(
    job: BatchJob,
    rows: list[Row],
    folder: BatchFolder,
    options: BatchOptions,
    *,
    address: str | None,
    per_node: int,
    env: Mapping[str, str] | None = None,
) -> RayBatchRunner:
    """A runner for ``rows`` on the Ray cluster at ``address`` (None: a local Ray, started now
    and stopped with :func:`stop_ray`)."""
    import ray

    owns = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"log_to_driver": False}
        if address is not None:
            kwargs["address"] = address
        else:  # a Ray of our own on loopback: nothing listens beyond this machine's own address
            kwargs |= {"include_dashboard": False, "_node_ip_address": "127.0.0.2"}
            owns = True
        ray.init(**kwargs)
    return RayBatchRunner(job, rows, folder, options, per_node=per_node, owns_ray=owns)


def stop_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
