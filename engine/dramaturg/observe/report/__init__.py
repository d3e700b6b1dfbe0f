"""``report.html`` in a run folder: the run's DAG, timeline, tokens and cost, images, and every
step's prompts and outputs, in one self-contained page (no network, no script).

Written at the end of every run that has a folder (done or failed), and again by
``dramaturg report RUN`` or ``dramaturg export RUN --format report``. Generic: it knows steps,
items and images, nothing of screenplays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import DramaturgError, RunStorageError
from ...events import Event, WarningEvent
from ...secrets import scrub
from ...store.rundir import RunDir

REPORT_FILE = "report.html"


def step_order(run: Any) -> list[str]:
    """The steps in an order they can run (declaration order where dependencies allow)."""
    from ...chain import graph as graphs

    steps = run.steps
    g = graphs.build_graph({sid: [n for n in s.needs if n in steps] for sid, s in steps.items()})
    return graphs.topological_order(g)


def write_report(run_dir: str | Path, declared: dict[str, Any] | None = None) -> Path:
    """Write ``report.html`` into a run folder; return its path. Raises DramaturgError.
    ``declared``: the steps' ``description`` and ``for_each`` when the caller has the chain
    (else they are read from the chain snapshot in the folder)."""
    from .data import load
    from .page import render_report

    run = load(Path(run_dir), declared)
    html = scrub(render_report(run, step_order(run)))
    # atomic but not fsynced: it is derived from the run folder, and rebuilt by `dramaturg report`
    return RunDir(Path(run_dir)).write_text(REPORT_FILE, html, durable=False)


def write_report_quietly(
    run_dir: Path,
    on_event: Callable[[Event], None] | None = None,
    declared: dict[str, Any] | None = None,
) -> Path | None:
    """Write the report at the end of a run: a failure never fails the run; it is reported as a
    ``warning`` event."""
    try:
        return write_report(run_dir, declared)
    except (DramaturgError, OSError, ValueError) as exc:
        reason = exc if isinstance(exc, (DramaturgError, RunStorageError)) else repr(exc)
        if on_event is not None:
            on_event(WarningEvent(message=f"report.html not written: {reason}"))
        return None
