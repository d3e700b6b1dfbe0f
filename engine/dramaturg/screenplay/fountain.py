"""Fountain 1.1 (https://fountain.io) text of a screenplay.

Any text is written so that a Fountain parser reads it back as the same element:

- action that would read as something else (a heading such as ``Int. and ext.``, an all-caps
  line that could be a cue or a transition, a line starting with ``! @ . = # > ~``) is forced
  with ``!``;
- a cue that is not all capitals (``McCLANE``, a name in a script without case) or starts with
  a Fountain mark is forced with ``@``;
- a transition that does not end in ``TO:`` is forced with ``>``;
- ``*`` is escaped ``\\*`` everywhere (which also disarms ``/* boneyard */``), ``_`` is escaped
  ``\\_`` where two of them could underline, and ``[[`` is written ``[ [`` (not a note).

The title page has ``Title``, ``Credit``, ``Author``, ``Notes`` (the logline) and ``Draft date``;
each scene heading may end with its scene number ``#3#`` and is followed by the plot element
and beat as a synopsis (``= Climax: ...``), which Fountain tools show but do not print.
"""

from __future__ import annotations

import re

from .model import Action, Element, Scene, Screenplay, Transition

_SLUG = re.compile(r"^(?:INT|EXT|EST|INT\.?/EXT\.?|I/E)[ .]")
_MARKS = ("!", "@", ".", "=", "#", ">", "~")


def escape(text: str) -> str:
    """Text with Fountain's emphasis and note marks made literal."""
    text = text.replace("*", "\\*")
    if text.count("_") >= 2:
        text = text.replace("_", "\\_")
    while "[[" in text:
        text = text.replace("[[", "[ [")
    return text


def _is_upper(text: str) -> bool:
    return text.split("(", 1)[0].isupper()


def action_line(text: str) -> str:
    """An action paragraph (one line), forced with ``!`` when it could read as another element."""
    line = escape(text)
    forced = (
        line.startswith(_MARKS)
        or _is_upper(line)
        or bool(_SLUG.match(line.upper()))
        or line.endswith("TO:")
    )
    return f"!{line}" if forced else line


def cue_line(cue: str) -> str:
    """A character cue, forced with ``@`` unless it is all capitals."""
    line = escape(cue)
    return line if _is_upper(line) and not line.startswith(_MARKS) else f"@{line}"


def transition_line(text: str) -> str:
    """A transition: as it is when it ends in ``TO:`` (``CUT TO:``), else forced with ``>``."""
    line = escape(text)
    natural = line.endswith("TO:") and line[:-3].isupper()
    natural = natural and not line.startswith(_MARKS) and not _SLUG.match(line)
    return line if natural else f"> {line}"


def heading_line(scene: Scene, scene_numbers: bool = True) -> str:
    line = escape(scene.heading)
    if not _SLUG.match(line):
        line = f".{line}"
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


def element_lines(element: Element) -> list[str]:
    if isinstance(element, Action):
        return [action_line(element.text)]
    if isinstance(element, Transition):
        return [transition_line(element.text)]
    lines = [cue_line(element.cue)]
    lines += [escape(b.text) for b in element.blocks]
    return lines


def to_fountain(sp: Screenplay, *, scene_numbers: bool = True, synopses: bool = True) -> str:
    """The screenplay as Fountain text (blank line between paragraphs, ending in a newline)."""
    paragraphs: list[list[str]] = []
    for scene in sp.scenes:
        paragraphs.append([heading_line(scene, scene_numbers)])
        synopsis = ": ".join(t for t in (scene.plot_element, scene.beat) if t)
        if synopses and synopsis:
            paragraphs.append([f"= {escape(synopsis)}"])
        paragraphs += [element_lines(e) for e in scene.elements]
    head = "\n".join(title_page(sp))
    body = "\n\n".join("\n".join(p) for p in paragraphs)
    return f"{head}\n\n{body}\n" if head else f"{body}\n"
