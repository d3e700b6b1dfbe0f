"""The screenplay model every format is written from: plain dataclasses, no I/O.

::

    Screenplay
    ├── TitlePage      title, credit ("Co-written by"), authors, logline, draft date
    ├── Character[]    name, description, portrait
    └── Scene[]        number, heading (INT./EXT. PLACE), plot element, beat, image
        └── Element[]  Action | Dialogue (cue, parenthetical/speech blocks) | Transition

Text held here is the text to print (untrusted model output): each writer escapes it for its own
format. Action text is one paragraph on one line; dialogue speech is one line per block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

#: ``INT.`` for interiors, ``EXT.`` for exteriors, ``INT./EXT.`` for both (see ``sluglines``)
Setting = Literal["INT.", "EXT.", "INT./EXT."]
#: what an action paragraph is: plain action, a place's or a character's introduction
ActionRole = Literal["action", "place", "character"]

_EXTENSION = re.compile(r"\s*(\([^()]*\))\s*$")


@dataclass(frozen=True)
class Image:
    """An image file of the run (an illustration or a portrait), already checked to be an image."""

    path: Path
    mime: str
    prompt: str = ""


@dataclass
class TitlePage:
    title: str
    credit: str = "Co-written by"
    authors: list[str] = field(default_factory=lambda: ["Dramaturg"])
    logline: str = ""
    draft_date: str = ""


@dataclass
class Character:
    name: str
    description: str = ""
    portrait: Image | None = None

    @property
    def cue(self) -> str:
        """The name as a character cue: upper case."""
        return self.name.upper()


@dataclass
class Action:
    text: str
    role: ActionRole = "action"
    #: the character this paragraph introduces (role "character")
    character: Character | None = None


@dataclass
class Speech:
    """One block under a cue: a parenthetical ``(beat)`` or a line of speech."""

    text: str
    parenthetical: bool = False


@dataclass
class Dialogue:
    #: the cue as printed, extensions included: ``MARA (V.O.)``
    cue: str
    blocks: list[Speech] = field(default_factory=list)
    #: the known character speaking, when the cue could be matched to one
    character: Character | None = None

    @property
    def name(self) -> str:
        """The cue without its extensions: ``MARA (V.O.) (CONT'D)`` -> ``MARA``."""
        name = self.cue
        while True:
            stripped = _EXTENSION.sub("", name)
            if stripped == name or not stripped:
                return name.strip()
            name = stripped

    @property
    def extensions(self) -> str:
        return self.cue[len(self.name) :].strip()


@dataclass
class Transition:
    text: str


Element = Action | Dialogue | Transition


@dataclass
class Scene:
    number: int
    place: str
    setting: Setting
    plot_element: str = ""
    beat: str = ""
    elements: list[Element] = field(default_factory=list)
    #: the illustration shown beside the scene
    image: Image | None = None

    @property
    def heading(self) -> str:
        """``INT. LAMP ROOM`` (the place, upper case, after its setting)."""
        return f"{self.setting} {self.place.upper()}"


@dataclass
class Screenplay:
    title_page: TitlePage
    characters: list[Character] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.title_page.title

    def images(self) -> list[Image]:
        """Every image used, portraits first, without duplicates."""
        seen: dict[Path, Image] = {}
        for c in self.characters:
            if c.portrait is not None:
                seen.setdefault(c.portrait.path, c.portrait)
        for s in self.scenes:
            if s.image is not None:
                seen.setdefault(s.image.path, s.image)
        return list(seen.values())
