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
    "PlannedCall",
    "Problem",
    "ProviderError",
    "RerunPlan",
    "RunFailedError",
    "RunResult",
    "RunStorageError",
    "StepError",
    "StepResult",
    "TemplateRenderError",
    "Usage",
    "Version",
    "__version__",
    "acheckout",
    "acontinue_step",
    "aedit_step",
    "aplan_rerun",
    "arerun",
    "astep_history",
    "checkout",
    "continue_step",
    "edit_step",
    "load_chain",
    "load_run",
    "plan_rerun",
    "register_exporter",
    "register_parser",
    "rerun",
    "resume_run",
    "step_history",
]

_LAZY = {
    "Chain": "api",
    "Event": "events",
    "EventKind": "events",
    "load_chain": "api",
    "FakeChatModel": "providers.fakes",
    "FakeImageModel": "providers.fakes",
    "ImageModel": "images",
    "ImageRequest": "images",
    "ImageResult": "images",
    "RunResult": "result",
    "StepResult": "result",
    "Usage": "result",
    "register_parser": "chain.parsers",
    "ExportContext": "chain.exporters",
    "register_exporter": "chain.exporters",
    "load_run": "store.readback",
    "resume_run": "run.resume",
    "rerun": "cowrite.rerun",
    "arerun": "cowrite.rerun",
    "Version": "store.versions",
    "checkout": "cowrite.edit",
    "edit_step": "cowrite.edit",
    "step_history": "cowrite.edit",
    "acheckout": "cowrite.edit",
    "aedit_step": "cowrite.edit",
    "astep_history": "cowrite.edit",
    "continue_step": "cowrite.continuation",
    "acontinue_step": "cowrite.continuation",
    "plan_rerun": "cowrite.plan",
    "aplan_rerun": "cowrite.plan",
    "RerunPlan": "cowrite.planned",
    "PlannedCall": "cowrite.planned",
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
    StepError,
    TemplateRenderError,
)

if TYPE_CHECKING:
    from .api import Chain, load_chain
    from .chain.exporters import ExportContext, register_exporter
    from .chain.parsers import register_parser
    from .cowrite.continuation import acontinue_step, continue_step
    from .cowrite.edit import (
        acheckout,
        aedit_step,
        astep_history,
        checkout,
        edit_step,
        step_history,
    )
    from .cowrite.plan import aplan_rerun, plan_rerun
    from .cowrite.planned import PlannedCall, RerunPlan
    from .cowrite.rerun import arerun, rerun
    from .events import Event, EventKind
    from .images import ImageModel, ImageRequest, ImageResult
    from .providers.fakes import FakeChatModel, FakeImageModel
    from .result import RunResult, StepResult, Usage
    from .run.resume import resume_run
    from .store.readback import load_run
    from .store.versions import Version


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
