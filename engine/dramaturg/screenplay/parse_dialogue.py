"""The Dramatron parser of dialogue (cues, parentheticals, speeches, action, transitions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dramaturg import ParseError

from . import loops
from .parse_outline import (
    _HEADING,
)
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
        elements = _dialogue_from_text(loops.cut_runaway(text))
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
