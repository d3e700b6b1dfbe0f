"""Parsers of the Dramatron chain (``chains/dramatron.yaml``): model text in, screenplay data out.

Registered as the entry points ``dramatron.characters``, ``dramatron.scenes`` and
``dramatron.dialogue`` (``parse: dramatron.scenes`` in a chain). Each accepts both answers a
model may give:

* **JSON**, as the embedded model writes when its output is constrained by a JSON schema (a
  list, or an object holding the list; code fences, surrounding prose, control characters in
  strings and a truncated tail are tolerated: every complete record before the cut is kept);
* **labelled text** in Dramatron's style, as a hosted model may answer: ``Mara: Mara is ...``,
  ``Place: / Plot element: / Beat:`` records, screenplay dialogue (cues, parentheticals,
  speeches, action, transitions), with markdown bold, numbering, bullets and stray whitespace.

Shapes (what the ``screenplay`` exporter reads):

* ``characters`` -> ``[{"name", "description"}]``, descriptions starting with the name;
* ``scenes`` -> ``[{"place", "plot_element", "beat"}]``, complete triples only, places normalised
  (no ``INT.``/``EXT.``, no time of day, no trailing punctuation, one spelling per place);
* ``dialogue`` -> elements ``{"type": "dialogue", "character", "parenthetical", "line"}``,
  ``{"type": "action", "text"}``, ``{"type": "transition", "text"}``; cues upper case with their
  extension kept (``MARA (V.O.)``).

Incomplete records are dropped; :class:`dramaturg.ParseError` is raised when nothing usable is
left, or when a paragraph loops (Dramatron's check, see :mod:`.loops`), so that the engine
resamples with the next seed. On the step's last attempt a loop is de-duplicated instead.
Text after an end marker (``**END**``) or a runaway ``Example N.`` is cut first.

Pure functions, no I/O. Options (``parse: {type: custom, name: ..., options: {...}}``):
``max_repeats`` (default 3) for ``scenes`` and ``dialogue``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from dramaturg.errors import ParseError

from . import loops

Record = dict[str, Any]

# -- shared text helpers -------------------------------------------------------------------------
#: end markers: text after them is not part of the answer
_END_MARKER = re.compile(
    r"\*\*\s*END\s*\*\*|<\s*/?\s*(?:end|stop)\s*>|\[\s*END\s*\]|^\s*END\s*$",
    re.IGNORECASE | re.MULTILINE,
)
#: a runaway new example ("Example 3.", "**Example:**", "### Example") after the answer
_RUNAWAY = re.compile(r"^[\s*#_>]*Example(?:\s+\d+)?\s*[.:]?[\s*_]*$", re.IGNORECASE | re.MULTILINE)
_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?|```")
_BULLET = re.compile(r"^\s*(?:[-*+\u2022\u2023\u25e6>]+|\(?\d{1,3}[.)\]:]|\(?[a-z][.)])\s+")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_QUOTE_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb"}


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
_DECODER = json.JSONDecoder(strict=False)  # control characters inside strings are tolerated


def _json_value(text: str) -> Any:
    """The first JSON object or array in ``text``; None when there is none, or when the first
    one is cut short (its inner objects are then salvaged by :func:`_json_objects`)."""
    body = _FENCE.sub("\n", text)
    for m in re.finditer(r"[\[{]", body):
        try:
            value, _ = _DECODER.raw_decode(body, m.start())
        except json.JSONDecodeError:
            if re.match(r"[\[{]\s*(?:[\"\[{\]}]|$)", body[m.start() :]):
                return None  # JSON that does not close: truncated
            continue  # a bracket in prose
        if isinstance(value, (dict, list)):
            return value
    return None


def _json_objects(text: str) -> list[Record]:
    """Every complete JSON object found in ``text``, outermost first, not nested in another
    one: salvages the records of a truncated answer (``[{...}, {...}, {"place": "Quay``)."""
    body = _FENCE.sub("\n", text)
    found: list[Record] = []
    pos = 0
    while True:
        start = body.find("{", pos)
        if start < 0:
            return found
        try:
            value, end = _DECODER.raw_decode(body, start)
        except json.JSONDecodeError:
            pos = start + 1
            continue
        if isinstance(value, dict):
            found.append(value)
        pos = end


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
    value = _json_value(text)
    if value is None:
        salvaged = [_norm_keys(o) for o in _json_objects(text)]
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
    body = _FENCE.sub("", text).strip()
    return body.startswith(("{", "[")) or bool(re.search(r'[\[{]\s*"\w', body))


def _options(options: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return options or {}


def _max_repeats(options: Mapping[str, Any]) -> int:
    value = options.get("max_repeats", loops.DEFAULT_MAX_REPEATS)
    return int(value) if isinstance(value, (int, float)) and value >= 1 else 3


def _last(attempt: int, attempts: int) -> bool:
    return attempt >= attempts - 1


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
        pairs = _character_pairs_from_text(cut_runaway(text))
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
        records = _scene_records_from_text(cut_runaway(text))
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


# -- dialogue --------------------------------------------------------------------------------
_EXTENSIONS = re.compile(
    r"^(?:V\.?\s?O\.?|O\.?\s?S\.?|O\.?\s?C\.?|CONT['\u2019]?D|CONTINUING|OFF|ON (?:THE )?PHONE|"
    r"ON SCREEN|ON RADIO|INTO PHONE|FILTERED|PRE-?LAP|SUBTITLED|WHISPER(?:ING)?)$",
    re.IGNORECASE,
)
_TRANSITION = re.compile(
    r"^(?:[A-Z][A-Z ]*\bTO:|FADE (?:IN|OUT|TO BLACK)[.:]?|FADE OUT\.?|CUT TO BLACK[.:]?|"
    r"THE END\.?|END OF SCENE\.?|BLACKOUT\.?|INTERCUT(?: WITH)?[.:]?)$"
)
_CUE = re.compile(
    r"^(?P<name>[A-Z][A-Z0-9.'\u2019&\- ]{0,38}?)\s*(?P<ext>(?:\([^()]{1,30}\)\s*)*)\s*:?$"
)
_COLON_CUE = re.compile(
    r"^(?P<name>[^\W\d_][\w.'\u2019\- ]{0,38}?)\s*(?P<ext>(?:\([^()]{1,40}\)\s*)*)\s*:\s*"
    r"(?P<rest>.*)$"
)
_PAREN = re.compile(r"^\((?P<inner>[^()]*)\)\s*(?P<rest>.*)$")
#: prompt labels a model may echo: never a cue, never dialogue
_PROMPT_LABEL_WORDS = frozenset(
    {"place", "beat", "summary", "characters", "speakers", "logline", "title", "example"}
    | {"note", "notes", "setting", "location", "story", "output", "answer", "dialogue"}
    | {"screenplay", "description"}
)
_ACTION_LABELS = frozenset({"action", "description", "stage direction", "direction", "narration"})


def _is_prompt_label(name: str) -> bool:
    k = _key(name)
    return k in _PROMPT_LABEL_WORDS or k in {
        "plot element",
        "previous beat",
        "this scene",
        "before this scene",
        "new scene",
        "the characters who speak",
        "characters in this scene",
        "scene",
    }


def _cue(name: str, ext: str = "") -> str:
    """``Mara`` + ``(v.o.)`` -> ``MARA (V.O.)``."""
    name = _unquote(_unmark(_one_line(name))).strip(" :.-")
    cue = _SPACE.sub(" ", name).upper()
    exts = re.findall(r"\(([^()]*)\)", ext or "")
    return " ".join([cue, *(f"({e.strip().upper()})" for e in exts if e.strip())]).strip()


def _split_ext(ext: str) -> tuple[str, str | None]:
    """Split ``(V.O.) (quietly)`` into cue extensions and a parenthetical."""
    exts, paren = [], None
    for inner in re.findall(r"\(([^()]*)\)", ext or ""):
        if _EXTENSIONS.match(inner.strip()):
            exts.append(f"({inner.strip()})")
        elif inner.strip():
            paren = inner.strip()
    return " ".join(exts), paren


def _parenthetical(value: Any) -> str | None:
    text = _clean_text(value).strip()
    if not text:
        return None
    inner = text[1:-1].strip() if text.startswith("(") and text.endswith(")") else text
    return f"({inner})" if inner else None


def _is_cue_line(line: str) -> re.Match[str] | None:
    if _TRANSITION.match(line) or _HEADING.match(line):
        return None
    m = _CUE.match(line)
    if not m:
        return None
    name = m.group("name").strip()
    letters = [c for c in name if c.isalpha()]
    if len(letters) < 2 or len(name.split()) > 4 or name.endswith("."):
        return None
    if _is_prompt_label(name):
        return None
    return m


class _Dialogue:
    """Builds the element list from screenplay text."""

    def __init__(self) -> None:
        self.out: list[Record] = []
        self.speaker: str | None = None  # the cue whose speech is being read
        self.paren: str | None = None
        self.speech: list[str] = []
        self.action: list[str] = []

    def end_speech(self) -> None:
        if self.speaker is not None and self.speech:
            self.out.append(
                {
                    "type": "dialogue",
                    "character": self.speaker,
                    "parenthetical": self.paren,
                    "line": _clean_text(" ".join(self.speech)),
                }
            )
            self.paren = None
        self.speech = []

    def end_block(self) -> None:
        self.end_speech()
        self.speaker, self.paren = None, None
        if self.action:
            self.out.append({"type": "action", "text": _clean_text(" ".join(self.action))})
        self.action = []

    def cue(self, character: str, paren: str | None = None, rest: str = "") -> None:
        self.end_block()
        self.speaker = character
        self.paren = paren
        if rest:
            self.speak(rest)

    def speak(self, line: str) -> None:
        m = _PAREN.match(line)
        if m:  # "(quietly)" or "(quietly) Hello." inside a speech
            self.end_speech()
            self.paren = _parenthetical(m.group("inner"))
            line = m.group("rest").strip()
        if line:
            self.speech.append(_unquote(line))

    def transition(self, text: str) -> None:
        self.end_block()
        self.out.append({"type": "transition", "text": text.strip()})

    def act(self, line: str) -> None:
        if self.speaker is not None:
            self.end_block()
        self.action.append(line)


def _dialogue_from_text(text: str) -> list[Record]:
    d = _Dialogue()
    for raw in text.splitlines():
        line = _unmark(raw)
        if not line:
            if d.speaker is None or d.speech:
                d.end_block()
            continue
        if _TRANSITION.match(line):
            d.transition(line)
            continue
        if _HEADING.match(line):  # the exporter writes scene headings itself
            d.end_block()
            continue
        cue = _is_cue_line(line)
        if cue:
            ext, paren = _split_ext(cue.group("ext"))
            d.cue(_cue(cue.group("name"), ext), _parenthetical(paren) if paren else None)
            continue
        colon = _COLON_CUE.match(line)
        if colon and len(colon.group("name").split()) <= 4:
            name = colon.group("name").strip()
            rest = colon.group("rest").strip()
            if _key(name) in _ACTION_LABELS:
                d.end_block()
                d.act(rest)
                continue
            if _key(name) == "transition":
                d.transition(rest)
                continue
            if _is_prompt_label(name):
                d.end_block()
                continue
            if name[:1].isupper() and all(w[:1].isupper() for w in name.split() if w.isalpha()):
                ext, paren = _split_ext(colon.group("ext"))
                d.cue(_cue(name, ext), _parenthetical(paren) if paren else None, rest)
                if rest:  # "NAME: line" is one line; what follows is not part of it
                    d.end_block()
                continue
        if d.speaker is not None:
            d.speak(line)
        else:
            d.act(line)
    d.end_block()
    return d.out


def _dialogue_from_json(items: list[Any]) -> list[Record]:
    out: list[Record] = []
    for item in items:
        if isinstance(item, str):
            out += _dialogue_from_text(item)
            continue
        if not isinstance(item, dict):
            continue
        rec = _norm_keys(item)
        kind = str(rec.get("type") or "").lower()
        name = _pick(rec, "character", "speaker", "name", "cue", "who")
        line = _pick(rec, "line", "dialogue", "speech", "says", "text")
        action = _pick(rec, "action", "stage_direction", "direction", "narration")
        transition = _pick(rec, "transition")
        if kind == "transition" or (transition is not None and name is None):
            text = _clean_text(transition if transition is not None else line)
            if text:
                out.append({"type": "transition", "text": text.upper()})
        elif (
            kind == "action"
            or (action is not None and name is None)
            or (name is not None and _key(str(name)) in _ACTION_LABELS)
        ):
            text = _clean_text(action if action is not None else line)
            if text:
                out.append({"type": "action", "text": text})
        elif name is not None and line is not None:
            raw = _one_line(name)
            m = re.match(r"^(?P<name>[^()]*?)\s*(?P<ext>(?:\([^()]*\)\s*)*)$", raw)
            base, ext = (m.group("name"), m.group("ext")) if m else (raw, "")
            exts, inline = _split_ext(ext)
            character = _cue(base, exts)
            paren = _parenthetical(_pick(rec, "parenthetical", "direction", "manner", "tone"))
            speech = _clean_text(line)
            lead = _PAREN.match(speech)
            if lead and lead.group("rest"):  # "(quietly) Hello."
                paren = paren or _parenthetical(lead.group("inner"))
                speech = lead.group("rest").strip()
            if character and speech:
                out.append(
                    {
                        "type": "dialogue",
                        "character": character,
                        "parenthetical": paren or (_parenthetical(inline) if inline else None),
                        "line": speech,
                    }
                )
    return out


def _paragraph(element: Record) -> str:
    return str(element.get("line") or element.get("text") or "")


def dialogue(
    text: str, options: Mapping[str, Any] | None = None, *, attempt: int = 0, attempts: int = 1
) -> list[Record]:
    """A scene's elements from screenplay text or JSON (see the module docstring).

    ParseError when no line of dialogue was found (on the last attempt, action alone is
    accepted), or when a speech or action paragraph appears more than ``max_repeats`` times
    (on the last attempt the repeats are dropped instead)."""
    opts = _options(options)
    elements: list[Record] | None = None
    if _looks_like_json(text):
        items = _json_records(
            text,
            ("scene", "dialogue", "elements", "lines", "script"),
            lambda r: any(k in r for k in ("line", "action", "character", "transition")),
        )
        if items is not None:
            elements = _dialogue_from_json(items)
    if elements is None:
        elements = _dialogue_from_text(cut_runaway(text))
    last = _last(attempt, attempts)
    spoken = [e for e in elements if e["type"] != "transition"]
    looped = loops.looping((_paragraph(e) for e in spoken), _max_repeats(opts))
    if looped:
        if not last:
            raise ParseError(f"loop: the paragraph {loops.describe(looped)} repeats")
        elements = loops.drop_repeats(elements, _paragraph, looped)
    if not any(e["type"] == "dialogue" for e in elements) and not (last and elements):
        raise ParseError(
            "no line of dialogue found",
            hint="write a character's NAME in capitals on its own line, then what they say",
        )
    return elements
