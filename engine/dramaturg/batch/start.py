"""Starting a batch in a new folder, and opening one again to resume it.

The folder keeps everything a resume needs, whatever happened to the files it came from: the
chain as it ran (``chain.yaml`` and ``templates/``, as a run folder keeps them), every row's
inputs (``inputs.jsonl``) and the settings (``batch.json``). The data file is named and
digested in ``batch.json`` for the record only.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..chain.checked import content_hash
from ..errors import InputError
from ..run.session import recorded_cache
from ..store.snapshot import save_snapshot
from .folder import BatchFolder
from .job import BatchJob, load_snapshot_chain
from .rows import Row
from .runner import BatchOptions, BatchResult, BatchRunner

INPUTS_FILE = "inputs.jsonl"
#: the settings batch.json records (the others, models given as objects and callbacks, are not
#: data: a resume takes them again)
RECORDED = ("rows_in_flight", "concurrency", "retries", "backoff", "export", "dry_run", "seed")


def new_batch(
    job: BatchJob,
    rows: list[Row],
    out: Path,
    options: BatchOptions,
    *,
    data: dict[str, Any] | None = None,
) -> BatchFolder:
    """A new batch folder in ``out`` for ``rows`` of ``job``'s chain."""
    digest = content_hash(json.dumps([r.digest for r in rows]), job.checked)
    folder = BatchFolder.create(out, job.checked.spec.name, digest)
    save_snapshot(folder.rundir, job.text, job.checked)
    lines = [
        json.dumps({"index": r.index, "line": r.line, "inputs": r.inputs}, default=str)
        for r in rows
    ]
    folder.rundir.write_text(INPUTS_FILE, "\n".join(lines) + "\n")
    settings = {k: getattr(options, k) for k in RECORDED}
    if isinstance(options.cache, Path):
        settings["cache"] = str(options.cache)
    elif options.cache is False:
        settings["cache"] = None
    folder.write_info(
        {
            "chain": {
                "name": job.checked.spec.name,
                "file": str(job.path),
                "path": str(job.path.resolve()),
                "hash": job.chain_hash,
            },
            "data": data or {"file": None, "digest": None},
            "rows": len(rows),
            "settings": settings,
        }
    )
    return folder


def open_batch(root: Path) -> tuple[BatchFolder, BatchJob, list[Row], dict[str, Any]]:
    """A batch folder made by :func:`new_batch`: its chain (as it ran), its rows and its
    recorded settings. InputError when any of them cannot be read."""
    folder = BatchFolder.open(root)
    info = folder.info()
    job = load_snapshot_chain(root)
    rows: list[Row] = []
    try:
        lines = folder.rundir.read_text(INPUTS_FILE, limit=512 * 1024 * 1024).splitlines()
        for line in lines:
            if line.strip():
                data = json.loads(line)
                rows.append(Row(int(data["index"]), int(data["line"]), dict(data["inputs"])))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"cannot read the rows of the batch {root / INPUTS_FILE}: {exc}",
            hint="the batch folder is damaged; restore it from a copy",
        ) from None
    raw = info.get("settings")
    settings = dict(raw) if isinstance(raw, dict) else {}
    known = {f.name for f in fields(BatchOptions)}
    return folder, job, rows, {k: v for k, v in settings.items() if k in known | {"cache"}}


async def arun_batch(
    job: BatchJob,
    rows: list[Row],
    options: BatchOptions,
    *,
    out: Path | None,
    data: dict[str, Any] | None = None,
    skipped: list[str] | None = None,
    executor: str = "local",
    address: str | None = None,
) -> BatchResult:
    """Run ``rows`` of ``job``'s chain: into a new batch folder in ``out``, or in memory.
    ``executor="ray"`` runs the rows on a Ray cluster (``address``; None: a local Ray started
    for the batch); the batch folder stays on this machine."""
    if executor not in ("local", "ray"):
        raise InputError(f"unknown executor {executor!r}", hint="use local or ray")
    if out is None:
        if executor == "ray":
            raise InputError("a batch on Ray needs a folder", hint="give --out (or out=...)")
        result = await BatchRunner(job, rows, None, options).run()
    else:
        folder = new_batch(job, rows, out, options, data=data)
        with folder.lock():
            result = await _runner(job, rows, folder, options, executor, address).run()
    result.skipped = list(skipped or [])
    return result


def _runner(
    job: BatchJob,
    rows: list[Row],
    folder: BatchFolder,
    options: BatchOptions,
    executor: str,
    address: str | None,
) -> BatchRunner:
    if executor == "local":
        return BatchRunner(job, rows, folder, options)
    try:
        from .ray_rows import ray_batch
    except ImportError as exc:  # pragma: no cover - the extra is not installed
        raise InputError(
            f"--executor ray needs Ray ({exc})", hint="pip install 'dramaturg[ray]'"
        ) from None
    return ray_batch(job, rows, folder, options, address=address, per_node=options.rows_in_flight)


def resumed_options(recorded: dict[str, Any], **given: Any) -> BatchOptions:
    """The options of a batch going on: what it recorded, replaced by what is ``given``
    (None: not given)."""
    values: dict[str, Any] = {k: v for k, v in recorded.items() if k != "cache"}
    if "cache" in recorded:
        values["cache"] = recorded_cache(recorded["cache"])
    values |= {k: v for k, v in given.items() if v is not None}
    return BatchOptions(**values)


async def aresume_batch(root: Path, **given: Any) -> BatchResult:
    """Finish the batch in ``root``: done rows are kept (no model call), the others go on
    (resumed in their run folders, or started). ``given``: options replacing the recorded ones
    (``models``, ``on_event``, ``rows_in_flight``, ...)."""
    executor = given.pop("executor", None) or "local"
    address = given.pop("address", None)
    folder, job, rows, recorded = open_batch(root)
    options = resumed_options(recorded, **given)
    with folder.lock():
        return await _runner(job, rows, folder, options, executor, address).run()
