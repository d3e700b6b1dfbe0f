"""The engine's metadata of a model call (``dramaturg_step``, ``dramaturg_item``,
``dramaturg_attempt``, ``dramaturg_seed``, ``dramaturg_parse``), as the built-in models read it.

The engine sends it as LangChain's ``config={"metadata": ...}``, which reaches a model's
``_agenerate`` in its run manager. LangChain's ``astream`` gives ``_astream`` no run manager, so
a streamed call also carries it here, for the duration of the call (:func:`calling`): a model
reads :func:`call_metadata` and gets it either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

_CURRENT: ContextVar[Mapping[str, Any] | None] = ContextVar("dramaturg_call", default=None)


def call_metadata(run_manager: Any = None) -> dict[str, Any]:
    """The metadata of the call being made: its run manager's, else what :func:`calling` holds
    for it (empty when neither has any)."""
    given = getattr(run_manager, "metadata", None) if run_manager is not None else None
    if given:
        return dict(given)
    return dict(_CURRENT.get() or {})


@contextlib.contextmanager
def calling(metadata: Mapping[str, Any]) -> Iterator[None]:
    """``metadata`` is the call's while the block runs (in this task or thread only)."""
    token = _CURRENT.set(metadata)
    try:
        yield
    finally:
        _CURRENT.reset(token)
