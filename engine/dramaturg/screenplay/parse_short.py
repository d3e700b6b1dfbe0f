"""The Dramatron parsers of short answers: the title and a place's description."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dramaturg import ParseError

from . import loops
from .parse_text import _clean_text, _norm_keys, _options, _unmark, _unquote

_LABEL = re.compile(r"^\s*(?:title|description|place description)\s*[:\-\u2013]\s*", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'\u201c])")
_END = re.compile(r"\*\*END\*\*|\bEND\b\s*$")

#: longest title kept, in words (a longer one is a sentence the model wrote instead)
MAX_TITLE_WORDS = 8


def _answer(text: str, *keys: str) -> str:
    """The answer's text: a JSON object's field (``{"title": ...}``) or the plain text, cut at
    the end marker."""
    value = loops.json_value(text) if text.lstrip().startswith(("{", "[", "`")) else None
    if isinstance(value, dict):
        norm = _norm_keys(value)
        found = next((norm[k] for k in keys if isinstance(norm.get(k), str)), None)
        if found is None:
            found = next((v for v in norm.values() if isinstance(v, str)), "")
        return str(found)
    if isinstance(value, str):
        return value
    for key in keys:  # a JSON answer cut short: {"title": "The Salt
        m = re.search(rf'"{key}"\s*:\s*"([^"]*)', text, re.I)
        if m:
            return m.group(1)
    return _END.split(text, maxsplit=1)[0]


def title(text: str, options: Mapping[str, Any] | None = None) -> str:
    """The film's title: one line, without labels, quotes or markdown; at most
    ``max_words`` words (default 8): a title that runs on is cut at a comma or colon, or
    rejected (so that the engine resamples) when it is a sentence with no natural cut."""
    opts = _options(options)
    limit = int(opts.get("max_words", MAX_TITLE_WORDS))
    lines = [_unmark(line) for line in _answer(text, "title").splitlines()]
    first = next((line for line in lines if _LABEL.sub("", line).strip()), "")
    value = _unquote(_LABEL.sub("", first)).rstrip(" .").strip()
    value = _unquote(value)
    if not value:
        raise ParseError("the title is empty", hint="ask for the title only")
    words = value.split()
    if len(words) > limit:
        head = re.split(r"[,:;\u2013\u2014]|\s-\s", value, maxsplit=1)[0].strip()
        if not head or len(head.split()) > limit:
            raise ParseError(
                f"the title is a sentence of {len(words)} words, not a title",
                hint=f"titles have at most {limit} words (option max_words)",
            )
        value = head
    return value


def place(text: str, options: Mapping[str, Any] | None = None) -> str:
    """A place's description: prose without labels or markdown, at most ``max_sentences``
    sentences (default 3), repeated sentences dropped."""
    opts = _options(options)
    limit = int(opts.get("max_sentences", 3))
    body = " ".join(_unmark(line) for line in _answer(text, "description").splitlines())
    body = _clean_text(_LABEL.sub("", body.strip()))
    sentences: list[str] = []
    for sentence in _SENTENCE_END.split(body):
        s = sentence.strip()
        if s and s.casefold() not in (x.casefold() for x in sentences):
            sentences.append(s)
    if not sentences or len(" ".join(sentences)) < 12:
        raise ParseError("the place description is empty", hint="ask for two or three sentences")
    return " ".join(sentences[:limit])
