"""A run's ``manifest.json`` as one typed model: written by the run, read back by every command.

The file is checked first, key by key (:mod:`.manifestcheck`), so that a damaged manifest gives
one message naming the key; then it becomes a :class:`Manifest`. Each part the engine reads is a
typed field with the default a file without it means; keys this version does not know are kept
(``extra="allow"``) and written back unchanged.

``manifest_version`` says which layout a file has. Files written before it existed (Dramaturg
0.x up to this change) have none and read as version 0: their layout is the same, so they load as
they are. A file of a newer version than this Dramaturg knows is refused with a hint to upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from ..result import Usage
from .manifestcheck import check_manifest

#: the layout this version writes (0: files written before the manifest had a version)
MANIFEST_VERSION = 1


class _Part(BaseModel):
    """A part of the manifest: unknown keys are kept; assignments are checked."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)


class UsageCounts(_Part):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0

    def as_usage(self) -> Usage:
        return Usage(self.input_tokens, self.output_tokens, self.total_tokens, self.calls)


class ItemCounts(_Part):
    total: int | None = None
    done: int | None = None
    failed: int | None = None


class StepFailure(_Part):
    type: str | None = None
    message: str | None = None


class Stale(_Part):
    """Why a step's output is out of date after an edit (``because``: the edited steps), and
    which of its outputs a rerun keeps (``pinned``: the whole step, or some items)."""

    because: list[str] = Field(default_factory=list)
    pinned: bool | list[int | None] = False


class StepEntry(_Part):
    """One step of the run, as the manifest's ``steps`` lists it."""

    status: str = "pending"
    kind: str = "text"
    model: str | None = None
    needs: list[str] = Field(default_factory=list)
    started: float | None = None
    ended: float | None = None
    attempts: int = 0
    usage: UsageCounts = Field(default_factory=UsageCounts)
    cached: int = 0
    resumed: int = 0
    began: float | None = None
    model_ref: str | None = None
    cost: float | None = None
    length: int | None = None
    repairs: int = 0
    items: ItemCounts | None = None
    output: str | None = None
    error: StepFailure | None = None
    skipped_because: str | None = None
    version: int | None = None
    stale: Stale | None = None


class ChainInfo(_Part):
    name: str = "?"
    file: str | None = None
    hash: str | None = None
    path: str | None = None


class Settings(_Part):
    concurrency: int | None = None
    dry_run: bool | None = None
    seed: int | None = None
    cache: str | None = None


class PriceFiles(_Part):
    files: list[str] = Field(default_factory=list)
    checked: str | None = None
    problems: list[str] = Field(default_factory=list)


class Cost(_Part):
    currency: str = "USD"
    total: float | None = None
    complete: bool = False
    unpriced: list[str] = Field(default_factory=list)
    prices: PriceFiles = Field(default_factory=PriceFiles)


class ModelUsage(UsageCounts):
    images: int = 0
    cost: float | None = None
    steps: list[str] = Field(default_factory=list)


class Manifest(_Part):
    """The whole ``manifest.json``."""

    dramaturg: str = "?"
    manifest_version: int = 0
    run_id: str | None = None
    status: str = "?"
    chain: ChainInfo = Field(default_factory=ChainInfo)
    started: float | None = None
    ended: float | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)
    outputs: list[str] | None = None
    usage: UsageCounts = Field(default_factory=UsageCounts)
    cost: Cost = Field(default_factory=Cost)
    by_model: dict[str, ModelUsage] = Field(default_factory=dict)
    steps: dict[str, StepEntry] = Field(default_factory=dict)
    resumed: list[dict[str, Any]] = Field(default_factory=list)
    reruns: list[dict[str, Any]] = Field(default_factory=list)
    exports: dict[str, list[str]] = Field(default_factory=dict)
    export_errors: list[str] = Field(default_factory=list)

    @classmethod
    def parse(cls, data: Any, where: str | Path) -> Manifest:
        """The manifest in ``data`` (a file's JSON); InputError naming the first key that is not
        as Dramaturg writes it, or a version newer than this one knows."""
        checked = check_manifest(data, str(where))
        version = checked.get("manifest_version", 0)
        if version > MANIFEST_VERSION:
            raise InputError(
                f"{where} was written by a newer Dramaturg ({checked.get('dramaturg', '?')}, "
                f"manifest version {version}; this one reads up to {MANIFEST_VERSION})",
                hint="upgrade Dramaturg: pip install -U dramaturg",
            )
        try:
            return cls.model_validate(checked)
        except ValidationError as exc:  # a shape the key-by-key check lets through
            error = exc.errors()[0]
            where_in = ".".join(str(k) for k in error["loc"])
            raise InputError(
                f"{where} is damaged: '{where_in}' {error['msg'].lower()}",
                hint="it was changed by hand or by another program; restore it from a copy of "
                "the run folder",
            ) from None

    def to_json(self) -> dict[str, Any]:
        """The manifest as its file holds it: the keys that were written or read, no others."""
        return self.model_dump(mode="json", exclude_unset=True)

    def step(self, sid: str) -> StepEntry:
        """The step's entry (an empty one for a step the manifest does not list)."""
        return self.steps.get(sid) or StepEntry()

    @property
    def total_cost(self) -> float | None:
        """The run's cost when every call was priced, else None."""
        return self.cost.total if self.cost.complete else None
