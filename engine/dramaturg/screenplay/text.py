"""Model text made safe at assembly, once, for every export (Fountain, FDX, PDF, HTML).

Every field of the screenplay (title, logline, names, places, descriptions, speech, the
author and draft date from the options) goes through :func:`clean`, which keeps one line of
printable text:

- characters XML 1.0 does not allow (C0 controls, lone surrogates as from an answer cut inside
  an emoji, U+FFFE, U+FFFF) are taken out, with C1 controls, the byte-order mark and the other
  noncharacters (U+FDD0-U+FDEF, the last two code points of every plane);
- the explicit bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) are
  taken out: they can make a line display in an order other than its text (the marks U+200E,
  U+200F and U+061C stay, as do joiners such as U+200D in emoji sequences);
- a surrogate pair left as two code points is joined into its character;
- whitespace runs (line breaks included) become one space.

Names and places get more rules, so that no export can read them as something else:
:func:`name` takes a scene-heading prefix (``INT.``, ``EXT ``, ``I/E``...) off the start of a
character's name; :func:`cue` also keeps parentheses only around extensions (``MARA (V.O.)``)
and drops carets (Fountain's dual dialogue mark); :func:`place` drops ``#``, which Fountain
reads as a scene number.
"""

from __future__ import annotations

import re
from typing import Any

_PLANE_ENDS = "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
_DROP = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufdd0-\ufdef"
    f"\u202a-\u202e\u2066-\u2069{_PLANE_ENDS}]"
)
_EXTENSION = re.compile(r"\s*\([^()]*\)\s*$")
#: a scene-heading prefix as Fountain parsers read one: the word, then a period or a space
HEADING_PREFIX = re.compile(
    r"^(?:int\.?\s*/\s*ext|ext\.?\s*/\s*int|i\s*/\s*e|int|ext|est)(?:\.|\s)\s*", re.IGNORECASE
)


def clean(value: Any) -> str:
    """One line of printable text (the rules in the module docstring)."""
    if value is None:
        return ""
    text = str(value)
    # joins surrogate pairs; lone surrogates are dropped with the rest below
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return " ".join(_DROP.sub("", text).split())


def paragraphs(value: Any) -> list[str]:
    """Paragraphs of a text (split at blank lines), each made one line."""
    raw = "" if value is None else str(value)
    return [p for p in (clean(block) for block in re.split(r"\n\s*\n", raw)) if p]


def name(value: Any) -> str:
    """A character's name or cue: clean, without a scene-heading prefix at its start
    (``INT. KITCHEN`` -> ``KITCHEN``; a name that is only a prefix loses its period)."""
    text = clean(value)
    rest = text
    while m := HEADING_PREFIX.match(rest):
        rest = rest[m.end() :]
    return rest.strip() or text.rstrip(". /")


def place(value: Any) -> str:
    """A place name: clean, without ``#`` (``LAMP ROOM #2`` -> ``LAMP ROOM 2``)."""
    return clean(clean(value).replace("#", " "))


def cue(value: Any) -> str:
    """A dialogue cue, upper case: the name (:func:`name`, without parentheses, carets or a
    closing colon), then its extensions in parentheses (``mara (v.o.):`` -> ``MARA (V.O.)``)."""
    rest = re.sub(r"[\s:]+$", "", name(value).replace("^", " "))
    extensions: list[str] = []
    while m := _EXTENSION.search(rest):
        inside = clean(m.group().strip()[1:-1])
        if inside:  # ``()`` says nothing
            extensions.insert(0, f"({inside})")
        rest = rest[: m.start()]
    rest = clean(rest.replace("(", " ").replace(")", " "))
    if not rest and extensions:  # ``(MARA)``: the name in parentheses
        rest, extensions = clean(extensions[0][1:-1]), extensions[1:]
    return clean(" ".join([rest, *extensions])).upper()
