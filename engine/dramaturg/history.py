"""Moved to :mod:`dramaturg.store.history`. This alias keeps the documented import
``dramaturg.history`` working for one more release; it warns (DeprecationWarning) when imported."""

from __future__ import annotations

import warnings

from .store.history import RunInfo, find_run, list_runs

__all__ = ["RunInfo", "find_run", "list_runs"]

warnings.warn(
    "dramaturg.history moved to dramaturg.store.history; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
