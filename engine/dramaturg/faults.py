"""Moved to :mod:`dramaturg.providers.faults`. This alias keeps the documented import
``dramaturg.faults`` working for one more release; it warns (DeprecationWarning) when imported."""

from __future__ import annotations

import warnings

from .providers.faults import (
    ALL_FAULTS,
    TRANSIENT_FAULTS,
    FaultPlan,
    FlakyChatModel,
    FlakyImageModel,
    flaky_image,
    flaky_text,
)

__all__ = [
    "ALL_FAULTS",
    "TRANSIENT_FAULTS",
    "FaultPlan",
    "FlakyChatModel",
    "FlakyImageModel",
    "flaky_image",
    "flaky_text",
]

warnings.warn(
    "dramaturg.faults moved to dramaturg.providers.faults; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
