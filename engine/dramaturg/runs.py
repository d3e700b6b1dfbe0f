"""Finished runs on disk: load one back as a RunResult, and run its exporters again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ExportError, InputError
from .exporters import ExportContext, run_exporter
from .result import RunResult, StepResult, Usage
from .rundir import RunDir
from .spec import ChainSpec, ExportSpec


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path} not found", hint="is this a run folder (outputs/<run-id>)?"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """A run folder's ``manifest.json``. Raises InputError."""
    manifest = _read(run_dir / "manifest.json")
    if not isinstance(manifest, dict):
        raise InputError(f"{run_dir / 'manifest.json'} is not a run manifest")
    return manifest


def load_run(run_dir: str | Path) -> RunResult:
    """A finished (or interrupted) run, read back from its folder."""
    root = Path(run_dir)
    manifest = read_manifest(root)
    steps: dict[str, StepResult] = {}
    for sid, entry in manifest.get("steps", {}).items():
        r = StepResult(
            sid,
            status=entry.get("status", "pending"),
            attempts=entry.get("attempts", 0),
            started=entry.get("started"),
            ended=entry.get("ended"),
            usage=Usage(**entry.get("usage", {})),
            skipped_because=entry.get("skipped_because"),
            cached=int(entry.get("cached") or 0),
            resumed=int(entry.get("resumed") or 0),
            began=entry.get("began"),
            kind=entry.get("kind") or "text",
            model=entry.get("model_ref"),
            cost=entry.get("cost"),
        )
        if entry.get("error"):
            r.error, r.error_type = entry["error"].get("message"), entry["error"].get("type")
        if r.status == "done":
            r.output = _read(root / RunDir.step_file(sid)).get("output")
        steps[sid] = r
    cost = manifest.get("cost") or {}
    return RunResult(
        run_id=manifest.get("run_id") or root.name,
        chain=manifest.get("chain", {}).get("name", "?"),
        status=manifest.get("status", "?"),
        steps=steps,
        output_steps=list(manifest.get("outputs", steps)),
        run_dir=root,
        usage=Usage(**manifest.get("usage", {})),
        inputs=dict(manifest.get("inputs") or {}),
        cost=cost.get("total") if cost.get("complete") else None,
        currency=str(cost.get("currency") or "USD"),
    )


def chain_exports(run_dir: Path) -> list[ExportSpec]:
    """The exporters declared by the chain snapshot saved in the run folder."""
    import yaml

    path = run_dir / "chain.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the chain snapshot {path}: {exc}") from None
    return ChainSpec.model_validate(data).exports


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
    manifest = _read(result.run_dir / "manifest.json")
    manifest["exports"] = {**manifest.get("exports", {}), **written}
    if errors:
        manifest["export_errors"] = errors
    rundir.write_json("manifest.json", manifest)
    result.exports = written
    if errors:
        raise ExportError("\n".join(errors))
    return written
