"""Dramaturg: YAML chains of Jinja2 prompt steps, run as a DAG.

>>> import dramaturg
>>> chain = dramaturg.load_chain("chains/dramatron.yaml")
>>> result = chain.run({"logline": "..."}, models={"default": "cohere:command-a-03-2025"})
>>> result["title"]

Heavy libraries (LangChain, model runtimes) load only when a run needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "Chain",
    "ChainError",
    "DramaturgError",
    "Event",
    "EventKind",
    "ExportContext",
    "ExportError",
    "FakeChatModel",
    "FakeImageModel",
    "ImageModel",
    "ImageRequest",
    "ImageResult",
    "InputError",
    "ModelError",
    "ParseError",
    "Problem",
    "ProviderError",
    "RunFailedError",
    "RunResult",
    "RunStorageError",
    "StepResult",
    "TemplateRenderError",
    "Usage",
    "Version",
    "__version__",
    "checkout",
    "continue_step",
    "edit_step",
    "load_chain",
    "load_run",
    "register_exporter",
    "register_parser",
    "rerun",
    "resume_run",
    "step_history",
]

_LAZY = {
    "Chain": "chain",
    "Event": "events",
    "EventKind": "events",
    "load_chain": "chain",
    "FakeChatModel": "fakes",
    "FakeImageModel": "fakes",
    "ImageModel": "images",
    "ImageRequest": "images",
    "ImageResult": "images",
    "RunResult": "result",
    "StepResult": "result",
    "Usage": "result",
    "register_parser": "parsers",
    "ExportContext": "exporters",
    "register_exporter": "exporters",
    "load_run": "runs",
    "resume_run": "resume",
    "rerun": "reruns",
    "Version": "versions",
    "checkout": "cowrite",
    "edit_step": "cowrite",
    "step_history": "cowrite",
    "continue_step": "extend",
}

from .errors import (  # noqa: E402
    ChainError,
    DramaturgError,
    ExportError,
    InputError,
    ModelError,
    ParseError,
    Problem,
    ProviderError,
    RunFailedError,
    RunStorageError,
    TemplateRenderError,
)

if TYPE_CHECKING:
    from .chain import Chain, load_chain
    from .cowrite import checkout, edit_step, step_history
    from .events import Event, EventKind
    from .exporters import ExportContext, register_exporter
    from .extend import continue_step
    from .fakes import FakeChatModel, FakeImageModel
    from .images import ImageModel, ImageRequest, ImageResult
    from .parsers import register_parser
    from .reruns import rerun
    from .result import RunResult, StepResult, Usage
    from .resume import resume_run
    from .runs import load_run
    from .versions import Version


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dramaturg' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
