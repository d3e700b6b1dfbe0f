"""The studio's changes (POST routes, JSON in, HTML fragments out). Each calls one public
co-writing function; a model call runs as the run's one job (:mod:`.jobs`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DramaturgError, InputError
from ..events import Event
from ..store.rundir import PENDING
from .jobs import Busy
from .pages import html, item_param, panel_context, studio_of
from .render import page

#: an error about an edit goes under the editor, not over the panel
_TO_CHECK = {"HX-Retarget": "#check", "HX-Reswap": "innerHTML"}
#: the most bytes a request's JSON may have (an edited step's text is far smaller)
MAX_BODY = 2 * 1024 * 1024


async def body(request: Any) -> dict[str, Any]:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise InputError("the request is too large")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InputError("the request is not JSON") from None
    if not isinstance(data, dict):
        raise InputError("the request is not a JSON object")
    return data


def item_of(data: dict[str, Any], request: Any) -> int | None:
    raw = data.get("item")
    if raw is None or raw == "":
        return item_param(request)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    raise InputError(f"item must be a number, not {raw!r}")


def job_answer(
    request: Any, run: str, work: Callable[[Callable[[Event], None]], Any], what: str
) -> Any:
    """Start the job: 202 (the page hears its progress over its event stream, in order), or
    409 with what runs already."""
    studio = studio_of(request)
    try:
        studio.jobs.start(run, what, work)
    except Busy as exc:
        return html(page("_busy.html", busy=str(exc)), 409)
    return html(page("_busy.html", busy=None), 202)


def _target(step: str, item: int | None) -> str:
    return step if item is None else f"{step}/{item}"


def _what(verb: str, step: str, item: int | None) -> str:
    return f"{verb} {step}" + ("" if item is None else f" {item + 1}")


async def regenerate(request: Any) -> Any:
    """Regenerate the step, or one item, with a new seed (a rerun ``--only`` it)."""
    from ..cowrite.rerun import arerun

    async def run(path: Path, step: str, item: int | None, **common: Any) -> Any:
        return await arerun(path, only=[_target(step, item)], **common)

    return await step_job(request, "regenerating", run)


async def recompute(request: Any) -> Any:
    from ..cowrite.rerun import arerun

    run = request.path_params["run"]
    studio = studio_of(request)
    path = studio.workspace.run_path(run)

    async def work(on_event: Callable[[Event], None]) -> Any:
        return await arerun(path, models=studio.models, on_event=on_event, stream=True)

    pending = (path / PENDING).is_file()  # a stopped regenerate: this finishes it
    what = "finishing the stopped regenerate" if pending else "recomputing what is out of date"
    return job_answer(request, run, work, what)


async def continue_(request: Any) -> Any:
    """Continue the step, or one item, where its answer ends."""
    from ..cowrite.continuation import acontinue_step

    async def run(path: Path, step: str, item: int | None, **common: Any) -> Any:
        return await acontinue_step(path, step, item, **common)

    return await step_job(request, "continuing", run)


async def step_job(request: Any, verb: str, call: Callable[..., Any]) -> Any:
    """``call(path, step, item, models=..., on_event=..., stream=True)`` as the run's job."""
    run, step = request.path_params["run"], request.path_params["step"]
    studio = studio_of(request)
    path = studio.workspace.run_path(run)
    item = item_of(await body(request), request)

    async def work(on_event: Callable[[Event], None]) -> Any:
        return await call(path, step, item, models=studio.models, on_event=on_event, stream=True)

    return job_answer(request, run, work, _what(verb, step, item))


async def stop(request: Any) -> Any:
    run = request.path_params["run"]
    studio = studio_of(request)
    studio.workspace.run_path(run)
    await studio.jobs.stop(run)
    return html(page("_busy.html", busy=None))


