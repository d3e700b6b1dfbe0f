"""Outside Fountain parsers and an FDX reader, each read into one neutral shape: the title page
and a flat list of ``(kind, text)`` elements, so that a test can ask every parser the same
question.

Kinds: ``heading`` (text ``HEADING #N``'s heading, its scene number kept apart), ``action``,
``cue``, ``paren``, ``line`` (a line of speech), ``transition``, and whatever else a parser
finds (``lyric``, ``page_break``, ``section``, ``synopsis``, ``note``, ``boneyard``,
``centered``, ``dual``...): a test that sees one of those has found text read as structure.

The parsers (independent code bases, from PyPI; none needs a network):

- screenplain (our PDF dependency, also a Fountain parser),
- jouvence,
- fountain-py (``import fountain``),
- screenplay-tools.

Text is compared as each parser gives it, with three allowances made the same way for all of
them: the parser's own escapes (``\\*``) resolved where the parser leaves them in (jouvence
keeps the raw text for its renderer, all of them the title page); the invisible guard our
writer puts where text would read as structure (``fountain.GUARD``) taken out; and action split
into its lines (one paragraph each in our model), since parsers differ on merging adjacent
action paragraphs.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dramaturg.screenplay.fountain import GUARD

Element = tuple[str, str]


@dataclass
class Read:
    """What a parser read: the title page (keys in lower case) and the elements."""

    title_page: dict[str, str] = field(default_factory=dict)
    elements: list[Element] = field(default_factory=list)
    #: scene numbers of the headings, in order (None where a heading has none)
    numbers: list[str | None] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        if kind != "action":
            self.elements.append((kind, text))
            return
        self.elements += [("action", line.strip()) for line in text.split("\n") if line.strip()]


def _unguard(text: str) -> str:
    return text.replace(GUARD, "")


def _unescape(text: str) -> str:
    """Fountain's backslash escapes resolved (for a parser that leaves them in)."""
    return re.sub(r"\\([*_\\])", r"\1", text)


# -- screenplain ------------------------------------------------------------------------------


def screenplain(text: str) -> Read:
    from screenplain.parsers.fountain import parse
    from screenplain.types import Action, Dialog, DualDialog, PageBreak, Slug, Transition

    script = parse(io.StringIO(text))
    out = Read({k.lower(): _unguard(_unescape("\n".join(v))) for k, v in script.title_page.items()})
    for p in script.paragraphs:
        if isinstance(p, Slug):
            out.add("heading", _unguard(str(p.line)))
            out.numbers.append(str(p.scene_number) if p.scene_number else None)
            if p.synopsis:
                out.add("synopsis", _unguard(str(p.synopsis)))
        elif isinstance(p, Action):
            kind = "centered" if getattr(p, "centered", False) else "action"
            out.add(kind, _unguard("\n".join(str(line) for line in p.lines)))
        elif isinstance(p, Transition):
            out.add("transition", _unguard(str(p.line)))
        elif isinstance(p, DualDialog):
            out.add("dual", "")
        elif isinstance(p, Dialog):
            out.add("cue", _unguard(str(p.character)))
            for paren, line in p.blocks:
                out.add("paren" if paren else "line", _unguard(str(line)))
        elif isinstance(p, PageBreak):
            out.add("page_break", "")
        else:
            out.add(type(p).__name__.lower(), "")
    return out


# -- jouvence ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"\s*#([A-Za-z0-9.-]+)#\s*$")


def jouvence(text: str) -> Read:
    from jouvence import document as d
    from jouvence.parser import JouvenceParser

    kinds = {
        d.TYPE_ACTION: "action",
        d.TYPE_CENTEREDACTION: "centered",
        d.TYPE_CHARACTER: "cue",
        d.TYPE_DIALOG: "line",
        d.TYPE_PARENTHETICAL: "paren",
        d.TYPE_TRANSITION: "transition",
        d.TYPE_LYRICS: "lyric",
        d.TYPE_PAGEBREAK: "page_break",
        d.TYPE_SECTION: "section",
        d.TYPE_SYNOPSIS: "synopsis",
    }
    doc = JouvenceParser().parseString(text)
    out = Read({k: _unguard(_unescape(v)) for k, v in doc.title_values.items()})
    for scene in doc.scenes:
        if scene.header is not None:  # the text before the first heading has none
            header = scene.header
            m = _NUMBER.search(header)
            out.numbers.append(m.group(1) if m else None)
            header = header[: m.start()] if m else header
            out.add("heading", _unguard(_unescape(header.strip())))
        for p in scene.paragraphs:
            body = "" if p.text is None else _unguard(_unescape(p.text)).strip()
            out.add(kinds[p.type], body)
    return out


