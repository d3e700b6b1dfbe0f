"""One step's (or one item's) panel: its output as the editor shows it, the prompt behind it,
its images and its versions, read through the public co-writing functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cowrite.edit import editable_text, step_history
from ..errors import DramaturgError
from ..store.versions import Version
from .runview import RunView, output_of, prompt_of


@dataclass(frozen=True)
class Image:
    file: str
    alt: str


@dataclass(frozen=True)
class PanelView:
    step: str
    item: int | None
    title: str
    status: str
    version: int | None
    seed: int | None
    because: tuple[str, ...]
    #: the editor's text (None: not editable: an image step, or not finished)
    text: str | None
    as_text: bool
    prompt: str | None
    can_continue: bool
    versions: list[Version] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)


def panel_view(path: Path, view: RunView, step: str, item: int | None, spec: Any) -> PanelView:
    row = next(r for r in view.steps if r.id == step)
    text: str | None = None
    as_text = True
    if row.kind != "image" and row.status in ("done", "stale", "cached"):
        try:
            text, as_text = editable_text(path, step, item)
        except DramaturgError:
            text = None
    versions: list[Version] = []
    try:
        versions = list(reversed(step_history(path, step, item)))
    except DramaturgError:
        versions = []
    current = next((v for v in versions if v.current), versions[0] if versions else None)
    title = step if item is None else _item_title(view, step, item)
    return PanelView(
        step=step,
        item=item,
        title=title,
        status=row.status,
        version=current.version if current is not None else None,
        seed=_seed(current, item),
        because=row.because,
        text=text,
        as_text=as_text,
        prompt=prompt_of(path, step, item),
        can_continue=spec.steps[step].continue_ is not None and text is not None,
        versions=versions,
        images=_images(path, step, item),
    )


def _item_title(view: RunView, step: str, item: int) -> str:
    """``scene 3`` (the navigator's item), ``dialogue · scene 3``, or ``portraits · 2``."""
    if step == view.navigator:
        return f"{view.item_name} {item + 1}"
    if step in view.per_item:
        return f"{step} · {view.item_name} {item + 1}"
    return f"{step} · {item + 1}"


def _seed(current: Version | None, item: int | None) -> int | None:
    from .render import seed_of

    return None if current is None else seed_of(current, item)


def _images(path: Path, step: str, item: int | None) -> list[Image]:
    out = output_of(path, step)
    values = out if isinstance(out, list) else [out]
    if item is not None:
        values = values[item : item + 1] if isinstance(out, list) else []
    return [
        Image(str(v["image"]), str(v.get("prompt", ""))[:300])
        for v in values
        if isinstance(v, dict) and isinstance(v.get("image"), str)
    ]
