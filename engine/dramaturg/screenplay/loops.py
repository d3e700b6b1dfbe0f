"""Dramatron's loop check: a paragraph repeated more than ``max_repeats`` times is a loop.

Small language models fall into repetition loops (the same line of dialogue, the same scene,
over and over); every professional in the Dramatron study noticed them. The chain's parsers use
these helpers to reject a looping output (the engine then resamples with the next seed) and, on
the step's last attempt, to keep the output with the repeats removed instead of failing.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Dramatron resamples when a paragraph appears more than this many times
DEFAULT_MAX_REPEATS = 3

_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


def paragraph_key(text: str) -> str:
    """What counts as "the same paragraph": case, whitespace and edge punctuation ignored."""
    return _EDGE_PUNCT.sub("", _SPACE.sub(" ", text).strip().casefold())


def looping(paragraphs: Iterable[str], max_repeats: int = DEFAULT_MAX_REPEATS) -> list[str]:
    """Keys of the paragraphs seen more than ``max_repeats`` times, in first-seen order."""
    counts = Counter(k for k in (paragraph_key(p) for p in paragraphs) if k)
    return [k for k, n in counts.items() if n > max_repeats]


def drop_repeats(items: Sequence[T], key: Callable[[T], str], keys: Iterable[str]) -> list[T]:
    """``items`` with every occurrence after the first of a paragraph in ``keys`` removed."""
    wanted = set(keys)
    seen: set[str] = set()
    out: list[T] = []
    for item in items:
        k = paragraph_key(key(item))
        if k in wanted:
            if k in seen:
                continue
            seen.add(k)
        out.append(item)
    return out


def describe(keys: Sequence[str], limit: int = 60) -> str:
    """A short quote of the first looping paragraph, for error messages."""
    if not keys:
        return ""
    first = keys[0]
    quote = first if len(first) <= limit else first[: limit - 3] + "..."
    more = f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""
    return f"'{quote}'{more}"