async def check(request: Any) -> Any:
    """The edit as the step's parser reads it (its error, with line:column), and what saving
    it would recompute: the rerun's own plan of it, nothing called, nothing written."""
    from ..cowrite.edit import TextEdit
    from ..cowrite.plan import aplan_rerun

    run, step = request.path_params["run"], request.path_params["step"]
    studio = studio_of(request)
    path = studio.workspace.run_path(run)
    data = await body(request)
    item = item_of(data, request)
    edit = TextEdit(str(data.get("text", "")), source=step)
    try:
        plan = await aplan_rerun(path, edits={(step, item): edit}, models=studio.models)
    except InputError as exc:
        return html(page("_check.html", error=_error(exc), plan=None), 422)
    return html(page("_check.html", error=None, plan=plan_view(plan, path)))


def plan_view(plan: Any, path: Path) -> Any:
    """The plan in the editor's words: ``dialogue of scenes 3 and 4``."""
    from types import SimpleNamespace

    from .outdated import calls_named
    from .runview import run_view

    view = run_view(path)
    return SimpleNamespace(
        unchanged=not plan.edited,
        recompute=calls_named([(c.step, c.item) for c in plan.recompute], view),
        maybe=calls_named([(c.step, c.item) for c in plan.may_recompute], view),
    )


def _error(exc: InputError) -> dict[str, str]:
    """An error for the editor: where (``step:line:column``), what, and the hint."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    where, sep, rest = message.partition(" ")
    if not sep or ":" not in where:
        where, rest = "", message
    return {"where": where, "message": rest, "hint": exc.hint or ""}


async def edit(request: Any) -> Any:
    from ..cowrite.edit import edit_text, step_history

    run, step = request.path_params["run"], request.path_params["step"]
    studio = studio_of(request)
    path = studio.workspace.run_path(run)
    data = await body(request)
    item = item_of(data, request)
    text = str(data.get("text", ""))
    base_version = str(data.get("base", ""))
    if studio.jobs.running(run) is not None:
        return html(page("_check.html", error=_busy(studio, run), plan=None), 409, _TO_CHECK)
    versions = await asyncio.to_thread(step_history, path, step, None)
    current = next((v for v in versions if v.current), None)
    if base_version and current is not None and base_version != str(current.version):
        context = await asyncio.to_thread(panel_context, request, run, step, item)
        context["stale_tab"] = current.version
        return html(page("_panel.html", sidebar_oob=True, **context), 409)
    try:
        await asyncio.to_thread(edit_text, path, step, text, item=item, source=step)
    except InputError as exc:  # shown under the editor; the panel stays as it is
        return html(page("_check.html", error=_error(exc), plan=None), 422, _TO_CHECK)
    context = await asyncio.to_thread(panel_context, request, run, step, item)
    return html(page("_panel.html", sidebar_oob=True, **context))


def _busy(studio: Any, run: str) -> dict[str, str]:
    job = studio.jobs.running(run)
    what = job.what if job is not None else "a job"
    return {
        "where": "busy",
        "message": f"{what} is running on this run",
        "hint": "wait, or stop it",
    }


async def restore(request: Any) -> Any:
    from ..cowrite.edit import checkout

    run, step = request.path_params["run"], request.path_params["step"]
    studio = studio_of(request)
    path = studio.workspace.run_path(run)
    data = await body(request)
    item = item_of(data, request)
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError("version must be a number")
    if studio.jobs.running(run) is not None:
        return html(page("_check.html", error=_busy(studio, run), plan=None), 409, _TO_CHECK)
    await asyncio.to_thread(checkout, path, step, version)
    context = await asyncio.to_thread(panel_context, request, run, step, item)
    return html(page("_panel.html", sidebar_oob=True, **context))


async def new_run(request: Any) -> Any:
    from .newrun import start_new_run

    try:
        return await start_new_run(request, await body(request))
    except DramaturgError as exc:
        return html(f'<p class="error" role="alert">{_escape(str(exc))}</p>', 422)


def _escape(text: str) -> str:
    import html as h

    return h.escape(text, quote=True)
