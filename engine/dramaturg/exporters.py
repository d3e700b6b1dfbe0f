"""Exporters: turn a finished run into files (a screenplay, a report...). The engine only knows
their names; they are registered with :func:`register_exporter` or through the entry point group
``dramaturg.exporters`` and use the public API (``RunResult``) only.

An exporter is ``fn(ctx: ExportContext) -> list[Path]`` returning the files it wrote inside
``ctx.run_dir``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .errors import DramaturgError, ExportError
from .result import RunResult

GROUP = "dramaturg.exporters"


@dataclass
class ExportContext:
    result: RunResult
    run_dir: Path
    options: dict[str, Any] = field(default_factory=dict)
    #: formats asked for on the command line (None: the exporter's defaults / options)
    formats: list[str] | None = None


Exporter = Callable[[ExportContext], list[Path]]
_EXPORTERS: dict[str, Exporter] = {}
_LOADED = False


def register_exporter(name: str, fn: Exporter) -> None:
    _EXPORTERS[name] = fn


def exporters() -> dict[str, Exporter]:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for ep in entry_points(group=GROUP):
            if ep.name not in _EXPORTERS:
                try:
                    _EXPORTERS[ep.name] = ep.load()
                except Exception as exc:  # a broken plugin must not break the engine
                    import warnings

                    warnings.warn(f"exporter {ep.name!r} failed to load: {exc}", stacklevel=2)
    return _EXPORTERS


def run_exporter(name: str, ctx: ExportContext) -> list[Path]:
    fn = exporters().get(name)
    if fn is None:
        raise ExportError(
            f"no exporter named '{name}'",
            hint=f"registered: {', '.join(sorted(exporters())) or '(none)'}",
        )
    try:
        files = fn(ctx)
    except DramaturgError:
        raise
    except Exception as exc:
        raise ExportError(
            f"exporter '{name}' failed: {type(exc).__name__}: {exc}",
            hint="the run's outputs are kept; rerun with `dramaturg export`",
        ) from exc
    root = ctx.run_dir.resolve()
    for f in files:
        if root not in Path(f).resolve().parents:
            raise ExportError(f"exporter '{name}' wrote outside the run folder: {f}")
    return files
