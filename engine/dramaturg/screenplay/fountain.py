"""Fountain 1.1 (https://fountain.io) text of a screenplay.

Any text is written so that Fountain parsers (screenplain, jouvence, fountain-py,
screenplay-tools and the like, which differ in what they take for structure) read it back as
the same element, and model text never makes structure of its own:

- action that could read as something else (a heading such as ``Int. and ext.``, an all-caps
  line that could be a cue or a transition, a line starting with a Fountain mark
  ``! @ . = # > < ~`` or ``(``, any action after a speech ending in a parenthetical) is
  forced with ``!``;
- a cue is forced with ``@`` unless it is plain capitals: A-Z, spaces, periods and hyphens,
  then extensions in parentheses (``ZOË``, ``O'BRIEN``, ``GUARD 2`` and ``李`` are forced:
  parsers differ on what else a cue may hold);
- a transition is forced with ``>`` unless it is capitals and spaces ending in ``TO:`` (and
  does not start like a heading, ``EXT TO:``);
- a line of speech that starts like structure (a heading ``INT. THE VAULT - NIGHT``, ``===``,
  ``~ words``, ``> words``, ``# words``, ``= words``, ``!``, ``@``, ``.word``, ``FADE IN:``,
  ``CUT TO:``, ``>centred<``) starts with :data:`GUARD`, a zero-width space: Fountain has no
  escape for speech, and some parsers read such lines as structure even inside a speech. A
  forced line whose text starts with its own mark (``!!!``) gets the guard after the mark,
  since some parsers strip every copy of the mark;
- a backslash in the text is followed by the guard (parsers differ on what ``\\`` escapes);
  ``*`` is escaped ``\\*`` everywhere (which also disarms ``/* boneyard */``), ``_`` is escaped
  ``\\_`` where two of them could underline, and ``[[`` and ``]]`` are written ``[ [`` and
  ``] ]`` (neither opens nor closes a note);
- a place never holds ``#`` (see :func:`.text.place`), so a heading's only ``#N#`` is its
  scene number.

The title page has ``Title``, ``Credit``, ``Author``, ``Notes`` (the logline) and ``Draft date``;
each scene heading may end with its scene number ``#3#`` and is followed by the plot element
and beat as a synopsis (``= Climax: ...``), which Fountain tools show but do not print.
"""

from __future__ import annotations

import re

from .model import Action, Dialogue, Element, Scene, Screenplay, Transition
from .text import HEADING_PREFIX

#: put before a line of speech that would read as structure (invisible, and no parser's
#: whitespace)
GUARD = "\u200b"
_MARKS = ("!", "@", ".", "=", "#", ">", "<", "~", "(")
#: what some parser takes for a transition (no lower case, ending ``TO:``) or a heading
_TRANSITION = re.compile(r"^[^a-z]*TO:$")
_FADE = re.compile(r"^FADE\s*(?:IN|OUT)", re.IGNORECASE)
_PLAIN_CUE = re.compile(r"^[A-Z][A-Z .\-]*[A-Z.](?: \([^()]*\))*$")
_PLAIN_TRANSITION = re.compile(r"^[A-Z][A-Z ]*TO:$")


def escape(text: str) -> str:
    """Text with Fountain's emphasis and note marks made literal."""
    # parsers differ on what a backslash escapes: none may stand before another mark
    text = text.replace("\\", f"\\{GUARD}")
    text = text.replace("*", "\\*")
    if text.count("_") >= 2:
        text = text.replace("_", "\\_")
    for pair, apart in (("[[", "[ ["), ("]]", "] ]")):
        while pair in text:
            text = text.replace(pair, apart)
    return text


def _is_upper(text: str) -> bool:
    return text.split("(", 1)[0].isupper()


def _structural(line: str) -> bool:
    """Whether a line could read as something other than what it is, on any parser."""
    return (
        line.startswith(_MARKS)
        or bool(HEADING_PREFIX.match(line))
        or bool(_TRANSITION.match(line) or _FADE.match(line))
        or line.rstrip().endswith("<")
    )


def _force(mark: str, line: str) -> str:
    """``line`` forced with ``mark`` (a guard between them if the line starts with it)."""
    return f"{mark}{GUARD if line.startswith(mark) else ''}{line}"


def action_line(text: str) -> str:
    """An action paragraph (one line), forced with ``!`` when it could read as another element."""
    line = escape(text)
    return _force("!", line) if _structural(line) or _is_upper(line) else line


def cue_line(cue: str) -> str:
    """A character cue, forced with ``@`` unless it is plain capitals."""
    line = escape(cue)
    return line if _PLAIN_CUE.match(line) and not _structural(line) else _force("@", line)


def speech_line(text: str) -> str:
    """A parenthetical or a line of speech, guarded when it starts like structure."""
    line = escape(text)
    parenthetical = line.startswith("(") and line.endswith(")")
    return line if parenthetical or not _structural(line) else f"{GUARD}{line}"


def transition_line(text: str) -> str:
    """A transition: as it is when plain (``CUT TO:``), else forced with ``>``."""
    line = escape(text)
    plain = _PLAIN_TRANSITION.match(line) and not HEADING_PREFIX.match(line)
    return line if plain else _force(">", line)


def heading_line(scene: Scene, scene_numbers: bool = True) -> str:
    line = escape(scene.heading)
    if not HEADING_PREFIX.match(line):
        line = _force(".", line)
    return f"{line} #{scene.number}#" if scene_numbers else line


def title_page(sp: Screenplay) -> list[str]:
    page = sp.title_page
    values = [
        ("Title", page.title),
        ("Credit", page.credit),
        ("Author", " and ".join(page.authors)),
        ("Notes", page.logline),
        ("Draft date", page.draft_date),
    ]
    return [f"{key}: {escape(value)}" for key, value in values if value]


def element_lines(element: Element, after: Element | None = None) -> list[str]:
    """The lines of one element; ``after`` is the element before it."""
    if isinstance(element, Action):
        # some parsers go on with a speech that ends in a parenthetical past the blank line
        open_speech = isinstance(after, Dialogue) and after.blocks[-1].parenthetical
        line = action_line(element.text)
        return [_force("!", line) if open_speech and not line.startswith("!") else line]
    if isinstance(element, Transition):
        return [transition_line(element.text)]
    lines = [cue_line(element.cue)]
    lines += [speech_line(b.text) for b in element.blocks]
    return lines


def to_fountain(sp: Screenplay, *, scene_numbers: bool = True, synopses: bool = True) -> str:
    """The screenplay as Fountain text (blank line between paragraphs, ending in a newline)."""
    paragraphs: list[list[str]] = []
    for scene in sp.scenes:
        paragraphs.append([heading_line(scene, scene_numbers)])
        synopsis = ": ".join(t for t in (scene.plot_element, scene.beat) if t)
        if synopses and synopsis:
            paragraphs.append([f"= {escape(synopsis)}"])
        before: Element | None = None
        for element in scene.elements:
            paragraphs.append(element_lines(element, before))
            before = element
    head = "\n".join(title_page(sp))
    body = "\n\n".join("\n".join(p) for p in paragraphs)
    return f"{head}\n\n{body}\n" if head else f"{body}\n"
