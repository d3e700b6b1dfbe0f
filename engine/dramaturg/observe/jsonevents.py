"""``--json``: a run's events on stdout, one JSON object per line, ending with a summary.

Every line is an object with ``event`` (its name) and ``time`` (epoch seconds); the events and
their fields are listed in ``docs/runs.md``. The last line is always ``summary`` (also after an
interruption) or ``error`` (nothing ran, or the run could not finish). ``token`` and
``token_reset`` events (a run that streams) are left out unless asked for (``tokens=True``).
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from ..errors import DramaturgError
from ..events import (
    ErrorEvent,
    Event,
    RunFinished,
    RunStarted,
    Summary,
    Token,
    TokenReset,
)
from ..result import RunResult
from ..secrets import scrub


def summary_event(result: RunResult) -> Summary:
    """The ``summary`` event of a finished run."""
    known = sum(s.cost or 0.0 for s in result.steps.values())
    unpriced = sorted({s.model or "?" for s in result.steps.values() if s.cost is None})
    steps = {}
    for sid, s in result.steps.items():
        entry: dict[str, Any] = {
            "status": s.status,
            "kind": s.kind,
            "model": s.model,
            "duration": s.duration,
            "usage": s.usage.as_dict(),
            "cost": s.cost,
            "cached": s.cached,
            "resumed": s.resumed,
        }
        if s.items_total is not None:
            entry["items"] = {"total": s.items_total, "done": s.items_done}
        if s.error:
            entry["error"] = s.error
        if s.skipped_because:
            entry["skipped_because"] = s.skipped_because
        steps[sid] = entry
    root = result.run_dir
    return Summary(
        status=result.status,
        exit_code=0 if result.ok else 1,
        chain=result.chain,
        run_id=result.run_id,
        run_dir=str(root) if root else None,
        usage=result.usage.as_dict(),
        cost={
            "total": result.cost if result.cost is not None else known,
            "currency": result.currency,
            "complete": not unpriced,
            "unpriced": unpriced,
        },
        steps=steps,
        files={
            name: [str(root / f) if root else f for f in files]
            for name, files in {
                **result.exports,
                **({"report": [result.report]} if result.report else {}),
            }.items()
        },
    )


class JsonEvents:
    """A reporter writing JSON lines."""

    def __init__(self, stream: TextIO | None = None, *, tokens: bool = False) -> None:
        self.stream = stream or sys.stdout
        #: write ``token`` and ``token_reset`` events too
        self.tokens = tokens
        self.run_dir: str | None = None
        self.status = "starting"

    def write(self, event: Event) -> None:
        data = event.to_dict()
        self.stream.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
        self.stream.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_dir = event.run_dir
        elif isinstance(event, RunFinished):
            self.status = event.status
        elif isinstance(event, (Token, TokenReset)) and not self.tokens:
            return
        self.write(event)

    def summary(self, result: RunResult) -> None:
        self.write(summary_event(result))

    def interrupted(self) -> None:
        self.write(Summary(status="interrupted", exit_code=130, run_dir=self.run_dir))

    def failed(self, exc: BaseException) -> None:
        code = exc.exit_code if isinstance(exc, DramaturgError) else 1
        text = str(exc) if isinstance(exc, DramaturgError) else f"{type(exc).__name__}: {exc}"
        self.write(
            ErrorEvent(
                type=type(exc).__name__, message=scrub(text), exit_code=code, run_dir=self.run_dir
            )
        )
