"""Finished runs on disk: load one back as a RunResult, and run its exporters again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..chain.exporters import ExportContext, run_exporter
from ..errors import ChainError, ExportError, InputError
from ..result import RunResult, StepResult
from ..safeio import reason
from ..source import MAX_BYTES, load_yaml
from ..spec import ChainSpec, ExportSpec
from .manifest import Manifest
from .rundir import RunDir


def _read(root: Path, rel: str) -> Any:
    """A JSON file of a run folder (bounded, never through a link). Raises InputError."""
    path = root / rel
    try:
        return RunDir(root).read_json(rel)
    except FileNotFoundError:
        raise InputError(
            f"{path} not found", hint="is this a run folder (outputs/<run-id>)?"
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {reason(exc)}",
            hint="the run folder is damaged; restore the file from a copy of the folder",
        ) from None
    except ValueError as exc:
        raise InputError(
            f"cannot read {path}: not valid JSON ({exc})",
            hint="the run folder is damaged; restore the file from a copy of the folder",
        ) from None


def read_manifest(run_dir: Path, *, check: bool = True) -> Manifest:
    """A run folder's ``manifest.json``. Raises InputError. ``check``: refuse a folder holding
    links, FIFOs or devices first (:meth:`RunDir.refuse_strange`)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(
            f"{run_dir} is not a run folder (it is not a folder)",
            hint="give a run folder, outputs/<run-id>",
        )
    if check and (run_dir / "manifest.json").is_file():
        RunDir(run_dir).refuse_strange()
    manifest = _read(run_dir, "manifest.json")
    if not isinstance(manifest, dict):
        raise InputError(f"{run_dir / 'manifest.json'} is not a run manifest")
    return Manifest.parse(manifest, run_dir / "manifest.json")


def load_run(run_dir: str | Path) -> RunResult:
    """A finished (or interrupted) run, read back from its folder."""
    root = Path(run_dir)
    manifest = read_manifest(root)
    steps: dict[str, StepResult] = {}
    for sid, entry in manifest.steps.items():
        r = StepResult(
            sid,
            status=entry.status,
            attempts=entry.attempts,
            started=entry.started,
            ended=entry.ended,
            usage=entry.usage.as_usage(),
            skipped_because=entry.skipped_because,
            cached=entry.cached,
            resumed=entry.resumed,
            began=entry.began,
            kind=entry.kind,
            model=entry.model_ref,
            cost=entry.cost,
        )
        if entry.error is not None:
            r.error, r.error_type = entry.error.message, entry.error.type
        if r.status == "done":
            record = _read(root, RunDir.step_file(sid))
            if not isinstance(record, dict):
                raise InputError(
                    f"{root / RunDir.step_file(sid)} is damaged: it holds no step record",
                    hint="restore it from a copy of the run folder, or rerun the step",
                )
            r.output = record.get("output")
        steps[sid] = r
    return RunResult(
        run_id=manifest.run_id or root.name,
        chain=manifest.chain.name,
        status=manifest.status,
        steps=steps,
        output_steps=list(steps if manifest.outputs is None else manifest.outputs),
        run_dir=root,
        usage=manifest.usage.as_usage(),
        inputs=dict(manifest.inputs),
        cost=manifest.total_cost,
        currency=manifest.cost.currency,
    )


def chain_exports(run_dir: Path) -> list[ExportSpec]:
    """The exporters declared by the chain snapshot saved in the run folder."""
    try:
        return ChainSpec.model_validate(read_snapshot(run_dir)).exports
    except ValueError as exc:  # pydantic's ValidationError: a snapshot changed by hand
        raise InputError(
            f"the chain snapshot {run_dir / 'chain.yaml'} is damaged: {_first_line(exc)}"
        ) from None


def _first_line(exc: Exception) -> str:
    return next(iter(str(exc).splitlines()), type(exc).__name__)


def read_snapshot(run_dir: Path) -> Any:
    """The data of the chain snapshot in a run folder (``chain.yaml``), read as chain files are
    (bounded: no alias bombs, no deep nesting). Raises InputError."""
    path = run_dir / "chain.yaml"
    try:
        text = RunDir(run_dir).read_text("chain.yaml", MAX_BYTES)
        return load_yaml(text, str(path)).data
    except OSError as exc:
        raise InputError(
            f"cannot read the chain snapshot {path}: {reason(exc)}",
            hint="only run folders written by `dramaturg run` hold one",
        ) from None
    except ChainError as exc:
        problems = "; ".join(p.message for p in exc.problems)
        raise InputError(f"the chain snapshot {path} is damaged: {problems}") from None


def export_run(
    result: RunResult, exports: list[ExportSpec], formats: list[str] | None = None
) -> dict[str, list[str]]:
    """Run the exporters into the run folder; record what they wrote in the manifest.

    Every exporter runs even if one fails; failures are raised together at the end.
    """
    assert result.run_dir is not None
    written: dict[str, list[str]] = {}
    errors: list[str] = []
    for exp in exports:
        ctx = ExportContext(result, result.run_dir, dict(exp.options), formats)
        try:
            files = run_exporter(exp.type, ctx)
        except ExportError as exc:
            errors.append(str(exc))
            continue
        written[exp.type] = [
            str(Path(f).resolve().relative_to(result.run_dir.resolve())) for f in files
        ]
    rundir = RunDir(result.run_dir)
    manifest = read_manifest(result.run_dir, check=False)
    manifest.exports = {**manifest.exports, **written}
    if errors:
        manifest.export_errors = errors
    rundir.write_json("manifest.json", manifest.to_json())
    result.exports = written
    if errors:
        raise ExportError("\n".join(errors))
    return written
