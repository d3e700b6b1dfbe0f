"""A run's events, sent to its pages as server-sent events.

Every message is one SSE event named ``msg`` whose data is HTML the page swaps in by id
(htmx's out-of-band swaps): the job's state, a note per step event, each streamed token appended
to its call's box (made on its first token), and, when a job ends, the sidebar and the preview
read afresh. Model text is escaped before it is sent: it is text on the page, never markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ..store.rundir import PENDING
from .jobs import Message
from .pages import PREVIEW, read_view, studio_of
from .render import fragment, item_label, page, stream_id
from .runview import run_view

#: a comment line this often keeps proxies and the browser from closing a quiet stream
KEEPALIVE = 15.0


def sse(data: str, event: str = "msg") -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


async def events(request: Any) -> Any:
    from starlette.responses import StreamingResponse

    run = request.path_params["run"]
    studio = studio_of(request)
    path = studio.workspace.run_path(run)  # 404 for a run that is not there
    view = await asyncio.to_thread(run_view, path)
    names = dict.fromkeys(view.per_item, view.item_name)  # dialogue -> scene
    queue = studio.jobs.hub.listen(run)

    async def stream() -> AsyncIterator[str]:
        boxes: set[tuple[str, int | None]] = set()
        try:
            yield ": the run's events\n\n"
            # the job as it is now that this page listens (it may have ended since the page
            # was read): nothing said before is missed
            now = studio.jobs.running(run) or studio.jobs.last.get(run)
            if now is not None:
                start = Message(run, job=now)
                for part in await asyncio.to_thread(fragments_for, request, start, boxes, names):
                    yield sse(part)
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if message is None:  # this page fell behind: it reads the run afresh
                    yield sse("", event="reload")
                    return
                if message.job is not None and message.job.state != "running":
                    parts = await asyncio.to_thread(
                        fragments_for, request, message, boxes, names
                    )  # reads
                else:
                    parts = fragments_for(request, message, boxes, names)
                for part in parts:
                    yield sse(part)
                if message.job is not None and message.job.state != "running":
                    yield sse("", event="jobdone")  # the page reads its step again
        finally:
            studio.jobs.hub.leave(run, queue)

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def fragments_for(
    request: Any,
    message: Message,
    boxes: set[tuple[str, int | None]],
    names: dict[str, str],
) -> list[str]:
    out: list[str] = []
    event = message.event
    if event is not None and str(event.kind) in ("token", "token_reset"):
        data = event.to_dict()
        key = (str(data["step"]), data.get("item"))
        sid = stream_id(*key)
        if str(event.kind) == "token_reset":  # a retry or a resample: its text starts again
            if key in boxes:
                out.append(f'<pre class="stream" id="{sid}" hx-swap-oob="true"></pre>')
            return out
        if key not in boxes:  # the call's first token: its box in the live area
            boxes.add(key)
            step, item = key
            label = item_label(step, item)
            if step in names and item is not None:
                label = f"{step} · {names[step]} {item + 1}"
            out.append(page("_stream.html", sid=sid, label=label, note=""))
    if message.job is not None and message.job.state == "running":
        boxes.clear()
        out.append('<div id="live" aria-live="polite" hx-swap-oob="true"></div>')
    part = fragment(message)
    if part is not None:
        out.append(part)
    if message.job is not None and message.job.state != "running":
        out.extend(_refreshed(request, message.run))
    return out


def _refreshed(request: Any, run: str) -> list[str]:
    """The sidebar and the preview, read again after a job."""
    path, view, late = read_view(request, run)
    pending = (path / PENDING).is_file()
    context = {"view": view, "run": run, "panel": None, "outdated": late, "oob": True}
    context["pending"] = pending
    preview = PREVIEW if (path / PREVIEW).is_file() and PREVIEW in view.exports else None
    stamp = int((path / PREVIEW).stat().st_mtime_ns) if preview else 0
    return [
        page("_sidebar.html", **context),
        page("_preview.html", run=run, preview=preview, stamp=stamp, oob=True),
    ]
