"""What a run reports of itself, from its runner's state: the manifest (``manifest.json``) and
the :class:`~dramaturg.result.RunResult`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..chain.checked import model_name_for
from ..result import RunResult, Usage
from ..store.manifest import MANIFEST_VERSION
from ..store.rundir import RunDir

if TYPE_CHECKING:
    from ..store.storage import RunStore
    from ..store.writer import Writer
    from .runner import Runner


def run_manifest(run: Runner) -> dict[str, Any]:
    """The run's manifest as it stands (every step's status, usage and cost, the settings), as
    the JSON of a :class:`~dramaturg.store.manifest.Manifest`. It is built as plain data: a run
    rebuilds it as it goes, and making 1,000 typed step entries each time would cost ~0.1 ms a
    step. ``tests/store/test_manifest.py`` holds that what a run writes parses into the model
    and dumps back unchanged."""
    total = Usage()
    for r in run.results.values():
        total.add(r.usage)
    steps = {}
    for sid, r in run.results.items():
        spec = run.spec.steps[sid]
        entry: dict[str, Any] = {
            "status": r.status,
            "kind": spec.kind,
            "model": model_name_for(spec),
            "needs": list(run.checked.plans[sid].deps),
            "started": r.started,
            "ended": r.ended,
            "attempts": r.attempts,
            "usage": r.usage.as_dict(),
            "cached": r.cached,
            "resumed": r.resumed,
            "began": r.began,
            "model_ref": run.accounts.ref(sid),
            "cost": run.accounts.step_cost(sid, r.usage),
        }
        if isinstance(r.output, list):
            entry["length"] = len(r.output)
        if r.repairs:
            entry["repairs"] = r.repairs
        if spec.for_each is not None:
            entry["items"] = {
                "total": r.items_total,
                "done": r.items_done,
                "failed": r.items_failed,
            }
        if r.status == "done":
            entry["output"] = RunDir.step_file(sid)
        if r.error:
            entry["error"] = {"type": r.error_type, "message": r.error}
        if r.skipped_because:
            entry["skipped_because"] = r.skipped_because
        steps[sid] = entry
    chain = {"name": run.spec.name, "file": run.chain_file, "hash": run.chain_hash}
    if run.chain_path:
        chain["path"] = run.chain_path
    settings = {
        "concurrency": run.settings.concurrency,
        "dry_run": run.models.dry_run,
        "seed": run.models.seed,
        "cache": str(run.memo.location) if run.memo and run.memo.location else None,
    }
    manifest: dict[str, Any] = {
        "dramaturg": __version__,
        "manifest_version": MANIFEST_VERSION,
        "run_id": run.store.id if run.store.persistent else None,
        "status": run.status,
        "chain": chain,
        "started": run.started,
        "ended": run.ended,
        "inputs": run.inputs,
        "models": run.models.public(run.used_models),
        "settings": settings,
        "outputs": run.spec.output_steps(),
        "usage": total.as_dict(),
        **run.accounts.summary(run.results),
        "steps": steps,
    }
    if run.history:
        manifest["resumed"] = run.history
    return manifest


def run_result(run: Runner) -> RunResult:
    """The run's result: its steps, usage and cost (each step priced now)."""
    total = Usage()
    for r in run.results.values():
        total.add(r.usage)
        run.accounts.price_step(r)
    costs = [r.cost for r in run.results.values()]
    return RunResult(
        run_id=run.store.id,
        chain=run.spec.name,
        status=run.status,
        steps=run.results,
        output_steps=run.spec.output_steps(),
        run_dir=run.store.root,
        usage=total,
        inputs=dict(run.inputs),
        cost=None if None in costs else sum(c or 0.0 for c in costs),
        currency=run.accounts.table.currency,
    )


class ManifestWriter:
    """Writes a run's manifest as the run goes: at most every 0.2 s and every 10x the last
    write's duration (unless forced; a final flush always is), so that rewriting it stays under
    ~10 % of the run however many steps the manifest lists."""

    def __init__(self, store: RunStore, writer: Writer | None) -> None:
        self.store = store
        self.writer = writer
        self._last = 0.0
        self._interval = 0.2

    def flush(self, manifest: Callable[[], dict[str, Any]], *, force: bool, durable: bool) -> None:
        start = time.monotonic()
        if not force and (self.writer is None or start - self._last < self._interval):
            return  # in memory nobody reads a manifest before the run ends
        # in-progress manifests are compact, not fsynced, and written by the writer thread (in
        # order with the step files); the first and the final one now, the final one durable
        data = manifest()
        if force and durable:
            self.store.write_json("manifest.json", data)
        elif force or self.writer is None:
            self._write(data)
        else:
            self.writer.submit(self._write, data)
        self._last = end = time.monotonic()
        self._interval = max(0.2, 10 * (end - start))

    def _write(self, data: dict[str, Any]) -> None:
        self.store.write_text("manifest.json", json.dumps(data, default=str), durable=False)
