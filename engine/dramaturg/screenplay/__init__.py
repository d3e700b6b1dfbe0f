"""Screenplays from Dramatron-style runs: the model, its assembly from a run, and its formats.

The ``screenplay`` exporter (:mod:`.export`) writes Fountain, Final Draft (FDX), an industry
PDF, an illustrated HTML page and PDF, and the run's log. From Python::

    from dramaturg import load_run
    from dramaturg.screenplay import to_fountain
    from dramaturg.screenplay.assemble import assemble

    sp = assemble(load_run("outputs/<run-id>"))
    print(to_fountain(sp))

Only the public engine API (``import dramaturg``) is used here. Names load lazily, so that
importing the chain's parsers (``dramaturg.screenplay.parsers``) stays cheap. (``assemble`` is
imported from its module: a package attribute of that name would shadow the module.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Screenplay",
    "render_html",
    "render_illustrated_pdf",
    "render_log",
    "render_pdf",
    "to_fdx",
    "to_fountain",
]

_LAZY = {
    "Screenplay": "model",
    "render_html": "html",
    "render_illustrated_pdf": "illustrated_pdf",
    "render_log": "log",
    "render_pdf": "pdf",
    "to_fdx": "fdx",
    "to_fountain": "fountain",
}

if TYPE_CHECKING:
    from .fdx import to_fdx
    from .fountain import to_fountain
    from .html import render_html
    from .illustrated_pdf import render_illustrated_pdf
    from .log import render_log
    from .model import Screenplay
    from .pdf import render_pdf


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dramaturg.screenplay' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
