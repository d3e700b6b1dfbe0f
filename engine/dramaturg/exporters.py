"""Exporters: turn a finished run into files (a screenplay, a report...). The engine only knows
their names; they are registered with :func:`register_exporter` or through the entry point group
``dramaturg.exporters`` and use the public API (``RunResult``) only.

An exporter is ``fn(ctx: ExportContext) -> list[Path]`` returning the files it wrote inside
``ctx.run_dir``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DramaturgError, ExportError
from .plugins import Plugins
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
_EXPORTERS = Plugins(GROUP, "exporter")


def register_exporter(name: str, fn: Exporter) -> None:
    """Register an exporter usable as ``exports: [name]`` in chain files."""
    _EXPORTERS.register(name, fn)


def exporters() -> Plugins:
    """Registered exporters (``name in exporters()``, ``.get(name)``, ``.names()``)."""
    return _EXPORTERS


def run_exporter(name: str, ctx: ExportContext) -> list[Path]:
    fn = exporters().get(name)
    if fn is None:
        raise ExportError(
            f"no exporter named '{name}'",
            hint=f"registered: {', '.join(exporters().names()) or '(none)'}",
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
    return [Path(f) for f in files]
