"""How figures are written for people: durations, token counts, money, times of day."""

from __future__ import annotations

import math
import time


def duration(seconds: float | None) -> str:
    """``0.4s``, ``12.3s``, ``2:05``, ``1:02:05``; ``-`` when unknown."""
    if seconds is None or seconds < 0:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def tokens(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def money(amount: float | None, currency: str = "USD") -> str:
    """``$0.42``, ``$0.0031``, ``$0``; ``?`` when unknown (a model without a price)."""
    if amount is None:
        return "?"
    if amount == 0:
        text = "0"
    elif amount >= 0.01:
        text = f"{amount:,.2f}"
    elif amount < 0.000001:
        text = "0.000001"
        return f"<${text}" if currency == "USD" else f"<{text} {currency}"
    else:  # two significant digits
        text = f"{amount:.{1 - math.floor(math.log10(amount))}f}"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def when(epoch: float | None) -> str:
    """A local date and time, ``2026-11-22 14:30``."""
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"
