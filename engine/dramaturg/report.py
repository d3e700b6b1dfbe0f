"""Moved to :mod:`dramaturg.observe.report`. This alias keeps the documented import
``dramaturg.report`` working for one more release; it warns (DeprecationWarning) when imported."""

from __future__ import annotations

import warnings

from .observe.report import REPORT_FILE, write_report

__all__ = ["REPORT_FILE", "write_report"]

warnings.warn(
    "dramaturg.report moved to dramaturg.observe.report; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
