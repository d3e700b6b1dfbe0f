"""Runaway model output: what a language model writes when it does not stop where it should.

Three cases, each handled as Dramatron does (or as its parsers need):

* **it writes past its answer**: after the end marker (``**END**``), or on into a new
  ``Example N.`` of its own: :func:`cut_runaway` keeps the text before;
* **it is cut off** at the step's ``max_tokens``, in the middle of a JSON answer:
  :func:`json_value` says so (None) and :func:`json_objects` salvages every complete record
  written before the cut;
* **it loops**: the same paragraph over and over. Dramatron resamples when a paragraph appears
  more than three times (:func:`looping`); on the step's last attempt the chain's parsers keep
  the output with the repeats removed (:func:`drop_repeats`) instead of failing.

Pure functions, no I/O. Used by :mod:`.parsers`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

# -- past the answer -----------------------------------------------------------------------------
#: end markers: text after them is not part of the answer
_END_MARKER = re.compile(
    r"\*\*\s*END\s*\*\*|<\s*/?\s*(?:end|stop)\s*>|\[\s*END\s*\]|^\s*END\s*$",
    re.IGNORECASE | re.MULTILINE,
)
#: a runaway new example ("Example 3.", "**Example:**", "### Example") after the answer
_RUNAWAY = re.compile(r"^[\s*#_>]*Example(?:\s+\d+)?\s*[.:]?[\s*_]*$", re.IGNORECASE | re.MULTILINE)


def cut_runaway(text: str) -> str:
    """The text before the first end marker or runaway ``Example N.`` heading (which only
    counts after some content: an answer may open with a heading the parser ignores)."""
    cut = len(text)
    m = _END_MARKER.search(text)
    if m:
        cut = m.start()
    for m in _RUNAWAY.finditer(text, 0, cut):
        if text[: m.start()].strip():
            cut = m.start()
            break
    return text[:cut]


# -- cut off -------------------------------------------------------------------------------------
FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?|```")
_DECODER = json.JSONDecoder(strict=False)  # control characters inside strings are tolerated
#: brackets tried as the start of JSON before giving up: each failed try may read to the end
#: of the text, so garbage full of brackets would take time quadratic in its length
MAX_TRIES = 200


def _decode(body: str, start: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(body, start)
    except RecursionError:  # nested deeper than Python's parser goes: not an answer
        raise json.JSONDecodeError("nested too deeply", body, start) from None


def json_value(text: str) -> Any:
    """The first JSON object or array in ``text`` (code fences and prose around it ignored);
    None when there is none, or when it is cut short."""
    body = FENCE.sub("\n", text)
    for tries, m in enumerate(re.finditer(r"[\[{]", body)):
        if tries >= MAX_TRIES:
            return None
        try:
            value, _ = _decode(body, m.start())
        except json.JSONDecodeError:
            if re.match(r"[\[{]\s*(?:[\"\[{\]}]|$)", body[m.start() :]):
                return None  # JSON that does not close: truncated
            continue  # a bracket in prose
        if isinstance(value, (dict, list)):
            return value
    return None


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every complete JSON object in ``text`` that is not inside another complete one: the
    records of an answer cut short (``{"scenes": [{...}, {...}, {"place": "Qu``)."""
    body = FENCE.sub("\n", text)
    found: list[dict[str, Any]] = []
    pos = failed = 0
    while failed < MAX_TRIES:
        start = body.find("{", pos)
        if start < 0:
            return found
        try:
            value, end = _decode(body, start)
        except json.JSONDecodeError:
            pos = start + 1
            failed += 1
            continue
        if isinstance(value, dict):
            found.append(value)
        pos = end
    return found


# -- loops ---------------------------------------------------------------------------------------
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