# -- fountain-py ------------------------------------------------------------------------------


def fountain_py(text: str) -> Read:
    from fountain import ElementType as T
    from fountain import FountainParser

    kinds = {
        T.SCENE_HEADING: "heading",
        T.ACTION: "action",
        T.CHARACTER: "cue",
        T.DIALOGUE: "line",
        T.PARENTHETICAL: "paren",
        T.TRANSITION: "transition",
    }
    doc = FountainParser().parse(text)
    out = Read({str(k).lower(): _unguard(_unescape(str(v))) for k, v in doc.metadata.items()})
    for e in doc.elements:
        kind = kinds.get(e.type, e.type.value)
        body = _unguard(e.text)
        if kind == "cue":  # the parser lifts a cue's extension into metadata
            ext = e.metadata.get("extension")
            body = f"{body} ({ext})" if ext else body
        if kind == "heading":
            number = e.metadata.get("scene_number")
            out.numbers.append(str(number) if number else None)
        out.add(kind, body)
    return out


# -- screenplay-tools -------------------------------------------------------------------------


def screenplay_tools(text: str) -> Read:
    from screenplay_tools.fountain.parser import Parser
    from screenplay_tools.screenplay import ElementType as T

    kinds = {
        T.HEADING: "heading",
        T.ACTION: "action",
        T.CHARACTER: "cue",
        T.DIALOGUE: "line",
        T.PARENTHETICAL: "paren",
        T.TRANSITION: "transition",
        T.LYRIC: "lyric",
        T.PAGEBREAK: "page_break",
        T.NOTE: "note",
        T.BONEYARD: "boneyard",
        T.SECTION: "section",
        T.SYNOPSIS: "synopsis",
    }
    parser = Parser()
    parser.add_text(text)
    script = parser.script
    out = Read({e.key.lower(): _unguard(_unescape(e.text_raw)) for e in script.titleEntries})
    for e in script.elements:
        kind = kinds.get(e.type, e.type.value.lower())
        if kind == "action" and getattr(e, "centered", False):
            kind = "centered"
        if kind == "cue":
            body = f"{e.name} ({e.extension})" if e.extension else e.name
        elif kind == "paren":
            body = f"({e.text_raw})"  # the parser takes the parentheses off
        else:
            body = e.text_raw
        if kind == "heading":
            out.numbers.append(e.scene_number)
        out.add(kind, _unguard(_unescape(body)).strip())
    return out


READERS: dict[str, Callable[[str], Read]] = {
    "screenplain": screenplain,
    "jouvence": jouvence,
    "fountain-py": fountain_py,
    "screenplay-tools": screenplay_tools,
}


# -- Final Draft ------------------------------------------------------------------------------


def fdx_screenplay_tools(text: str) -> list[Element]:
    """A Final Draft file as screenplay-tools' FDX reader reads it, in the same shape."""
    from screenplay_tools.fdx.parser import Parser
    from screenplay_tools.screenplay import ElementType as T

    kinds = {
        T.HEADING: "heading",
        T.ACTION: "action",
        T.CHARACTER: "cue",
        T.DIALOGUE: "line",
        T.PARENTHETICAL: "paren",
        T.TRANSITION: "transition",
    }
    out: list[Element] = []
    for e in Parser().parse(text).elements:
        kind = kinds[e.type]
        if kind == "cue":
            body = f"{e.name} ({e.extension})" if e.extension else e.name
        elif kind == "paren":
            body = f"({e.text_raw})"  # the reader takes the parentheses off
        else:
            body = e.text_raw
        out.append((kind, body))
    return out
