"""The studio's pages and panels (GET routes): they read, and change nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ..errors import DramaturgError
from ..spec import ChainSpec
from ..store.readback import read_snapshot
from ..store.rundir import PENDING
from .outdated import Outdated, outdated
from .panel import panel_view
from .render import diff_lines, page
from .runview import RunView, run_view
from .security import PREVIEW_CSP
from .workspace import NotFound

#: the run's own file shown as the preview (the chain's HTML export), if it wrote one
PREVIEW = "screenplay.html"


def studio_of(request: Any) -> Any:
    return request.app.state.studio


def html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import HTMLResponse

    return HTMLResponse(text, status_code=status, headers=headers)


def base(request: Any) -> dict[str, Any]:
    return {"csrf": studio_of(request).secrets.csrf, "oob": False}


async def index(request: Any) -> Any:
    studio = studio_of(request)
    if studio.first is not None and "all" not in request.query_params:
        from starlette.responses import RedirectResponse

        return RedirectResponse(f"/runs/{studio.first}", status_code=303)
    runs = await asyncio.to_thread(studio.workspace.runs)
    chains = await asyncio.to_thread(_chains, studio.workspace.chains)
    return html(
        page("index.html", runs=runs, chains=chains, out=studio.workspace.out, **base(request))
    )


def _chains(paths: tuple[Path, ...]) -> list[dict[str, Any]]:
    """The chains a new run may use, with their declared inputs (a broken one is left out)."""
    from ..api import load_chain

    out = []
    for path in paths:
        try:
            chain = load_chain(path)
        except DramaturgError:
            continue
        inputs = chain.spec.inputs
        out.append(
            {
                "name": chain.spec.name or path.stem,
                "inputs": list(inputs.items()),
                "names": set(inputs),
            }
        )
    return out


def item_param(request: Any) -> int | None:
    raw = request.query_params.get("item", "")
    if raw == "":
        return None
    if not raw.isdigit():
        raise NotFound(raw)
    return int(raw)


def read_view(request: Any, run: str) -> tuple[Path, RunView, Outdated]:
    """The run, with what is out of date in it (the plan of a recompute)."""
    studio = studio_of(request)
    path = studio.workspace.run_path(run)
    running = studio.jobs.running(run) is not None
    view = run_view(path, running=running)
    late = outdated(path, view, studio.models)
    return path, run_view(path, running=running, stale_items=late.items), late


def panel_context(request: Any, run: str, step: str | None, item: int | None) -> dict[str, Any]:
    path, view, late = read_view(request, run)
    ids = [r.id for r in view.steps]
    if step is None:
        step = view.navigator or (ids[0] if ids else None)
    if step is None or step not in ids:
        raise NotFound(step or "")
    spec = ChainSpec.model_validate(read_snapshot(path))
    panel = panel_view(path, view, step, item, spec)
    preview = PREVIEW if PREVIEW in view.exports and (path / PREVIEW).is_file() else None
    stamp = int((path / PREVIEW).stat().st_mtime_ns) if preview else 0
    studio = studio_of(request)
    job = studio.jobs.running(run) or studio.jobs.last.get(run)
    return {
        "view": view,
        "panel": panel,
        "run": run,
        "preview": preview,
        "stamp": stamp,
        "job": job,
        "busy": None,
        "outdated": late,
        "pending": (path / PENDING).is_file(),
        **base(request),
    }


async def run_page(request: Any) -> Any:
    run = request.path_params["run"]
    step = request.query_params.get("step") or None
    context = await asyncio.to_thread(panel_context, request, run, step, item_param(request))
    return html(page("run.html", **context))


async def step_panel(request: Any) -> Any:
    run, step = request.path_params["run"], request.path_params["step"]
    context = await asyncio.to_thread(panel_context, request, run, step, item_param(request))
    if request.headers.get("hx-request") != "true":  # opened as a page: the whole run
        return html(page("run.html", **context))
    return html(page("_panel.html", sidebar_oob=True, **{**context, "oob": False}))


async def diff(request: Any) -> Any:
    from ..cowrite.edit import step_history
    from ..cowrite.editcheck import editable

    run, step = request.path_params["run"], request.path_params["step"]
    path = studio_of(request).workspace.run_path(run)
    item = item_param(request)
    try:
        a, b = int(request.query_params.get("a", "")), int(request.query_params.get("b", ""))
    except ValueError:
        return html('<p class="error">pick two versions</p>', 422)
    versions = {v.version: v for v in await asyncio.to_thread(step_history, path, step, item)}
    if a not in versions or b not in versions:
        raise NotFound(f"{a} {b}")
    spec = ChainSpec.model_validate(read_snapshot(path)).steps[step]
    text_a = editable(spec, versions[a].value(item))
    text_b = editable(spec, versions[b].value(item))
    return html(page("_diff.html", a=a, b=b, lines=diff_lines(text_a, text_b)))


_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".fountain": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".fdx": "application/xml",
}


async def run_file(request: Any) -> Any:
    from starlette.responses import FileResponse

    run, name = request.path_params["run"], request.path_params["name"]
    found = studio_of(request).workspace.file(run, name)
    kind = _TYPES.get(found.suffix.lower(), "application/octet-stream")
    headers = {}
    if found.suffix.lower() == ".html":  # the run's own page: its own policy, in a sandbox
        headers = {"content-security-policy": PREVIEW_CSP, "x-frame-options": "SAMEORIGIN"}
    inline = found.suffix.lower() in (".html", ".png", ".jpg", ".jpeg", ".webp")
    return FileResponse(
        found,
        media_type=kind,
        headers=headers,
        filename=None if inline else found.name,
        content_disposition_type="inline" if inline else "attachment",
    )


async def not_found(request: Any, exc: Exception) -> Any:
    context = {"csrf": studio_of(request).secrets.csrf, "oob": False}
    return html(
        page("message.html", title="Not found", text="No such run, step or file.", **context), 404
    )


async def bad_input(request: Any, exc: Exception) -> Any:
    context = {"csrf": studio_of(request).secrets.csrf, "oob": False}
    return html(page("message.html", title="That did not work", text=str(exc), **context), 422)


HANDLERS: dict[Any, Any] = {NotFound: not_found, DramaturgError: bad_input}
