"""Parsers of the Dramatron chain (``chains/dramatron.yaml``): model text in, screenplay data out.

Registered as the entry points ``dramatron.title``, ``dramatron.characters``,
``dramatron.scene``, ``dramatron.scenes``, ``dramatron.place`` and ``dramatron.dialogue``
(``parse: dramatron.scenes`` in a chain). Each accepts both answers a model may give:

* **JSON**, as the embedded model writes when its output is constrained by a JSON schema (a
  list, or an object holding the list; code fences, surrounding prose, control characters in
  strings and a truncated tail are tolerated: every complete record before the cut is kept);
* **labelled text** in Dramatron's style, as a hosted model may answer: ``Mara: Mara is ...``,
  ``Place: / Plot element: / Beat:`` records, screenplay dialogue (cues, parentheticals,
  speeches, action, transitions), with markdown bold, numbering, bullets and stray whitespace.

Shapes (what the ``screenplay`` exporter reads):

* ``characters`` -> ``[{"name", "description"}]``, descriptions starting with the name;
* ``scene`` -> one ``{"place", "plot_element", "beat"}`` (a plot written one scene per call);
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

from .parse_dialogue import dialogue
from .parse_outline import (
    characters,
    clean_name,
    describe_with_name,
    normalise_place,
    scene,
    scenes,
)
from .parse_short import place, title
from .parse_text import smart_title

__all__ = [
    "characters",
    "clean_name",
    "describe_with_name",
    "dialogue",
    "normalise_place",
    "place",
    "scene",
    "scenes",
    "smart_title",
    "title",
]
