"""Text and JSON helpers shared by the Dramatron parsers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import loops

Record = dict[str, Any]


# -- shared text helpers -------------------------------------------------------------------------
_BULLET = re.compile(r"^\s*(?:[-*+\u2022\u2023\u25e6>]+|\(?\d{1,3}[.)\]:]|\(?[a-z][.)])\s+")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_QUOTE_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb"}


def _unmark(line: str) -> str:
    """A line without markdown emphasis, heading marks or leading bullets and numbering."""
    line = line.replace("**", "").replace("__", "")
    line = re.sub(r"^\s*#{1,6}\s*", "", line)
    line = re.sub(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)", "", line)
    line = _BULLET.sub("", line)
    return line.strip()


def _one_line(value: Any) -> str:
    """Model text as one clean line: control characters out, whitespace runs made one space."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def _unquote(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def _clean_text(value: Any) -> str:
    """Prose (a beat, a description, a line): one line, markdown and wrapping quotes removed."""
    text = _one_line(value).replace("**", "").replace("__", "")
    return _unquote(text)


def _key(name: str) -> str:
    return re.sub(r"[^\w]+", " ", name.casefold()).strip()


_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "de", "del", "for", "from", "in", "into", "la", "le"}
    | {"of", "off", "on", "or", "over", "the", "to", "under", "upon", "with"}
)


def smart_title(text: str) -> str:
    """Title case for place names and plot elements: ``the OLD lighthouse`` -> ``The Old
    Lighthouse``, small words lower case inside, mixed-case words (``McAllister``) and
    apostrophes (``Wren's``) kept right."""
    words = text.split(" ")
    out = []
    for i, word in enumerate(words):
        letters = [c for c in word if c.isalpha()]
        mixed = any(c.isupper() for c in letters[1:]) and any(c.islower() for c in letters)
        if mixed:
            out.append(word)
            continue
        low = word.lower()
        if 0 < i < len(words) - 1 and low in _SMALL_WORDS:
            out.append(low)
            continue
        # capitalise the first letter of each hyphenated part: "sea-wall" -> "Sea-Wall"
        parts = [p[:1].upper() + p[1:] if p else p for p in low.split("-")]
        out.append("-".join(parts))
    return " ".join(out)


# -- JSON answers ----------------------------------------------------------------------------
def _norm_keys(record: Mapping[str, Any]) -> Record:
    """``{"Plot Element": x, "plotElement": y}`` -> ``{"plot_element": ...}``."""
    out: Record = {}
    for k, v in record.items():
        key = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", str(k))
        key = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
        out.setdefault(key, v)
    return out


def _pick(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in record and record[name] not in (None, ""):
            return record[name]
    return None


def _json_records(text: str, list_keys: tuple[str, ...], is_record: Any) -> list[Any] | None:
    """The records of a JSON answer: a list, or the list under one of ``list_keys`` (or the
    first list value) of an object; for a truncated answer, the complete objects before the
    cut. None when the text holds no JSON at all."""
    value = loops.json_value(text)
    if value is None:
        salvaged = [_norm_keys(o) for o in loops.json_objects(text)]
        salvaged = [o for o in salvaged if is_record(o)]
        return salvaged or None
    if isinstance(value, dict):
        norm = _norm_keys(value)
        inner = next((norm[k] for k in list_keys if isinstance(norm.get(k), list)), None)
        if inner is None:
            inner = next((v for v in norm.values() if isinstance(v, list)), None)
        if inner is None:
            return [value]
        value = inner
    return list(value)


def _looks_like_json(text: str) -> bool:
    body = loops.FENCE.sub("", text).strip()
    return body.startswith(("{", "[")) or bool(re.search(r'[\[{]\s*"\w', body))


def _options(options: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return options or {}


def _max_repeats(options: Mapping[str, Any]) -> int:
    value = options.get("max_repeats", loops.DEFAULT_MAX_REPEATS)
    return int(value) if isinstance(value, (int, float)) and value >= 1 else 3


def _last(attempt: int, attempts: int) -> bool:
    return attempt >= attempts - 1
