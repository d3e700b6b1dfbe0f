"""Exporters: turn a finished run into files (a screenplay, a report...). The engine only knows
their names; they are registered with :func:`register_exporter` or through the entry point group
``dramaturg.exporters`` and use the public API (``RunResult``) only.

An exporter is ``fn(ctx: ExportContext) -> list[Path]`` returning the files it wrote inside
``ctx.run_dir``. It may list the format names it takes (``dramaturg export --format``) as its
``formats`` attribute: a ``--format`` no exporter of the run takes is then a bad argument.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DramaturgError, ExportError, InputError
from ..plugins import Plugins
from ..result import RunResult

GROUP = "dramaturg.exporters"
#: what a format name looks like (``pdf``, ``illustrated-pdf``, ``final_draft``)
_FORMAT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


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


def check_format_names(formats: Iterable[str]) -> None:
    """Refuse (InputError) a ``--format`` that is no format name (``../x``, ``a/b``, empty)."""
    for f in formats:
        if not _FORMAT.match(f):
            raise InputError(
                f"--format {f!r} is not a format name",
                hint="a format is a name such as fountain, pdf or report; repeat --format for "
                "several",
            )


def check_formats(formats: Iterable[str], names: Iterable[str], also: Iterable[str] = ()) -> None:
    """Refuse (InputError) a ``--format`` that is no format name, or that none of the exporters
    ``names`` takes (when each lists its ``formats``; ``also``: names taken besides)."""
    formats = list(formats)
    check_format_names(formats)
    known = {a.lower() for a in also}
    for name in names:
        listed = getattr(exporters().get(name), "formats", None)
        if listed is None:  # an exporter that does not say: it decides
            return
        known |= {str(f).lower() for f in listed}
    unknown = [f for f in formats if f.lower() not in known]
    if unknown:
        raise InputError(
            f"unknown format{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
            "no exporter of this run writes it",
            hint=f"formats: {', '.join(sorted(known))}",
        )
