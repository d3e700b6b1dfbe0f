"""Chain authors' regular expressions, run with a time bound.

A pattern that backtracks catastrophically (``(x+x+)+y`` on 77 ``x``) would hold the event loop
for ever: independent steps never start and only Ctrl-C ends the run. Patterns from chain files
(``parse: {type: regex}``, ``pattern`` in answer schemas) run on model answers through the
``regex`` package, whose matching takes a timeout; a pattern that takes longer than
:data:`TIMEOUT` seconds on an answer is a :class:`ParseError` that names it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import regex

from ..errors import ParseError

#: seconds one pattern may take on one answer
TIMEOUT = 1.0
_FLAGS = {"IGNORECASE": regex.IGNORECASE, "MULTILINE": regex.MULTILINE, "DOTALL": regex.DOTALL}


@functools.lru_cache(maxsize=512)
def compiled(pattern: str, flags: tuple[str, ...] = ()) -> Any:
    """The compiled pattern (``re`` syntax; ``regex.error`` when it is not valid)."""
    value = 0
    for name in flags:
        value |= _FLAGS[name]
    return regex.compile(pattern, value | regex.VERSION0)


def _too_slow(pattern: str) -> ParseError:
    return ParseError(
        f"the pattern {pattern!r} took more than {TIMEOUT:g} s on the answer",
        hint="it backtracks catastrophically: avoid nested repeats such as (x+)+",
    )


def search(pattern: str, text: str, flags: tuple[str, ...] = ()) -> Any:
    """``regex.search`` with the time bound (a match or None)."""
    try:
        return compiled(pattern, flags).search(text, timeout=TIMEOUT)
    except TimeoutError:
        raise _too_slow(pattern) from None


def finditer(pattern: str, text: str, flags: tuple[str, ...] = ()) -> Iterator[Any]:
    """Every match, with the time bound over the whole search."""
    try:
        yield from compiled(pattern, flags).finditer(text, timeout=TIMEOUT)
    except TimeoutError:
        raise _too_slow(pattern) from None
