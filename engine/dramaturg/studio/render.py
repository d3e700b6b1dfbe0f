"""The studio's HTML: Jinja2 templates in the package (autoescaped: every output of a model is
text on the page, never markup), and the fragments pages hear over their event stream."""

from __future__ import annotations

import difflib
import html
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from ..events import Event
from .jobs import Message


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dramaturg.studio", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = item_label
    env.filters["when"] = _when
    env.filters["seed_of"] = seed_of
    env.filters["tojson_attr"] = json.dumps  # escaped again by autoescape
    return env


def page(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def item_label(step: str, item: int | None) -> str:
    """``dialogue · scene 3`` (items are counted from 1 on the page, from 0 in the engine)."""
    return step if item is None else f"{step} · {item + 1}"


def _when(epoch: float | None) -> str:
    import time

    return "" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def seed_of(version: Any, item: int | None) -> int | None:
    """The seed a version's call (the item's, or the step's) was made with."""
    from ..store.versions import call_id

    call = version.calls.get(call_id(item))
    if call is not None and call.seed is not None:
        return int(call.seed)
    return version.seed if isinstance(version.seed, int) else None


def stream_id(step: str, item: int | None) -> str:
    """The id of the element a call's streamed text goes into."""
    return f"stream-{step}" + ("" if item is None else f"-{item}")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # same, add, del
    text: str


def diff_lines(a: str, b: str) -> list[DiffLine]:
    out: list[DiffLine] = []
    for line in difflib.ndiff(a.splitlines(), b.splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "? ":
            continue
        out.append(DiffLine({"+ ": "add", "- ": "del"}.get(tag, "same"), text))
    return out


def fragment(message: Message) -> str | None:
    """What a page watching the run swaps in for ``message`` (out-of-band swaps by id), or None
    when it shows nothing of it."""
    if message.job is not None:
        return page("_job.html", job=message.job, run=message.run, oob=True)
    event = message.event
    if event is None:
        return None
    return _event_fragment(event, message.run)


#: the sidebar badge a step's event sets while a job runs
_STATUS = {
    "step_started": "running",
    "step_finished": "done",
    "step_failed": "failed",
    "step_skipped": "skipped",
}


def _event_fragment(event: Event, run: str) -> str | None:
    kind = str(event.kind)
    data = event.to_dict()
    step, item = data.get("step"), data.get("item")
    if kind == "token":
        sid = stream_id(str(step), item)
        text = html.escape(str(data.get("text", "")), quote=True)
        return f'<span hx-swap-oob="beforeend:#{sid}">{text}</span>' if text else None
    status = _STATUS.get(kind)
    if status is not None and item is None and step is not None:  # the step's badge, live
        badge = page("_status.html", step=step, status=status)
        return badge + page("_note.html", event=data, label=item_label(str(step), item))
    if kind in ("item_finished", "retry", "parse_failed", "version"):  # not the kept calls
        return page("_note.html", event=data, label=item_label(str(step), item))
    return None
