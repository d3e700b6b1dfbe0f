"""Keep API keys out of files, logs and messages."""

from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}")


def secret_values() -> list[str]:
    """Values of environment variables whose names look like credentials."""
    return sorted(
        (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8),
        key=len,
        reverse=True,
    )


def scrub(text: str) -> str:
    """``text`` with every credential from the environment, and bearer tokens, masked."""
    for value in secret_values():
        if value in text:
            text = text.replace(value, "***")
    return _BEARER.sub(r"\1***", text)


#: a bearer token that more text may still extend, at the end of a text ("Bea", "Bearer ab")
_BEARER_OPEN = re.compile(r"(?i)b(?:e(?:a(?:r(?:e(?:r(?:\s+[A-Za-z0-9._\-]*)?)?)?)?)?)?$")


def settled(text: str) -> int:
    """How much of ``text``, the start of a longer text still arriving, :func:`scrub` can mask
    on its own: no credential reaches past that point, and none that more text could complete or
    extend begins before it. A text streamed in pieces is masked piece by piece this way."""
    values = secret_values()
    cut = len(text)
    for value in values:  # the longest end of the text that begins a credential
        for n in range(min(len(value) - 1, len(text)), 0, -1):
            if text.endswith(value[:n]):
                cut = min(cut, len(text) - n)
                break
    opened = _BEARER_OPEN.search(text)
    if opened is not None:
        cut = min(cut, opened.start())
    spans = [m.span() for m in _BEARER.finditer(text)]
    for value in values:
        start = text.find(value)
        while start >= 0:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    moved = True
    while moved:  # a credential across the cut: cut before it
        moved = False
        for start, end in spans:
            if start < cut < end:
                cut, moved = start, True
    return max(cut, 0)
