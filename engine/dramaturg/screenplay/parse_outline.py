"""The Dramatron parsers of characters and scenes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dramaturg import ParseError

from . import loops
from .parse_text import (
    _SPACE,
    Record,
    _clean_text,
    _json_records,
    _key,
    _last,
    _looks_like_json,
    _max_repeats,
    _norm_keys,
    _one_line,
    _options,
    _pick,
    _unmark,
    _unquote,
    smart_title,
)

# -- characters ------------------------------------------------------------------------------
#: words that label a field or a heading: never a character's name
_NOT_NAMES = frozenset(
    {"action", "answer", "beat", "blurb", "cast", "character", "characters", "description"}
    | {"details", "example", "examples", "list", "logline", "main", "name", "names", "note"}
    | {"notes", "output", "place", "plot", "plot element", "premise", "protagonist", "role"}
    | {"scene", "scenes", "setting", "story", "summary", "title", "type", "main characters"}
)
_NAME_CHARS = re.compile(r"^[^\W\d_][\w.'\u2019 -]*$")
_PRONOUN = re.compile(r"^(she|he|they|it)(?=\b|'|\u2019)", re.IGNORECASE)
_NAME_LINE = re.compile(
    r"^(?P<name>[^\W\d_][\w.'\u2019 -]{0,48}?)\s*(?:\((?P<aside>[^)]{0,60})\))?\s*"
    r"(?::|\s[-\u2013\u2014]\s|[\u2013\u2014])\s*(?P<desc>.*)$"
)
_LABEL_LINE = re.compile(
    r"^(?P<label>name|character|character name|description|bio|about)\s*[:\-\u2013\u2014]\s*"
    r"(?P<value>.*)$",
    re.IGNORECASE,
)
_IS_SENTENCE = re.compile(
    r"^(?P<name>[A-Z][\w.'\u2019-]*(?: [A-Z][\w.'\u2019-]*){0,3})(?:,| (?:is|was|has|runs|"
    r"works|lives|wants|keeps)\b)"
)


def clean_name(value: Any) -> str:
    """A character's name as written in the cast list: no markdown, quotes, numbering or
    trailing punctuation; ``MARA VELL`` -> ``Mara Vell``. Empty when it is not a name."""
    name = _unquote(_unmark(_one_line(value)))
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name)  # "Mara (the keeper)" -> "Mara"
    name = name.strip(" .,:;!?-\u2013\u2014").strip()
    if not name or len(name) > 40 or len(name.split()) > 5 or not _NAME_CHARS.match(name):
        return ""
    if _key(name) in _NOT_NAMES:
        return ""
    if name.isupper() and len(name) > 1:
        name = smart_title(name)
    return name


def _first_name(name: str) -> str:
    parts = name.split(maxsplit=1)
    return parts[0] if parts else name


def describe_with_name(name: str, description: str) -> str:
    """Dramatron's descriptions start with the name: ``Mara is ...``. A description that does
    not gets it: a leading pronoun is replaced (``She keeps`` -> ``Mara keeps``), a phrase
    starting in lower case is appended (``Mara, a keeper``), anything else is introduced
    (``Mara: The keeper of...``)."""
    desc = description.strip()
    if not desc:
        return desc
    low = desc.casefold()
    if low.startswith(name.casefold()) or low.startswith(_first_name(name).casefold() + " "):
        return desc
    first = _first_name(name).casefold()
    if any(low.startswith(first + s) for s in ("'", "\u2019", ",")):
        return desc
    if _PRONOUN.match(desc):
        return _PRONOUN.sub(name, desc, count=1)
    if desc[0].islower():
        return f"{name}, {desc}"
    return f"{name}: {desc}"


def _character_records_from_json(items: list[Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, str):
            pairs += _character_pairs_from_text(item)
        elif isinstance(item, dict):
            rec = _norm_keys(item)
            name = _pick(rec, "name", "character", "character_name", "full_name")
            desc = _pick(rec, "description", "desc", "bio", "about", "summary", "details")
            if name is not None:
                pairs.append((str(name), "" if desc is None else str(desc)))
            elif len(rec) == 1 or all(isinstance(v, str) for v in item.values()):
                # {"Mara": "Mara is ...", "Orin": "..."}
                pairs += [(str(k), str(v)) for k, v in item.items() if isinstance(v, str)]
    return pairs


def _character_pairs_from_text(text: str) -> list[tuple[str, str]]:
    """(name, description) pairs from Dramatron-style text, in order."""
    # <character>Mara</character><description>...</description> -> labelled lines
    text = re.sub(r"<\s*character\s*>", "\nCharacter: ", text, flags=re.IGNORECASE)
    text = re.sub(r"<\s*description\s*>", "\nDescription: ", text, flags=re.IGNORECASE)
    text = re.sub(r"<\s*/\s*\w+\s*>", "\n", text)
    pairs: list[tuple[str, str]] = []
    name: str | None = None  # a pending name (a labelled record, or a name on its own line)
    desc: list[str] = []

    def flush() -> None:
        nonlocal name, desc
        if name is not None:
            pairs.append((name, " ".join(desc)))
        name, desc = None, []

    for raw in text.splitlines():
        line = _unmark(raw)
        if not line:
            if name is not None and desc:
                flush()
            continue
        labelled = _LABEL_LINE.match(line)
        if labelled:
            label = labelled.group("label").lower()
            value = labelled.group("value").strip()
            if label in ("name", "character", "character name"):
                flush()
                name = value
            elif name is not None:
                desc.append(value)
            continue
        m = _NAME_LINE.match(line)
        if m and clean_name(m.group("name")) and m.group("desc").strip():
            flush()
            pairs.append((m.group("name"), m.group("desc")))
            continue
        if name is None and clean_name(line) and not re.search(r"[.!?]$", line):
            name = line  # a name on its own line; its description follows
            continue
        if name is not None:
            desc.append(line)
            continue
        s = _IS_SENTENCE.match(line)
        if s and clean_name(s.group("name")):
            pairs.append((s.group("name"), line))
    flush()
    return pairs


def characters(text: str, options: Mapping[str, Any] | None = None) -> list[Record]:
    """``[{"name", "description"}]`` in order, from JSON or text. Entries without a usable name
    or description are dropped, as are repeats of a name; ParseError if none is left."""
    _options(options)
    pairs: list[tuple[str, str]] | None = None
    if _looks_like_json(text):
        items = _json_records(
            text, ("characters", "cast", "people"), lambda r: "name" in r or "character" in r
        )
        if items is not None:
            pairs = _character_records_from_json(items)
    if pairs is None:
        pairs = _character_pairs_from_text(loops.cut_runaway(text))
    out: list[Record] = []
    seen: set[str] = set()
    for raw_name, raw_desc in pairs:
        name = clean_name(raw_name)
        desc = _clean_text(raw_desc)
        if not name or not desc or _key(name) in seen:
            continue
        seen.add(_key(name))
        out.append({"name": name, "description": describe_with_name(name, desc)})
    if not out:
        raise ParseError(
            "no character with both a name and a description",
            hint="answer with one character per line: 'Name: Name is ...'",
        )
    return out


# -- scenes ----------------------------------------------------------------------------------
_SCENE_LABELS = {
    "place": "place",
    "location": "place",
    "setting": "place",
    "plot element": "plot_element",
    "plot_element": "plot_element",
    "plot-element": "plot_element",
    "element": "plot_element",
    "beat": "beat",
}
_SCENE_LABEL = re.compile(
    r"(?P<label>plot[ _-]?element|element|place|location|setting|beat)\s*[:\u2013\u2014-]\s*",
    re.IGNORECASE,
)
_HEADING = re.compile(
    r"^(?:scene\s*\d+\s*[:.\-\u2013\u2014]\s*)?(?P<heading>(?:INT|EXT|I/E)[./].*)$", re.IGNORECASE
)
_SETTING_PREFIX = re.compile(
    r"^(?:(?:int|ext)\.?\s*/\s*(?:int|ext)\.?|i\s*/\s*e\.?|int\.|ext\.|int\b|ext\b|"
    r"interior\s*[:.\-\u2013\u2014]|exterior\s*[:.\-\u2013\u2014])\s*[:.\-\u2013\u2014]?\s*",
    re.IGNORECASE,
)
_TIME_SUFFIX = re.compile(
    r"\s*[-\u2013\u2014,/|(]\s*(?:day|night|dawn|dusk|morning|evening|afternoon|later|"
    r"continuous|moments later|same time|sunset|sunrise|midnight|noon|twilight)\b\)?\W*$",
    re.IGNORECASE,
)
_SCENE_SUFFIX = re.compile(r"\s*[-\u2013\u2014,(]\s*scene\s*\d+\)?\s*$", re.IGNORECASE)


def normalise_place(value: Any) -> str:
    """A place name as the plot uses it: ``INT. the old LIGHTHOUSE - NIGHT.`` -> ``The Old
    Lighthouse``. Empty when nothing is left."""
    place = _unquote(_unmark(_one_line(value)))
    place = _SETTING_PREFIX.sub("", place)
    for _ in range(2):
        place = _SCENE_SUFFIX.sub("", place)
        place = _TIME_SUFFIX.sub("", place)
    place = _unquote(place.strip(" .,;:!?-\u2013\u2014*_#\"'"))
    return smart_title(_SPACE.sub(" ", place)) if place else ""


def _element_name(value: Any) -> str:
    element = _unquote(_unmark(_one_line(value))).strip(" .,;:!?-\u2013\u2014")
    return smart_title(element) if element.islower() or element.isupper() else element


def _place_key(place: str) -> str:
    return re.sub(r"^the ", "", _key(place))


def _scene_records_from_text(text: str) -> list[Record]:
    records: list[Record] = []
    current: Record = {}
    last: str | None = None

    def put(field: str, value: str) -> None:
        nonlocal current, last
        if field in current:  # a field seen again starts the next scene
            records.append(current)
            current = {}
        current[field] = value
        last = field

    for raw in text.splitlines():
        line = _unmark(raw)
        if not line:
            continue
        heading = _HEADING.match(line)
        if heading and not _SCENE_LABEL.match(line):
            put("place", heading.group("heading"))
            continue
        matches = [m for m in _SCENE_LABEL.finditer(line) if _label_at_boundary(line, m.start())]
        if not matches or matches[0].start() != 0:
            if last is not None and not re.match(r"^scene\s*\d+\W*$", line, re.IGNORECASE):
                current[last] = f"{current[last]} {line}".strip()
            continue
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
            value = line[m.end() : end].strip().rstrip("|;").strip()
            put(_SCENE_LABELS[re.sub(r"[_-]", " ", m.group("label").lower())], value)
    if current:
        records.append(current)
    return records


def _label_at_boundary(line: str, pos: int) -> bool:
    """A label counts at the start of the line or after a separator (``|``, ``;``, ``.``)."""
    before = line[:pos].rstrip()
    return not before or before[-1] in "|;.,"


def scenes(
    text: str, options: Mapping[str, Any] | None = None, *, attempt: int = 0, attempts: int = 1
) -> list[Record]:
    """``[{"place", "plot_element", "beat"}]`` from JSON or text: complete triples only, places
    normalised and spelt the same in every scene. A beat repeated more than ``max_repeats``
    times is a loop: ParseError, except on the last attempt. A beat told again (fewer times,
    or on the last attempt) is dropped: each beat appears once, at its first place."""
    opts = _options(options)
    records: list[Any] | None = None
    if _looks_like_json(text):
        records = _json_records(
            text,
            ("scenes", "plot", "beats", "outline", "story"),
            lambda r: "beat" in r or "place" in r,
        )
    if records is None:
        records = _scene_records_from_text(loops.cut_runaway(text))
    out: list[Record] = []
    spelling: dict[str, str] = {}
    for item in records:
        if not isinstance(item, dict):
            continue
        rec = _norm_keys(item)
        place = normalise_place(_pick(rec, "place", "location", "setting", "scene_heading"))
        element = _element_name(
            _pick(rec, "plot_element", "element", "structure", "stage", "step", "act")
        )
        beat = _clean_text(_pick(rec, "beat", "summary", "what_happens", "event", "description"))
        if not (place and element and beat):
            continue
        place = spelling.setdefault(_place_key(place), place)
        out.append({"place": place, "plot_element": element, "beat": beat})
    if not out:
        raise ParseError(
            "no complete scene (each needs a place, a plot element and a beat)",
            hint="write each scene as 'Place: ...', 'Plot element: ...', 'Beat: ...' lines",
        )
    looped = loops.looping((s["beat"] for s in out), _max_repeats(opts))
    if looped and not _last(attempt, attempts):
        raise ParseError(f"loop: the beat {loops.describe(looped)} repeats")
    # a beat told twice is never a new scene: keep its first telling (fewer, better scenes)
    return loops.drop_repeats(
        out, lambda s: str(s["beat"]), [loops.paragraph_key(s["beat"]) for s in out]
    )


def scene(
    text: str, options: Mapping[str, Any] | None = None, *, attempt: int = 0, attempts: int = 1
) -> Record:
    """One scene ``{"place", "plot_element", "beat"}``: the first complete one of the answer
    (a chain that writes its plot one scene per call, with ``for_each``)."""
    return scenes(text, options, attempt=attempt, attempts=attempts)[0]
