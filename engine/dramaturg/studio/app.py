"""The studio's web app: its routes, its static files and its guard, put together.

``build_app`` gives an ASGI app (Starlette behind :class:`~.security.Guard`); ``serve`` in
:mod:`.server` runs it with uvicorn. Routes (every one behind the guard):

=========================================  ===================================================
``GET /``                                  the runs, and a form for a new one
``GET /runs/{run}``                        a run: steps, navigator, a step's panel, preview
``GET /runs/{run}/step/{step}[?item=N]``   a step's (an item's) panel
``GET /runs/{run}/step/{step}/diff``       two versions side by side (``a``, ``b``)
``GET /runs/{run}/events``                 the run's events (server-sent; HTML to swap in)
``GET /runs/{run}/files/{name}``           a file the run's manifest lists
``POST /runs``                             a new run (JSON: chain, logline, ...)
``POST /runs/{run}/step/{step}/check``     what an edit would be, and what it would recompute
``POST /runs/{run}/step/{step}/edit``      save an edit (409 when the page's version is old)
``POST /runs/{run}/step/{step}/regenerate`` regenerate the step or one item (a job)
``POST /runs/{run}/step/{step}/continue``  continue the step or one item (a job)
``POST /runs/{run}/step/{step}/restore``   make an earlier version current
``POST /runs/{run}/recompute``             recompute what is out of date (a job)
``POST /runs/{run}/stop``                  stop the run's job
=========================================  ===================================================

Requests send JSON (no form parsing, so no multipart library); answers are HTML fragments.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .jobs import Jobs
from .security import Guard, Secrets, allowed_hosts
from .workspace import Workspace


@dataclass
class Studio:
    """What every route reads: the runs, the secrets, the jobs."""

    workspace: Workspace
    secrets: Secrets = field(default_factory=Secrets)
    jobs: Jobs = field(default_factory=Jobs)
    #: models for the runs' co-writing calls (None: as each run recorded them)
    models: dict[str, Any] | None = None
    #: the first run to show (``dramaturg studio RUN``)
    first: str | None = None


def static_dir() -> Path:
    return Path(str(resources.files("dramaturg.studio") / "static"))


def build_app(studio: Studio, *, host: str, port: int, allow: tuple[str, ...] = ()) -> Any:
    """The studio's ASGI app, answering only at ``host``:``port`` (and ``allow``'s names)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from . import actions, pages, stream

    routes = [
        Route("/", pages.index),
        Route("/runs", actions.new_run, methods=["POST"]),
        Route("/runs/{run}", pages.run_page),
        Route("/runs/{run}/events", stream.events),
        Route("/runs/{run}/files/{name:path}", pages.run_file),
        Route("/runs/{run}/step/{step}", pages.step_panel),
        Route("/runs/{run}/step/{step}/diff", pages.diff),
        Route("/runs/{run}/step/{step}/check", actions.check, methods=["POST"]),
        Route("/runs/{run}/step/{step}/edit", actions.edit, methods=["POST"]),
        Route("/runs/{run}/step/{step}/regenerate", actions.regenerate, methods=["POST"]),
        Route("/runs/{run}/step/{step}/continue", actions.continue_, methods=["POST"]),
        Route("/runs/{run}/step/{step}/restore", actions.restore, methods=["POST"]),
        Route("/runs/{run}/recompute", actions.recompute, methods=["POST"]),
        Route("/runs/{run}/stop", actions.stop, methods=["POST"]),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        await studio.jobs.close()

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=pages.HANDLERS)
    app.state.studio = studio
    return Guard(app, studio.secrets, allowed_hosts(host, port, allow))
