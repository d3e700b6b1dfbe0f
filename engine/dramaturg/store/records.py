"""What a finished step call leaves behind, and finding it again.

A :class:`CallRecord` is the outcome of one call of a plain step or one fan-out item: the parsed
output, the raw text, the tries it took, its token usage and, for images, the image's bytes. The
runner writes it to the run folder (``steps/<step>/<i>.json``) and to the step cache; a resumed
run reads the finished ones back with :class:`FinishedRecords`. A record that cannot be read, is
not marked done, or names an image that is not there counts as unfinished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .manifest import Manifest
from .rundir import RunDir


@dataclass
class CallRecord:
    """The outcome of one step call or fan-out item."""

    output: Any
    raw: str | None = None
    #: tries the parse took (resampling), as recorded for a finished item
    attempts: int = 1
    usage: dict[str, int] = field(default_factory=dict)
    #: image steps: the image's bytes, saved in the run folder at ``output["image"]``
    image: bytes | None = None
    #: taken from the step cache in this run (no model was called)
    cached: bool = False
    #: what the loop guard did: ``{"action": "resampled" | "dropped", "findings": [...]}``
    repairs: list[dict[str, Any]] = field(default_factory=list)

    def cache_value(self) -> dict[str, Any]:
        value = {
            "output": self.output,
            "raw": self.raw,
            "attempts": self.attempts,
            "usage": self.usage,
        }
        if self.repairs:
            value["repairs"] = self.repairs
        return value

    @classmethod
    def from_cache(cls, value: dict[str, Any], attachments: dict[str, bytes]) -> CallRecord | None:
        if "output" not in value:
            return None
        return cls(
            output=value["output"],
            raw=value.get("raw"),
            attempts=int(value.get("attempts") or 1),
            usage=dict(value.get("usage") or {}),
            image=attachments.get("image"),
            repairs=_repairs(value.get("repairs")),
        )

    def item_json(
        self, step: str, item: int, *, cached: bool, times: dict[str, float] | None = None
    ) -> dict[str, Any]:
        """The record of a fan-out item; ``times``: when it was ready (``queued``), when its
        model call began (``started``) and when it ``ended`` (epoch seconds)."""
        data: dict[str, Any] = {"step": step, "item": item, "status": "done", "output": self.output}
        if self.raw is not None:
            data["raw"] = self.raw
        data |= {"attempts": self.attempts, "usage": self.usage}
        if self.repairs:
            data["repairs"] = self.repairs
        if cached:
            data["cached"] = True
        if times:
            data |= times
        return data


def _repairs(value: Any) -> list[dict[str, Any]]:
    """Repairs as recorded (anything else, from a damaged file, is none)."""
    if not isinstance(value, list):
        return []
    return [r for r in value if isinstance(r, dict)]


class FinishedRecords:
    """The finished steps and items of an earlier attempt at a run, in its own folder."""

    def __init__(self, rundir: RunDir, manifest: Manifest) -> None:
        self.rundir = rundir
        self.manifest = manifest

    def _read(self, rel: str) -> dict[str, Any] | None:
        try:
            data = self.rundir.read_json(rel)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("status") == "done" else None

    def _images_present(self, output: Any) -> bool:
        outputs = output if isinstance(output, list) else [output]
        for out in outputs:
            if not isinstance(out, dict) or not isinstance(out.get("image"), str):
                return False
            if not self.rundir.is_file(out["image"]):  # not through a link, not outside
                return False
        return True

    def step(self, sid: str, kind: str) -> CallRecord | None:
        """A finished step's record (the output of every item, for a fan-out)."""
        data = self._read(RunDir.step_file(sid))
        if data is None or data.get("step") != sid or "output" not in data:
            return None
        if kind == "image" and not self._images_present(data["output"]):
            return None
        return CallRecord(
            output=data["output"],
            raw=data.get("raw"),
            attempts=int(data.get("attempts") or 0),
            usage=dict(data.get("usage") or {}),
        )

    def item(self, sid: str, index: int, kind: str) -> CallRecord | None:
        """A finished fan-out item's record."""
        data = self._read(RunDir.step_file(sid, index))
        if data is None or data.get("step") != sid or data.get("item") != index:
            return None
        if "output" not in data or (kind == "image" and not self._images_present(data["output"])):
            return None
        return CallRecord(
            output=data["output"],
            raw=data.get("raw"),
            attempts=int(data.get("attempts") or 1),
            usage=dict(data.get("usage") or {}),
            repairs=_repairs(data.get("repairs")),
        )

    def times(self, sid: str) -> tuple[float | None, float | None]:
        """When a finished step started and ended, as the earlier attempt recorded it."""
        entry = self.manifest.step(sid)
        return entry.started, entry.ended
