"""The public API is exactly the curated names, all importable, with one root exception."""

from __future__ import annotations

import importlib
import sys

import pytest

import dramaturg

EXPECTED = {
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
}


def test_exported_names():
    assert set(dramaturg.__all__) == EXPECTED
    assert dramaturg.__all__ == sorted(dramaturg.__all__)
    for name in EXPECTED:
        assert getattr(dramaturg, name) is not None


def test_one_root_exception():
    errors = [
        getattr(dramaturg, n)
        for n in EXPECTED
        if isinstance(getattr(dramaturg, n), type) and issubclass(getattr(dramaturg, n), Exception)
    ]
    assert len(errors) == 11
    assert all(issubclass(e, dramaturg.DramaturgError) for e in errors)


def test_fake_chat_model_is_a_langchain_chat_model():
    from langchain_core.language_models import BaseChatModel

    assert issubclass(dramaturg.FakeChatModel, BaseChatModel)
    assert issubclass(dramaturg.FakeImageModel, dramaturg.ImageModel)


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("dramaturg.tracker", "dramaturg.observe.tracker", "Board"),
        ("dramaturg.report", "dramaturg.observe.report", "write_report"),
        ("dramaturg.history", "dramaturg.store.history", "list_runs"),
        ("dramaturg.faults", "dramaturg.providers.faults", "FaultPlan"),
    ],
)
def test_documented_deep_imports_still_work_and_say_where_they_moved(old, new, name):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)
