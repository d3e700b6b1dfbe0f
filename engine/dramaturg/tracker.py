"""Moved to :mod:`dramaturg.observe.tracker`. This alias keeps the documented import
``dramaturg.tracker`` working for one more release; it warns (DeprecationWarning) when imported."""

from __future__ import annotations

import warnings

from .observe.tracker import Board, StepState

__all__ = ["Board", "StepState"]

warnings.warn(
    "dramaturg.tracker moved to dramaturg.observe.tracker; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
