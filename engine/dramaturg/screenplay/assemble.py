"""A run's outputs put together as a :class:`Screenplay`, the way Dramatron renders a script.

Steps read (ids configurable, see ``options``): ``title`` (text), ``characters`` (list of
``{name, description}``), ``plot`` (list of ``{place, plot_element, beat}``), ``places``
(descriptions of the unique places of the plot, first-appearance order, case-insensitive as
Jinja's ``unique``), ``dialogue`` (per scene, a list of ``{type: dialogue|action|transition}``
elements), and the optional images ``portraits`` (per character) and ``illustrations`` (per
unique place or per scene). ``title``, ``plot`` and ``dialogue`` are required; the others may be
missing or failed.

Every text goes through :mod:`.text` (one clean line, nothing an export could misread).

Each scene holds, in order: its place's description the first time the place appears, the
description of each character appearing for the first time (speaking, or named in the beat),
then the dialogue.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from dramaturg import ExportError, RunResult

from .cast import Cast, introduce
from .files import run_image
from .model import (
    Action,
    Character,
    Dialogue,
    Element,
    Image,
    Scene,
    Screenplay,
    Speech,
    TitlePage,
    Transition,
)
from .options import Options
from .sluglines import split_setting
from .text import clean, name, paragraphs, place
from .text import cue as clean_cue

__all__ = ["assemble", "clean", "paragraphs"]

_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}


def assemble(
    result: RunResult, options: Options | None = None, run_dir: Path | None = None
) -> Screenplay:
    """The screenplay of a run. Raises :class:`ExportError` for a missing or malformed output."""
    opts = options or Options()
    root = run_dir or result.run_dir
    out = _Outputs(result, opts, root)
    title = _title(out)
    characters = _characters(out)
    cast = Cast(characters)
    plot = _plot(out)
    dialogue = _dialogue(out, cast, len(plot))
    descriptions = _places(out)
    illustrations = out.images("illustrations")
    per_scene = (opts.illustrate or out.inputs().get("illustrate")) == "scenes"
    for character, image in zip(characters, out.images("portraits"), strict=False):
        character.portrait = image

    scenes: list[Scene] = []
    seen_places: dict[str, int] = {}
    met: set[int] = set()
    for i, (beat, elements) in enumerate(zip(plot, dialogue, strict=True)):
        setting, where = split_setting(beat["place"])
        scene = Scene(i + 1, where, setting, beat["plot_element"], beat["beat"])
        key = beat["raw_place"].lower()  # as Jinja's `unique` (case-insensitive, first kept)
        first_time = key not in seen_places
        if first_time:
            seen_places[key] = len(seen_places)
        place_index = seen_places[key]
        if first_time and place_index < len(descriptions):
            scene.elements += [Action(p, "place") for p in paragraphs(descriptions[place_index])]
        if per_scene:
            scene.image = illustrations[i] if i < len(illustrations) else None
        elif first_time and place_index < len(illustrations):
            scene.image = illustrations[place_index]
        speakers = [e.character for e in elements if isinstance(e, Dialogue) and e.character]
        for c in _unique([*cast.mentioned_in(beat["beat"]), *speakers]):
            if id(c) not in met:
                met.add(id(c))
                intro = introduce(c)
                if intro:
                    scene.elements.append(Action(intro, "character", c))
        scene.elements += elements
        scenes.append(scene)

    page = TitlePage(
        title=title,
        authors=["Dramaturg", clean(opts.author)] if clean(opts.author) else ["Dramaturg"],
        logline=clean(out.inputs().get(opts.logline, "")),
        draft_date=clean(opts.draft_date) or _run_date(result),
    )
    return Screenplay(page, characters, scenes)


class _Outputs:
    """The run's step outputs, by role, with errors that say which step and how to fix it."""

    def __init__(self, result: RunResult, opts: Options, run_dir: Path | None) -> None:
        self.result, self.opts, self.run_dir = result, opts, run_dir

    def step(self, role: str) -> str:
        return self.opts.steps[role]

    def required(self, role: str) -> Any:
        sid = self.step(role)
        step = self.result.steps.get(sid)
        if step is None:
            raise ExportError(
                f"the screenplay needs the {role} (step '{sid}'), but the run has no step '{sid}'",
                hint=f"name the step holding the {role} with the exporter option "
                f"steps: {{{role}: <step id>}}",
            )
        if step.status != "done" or step.output is None:
            why = f": {step.error}" if step.error else ""
            raise ExportError(
                f"the screenplay needs the {role}, but step '{sid}' is {step.status}{why}",
                hint="rerun the chain (finished steps are kept) before exporting",
            )
        return step.output

    def optional(self, role: str) -> Any:
        step = self.result.steps.get(self.step(role))
        return step.output if step is not None and step.status == "done" else None

    def bad(self, role: str, where: str, what: str) -> ExportError:
        sid = self.step(role)
        rerun = f"`dramaturg export {self.run_dir}`" if self.run_dir else "the export"
        return ExportError(
            f"step '{sid}' ({role}) output{where}: {what}",
            hint=f"fix steps/{sid}.json in the run folder and run {rerun} again, or rerun the step",
        )

    def images(self, role: str) -> list[Image | None]:
        value = self.optional(role)
        if not isinstance(value, list) or self.run_dir is None:
            return []
        out: list[Image | None] = []
        for item in value:
            if isinstance(item, dict) and not item.get("filtered"):
                out.append(run_image(self.run_dir, item.get("image"), item.get("prompt", "")))
            else:
                out.append(None)
        return out

    def inputs(self) -> dict[str, Any]:
        """The run's inputs (load_run restores them for a run read back from disk)."""
        return self.result.inputs


def _title(out: _Outputs) -> str:
    value = out.required("title")
    if not isinstance(value, str):
        raise out.bad("title", "", f"expected text, got {type(value).__name__}")
    title = clean(value)
    if len(title) > 1 and _QUOTES.get(title[0]) == title[-1]:
        title = title[1:-1].strip()
    if not title:
        raise out.bad("title", "", "the title is empty")
    return title


def _characters(out: _Outputs) -> list[Character]:
    value = out.optional("characters")
    if value is None:
        return []
    if isinstance(value, dict):  # name -> description
        value = [{"name": k, "description": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise out.bad("characters", "", f"expected a list, got {type(value).__name__}")
    characters = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not name(item.get("name")):
            raise out.bad("characters", f" [{i}]", "each character needs a 'name'")
        characters.append(Character(name(item["name"]), clean(item.get("description"))))
    return characters


def _plot(out: _Outputs) -> list[dict[str, str]]:
    value = out.required("plot")
    if not isinstance(value, list) or not value:
        raise out.bad("plot", "", "expected a non-empty list of scenes")
    scenes = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not place(item.get("place")):
            raise out.bad("plot", f" [{i}]", "each scene needs a 'place'")
        if not isinstance(item["place"], str):
            raise out.bad("plot", f" [{i}]", "'place' must be text")
        scenes.append(
            {
                "place": place(item["place"]),
                "raw_place": item["place"],
                "plot_element": clean(item.get("plot_element")),
                "beat": clean(item.get("beat")),
            }
        )
    return scenes


def _places(out: _Outputs) -> list[str]:
    value = out.optional("places")
    if not isinstance(value, list):
        return []
    texts = []
    for item in value:
        text = item.get("description", "") if isinstance(item, dict) else item
        texts.append(text if isinstance(text, str) else "")
    return texts


def _dialogue(out: _Outputs, cast: Cast, scenes: int) -> list[list[Element]]:
    value = out.required("dialogue")
    if not isinstance(value, list):
        raise out.bad(
            "dialogue", "", f"expected a list (one per scene), got {type(value).__name__}"
        )
    if len(value) != scenes:
        raise out.bad(
            "dialogue",
            "",
            f"{len(value)} scene(s) of dialogue for {scenes} scene(s) in the plot "
            f"(step '{out.step('plot')}')",
        )
    result = []
    for i, items in enumerate(value):
        if not isinstance(items, list):
            raise out.bad("dialogue", f" [{i}]", "expected a list of elements for the scene")
        result.append([e for j, item in enumerate(items) for e in _element(out, cast, i, j, item)])
    return result


def _element(out: _Outputs, cast: Cast, scene: int, index: int, item: Any) -> list[Element]:
    where = f" [{scene}][{index}]"
    if isinstance(item, str):
        return [Action(p) for p in paragraphs(item)]
    if not isinstance(item, dict):
        raise out.bad("dialogue", where, f"expected an element, got {type(item).__name__}")
    kind = item.get("type", "dialogue" if "character" in item else None)
    if kind == "action":
        return [Action(p) for p in paragraphs(item.get("text"))]
    if kind == "transition":
        text = re.sub(r"[\s<]+$", "", clean(item.get("text")).upper())
        return [Transition(text)] if text else []
    if kind != "dialogue":
        raise out.bad(
            "dialogue", where, f"unknown element type {kind!r} (dialogue, action or transition)"
        )
    dialogue = Dialogue(clean_cue(item.get("character")))
    if not any(ch.isalpha() for ch in dialogue.name):  # as Fountain wants of a name
        raise out.bad(
            "dialogue", where, "a dialogue element needs a 'character' (a name with a letter)"
        )
    dialogue.blocks = _speech(item.get("parenthetical"), item.get("line"))
    if not dialogue.blocks:
        return []
    dialogue.character = cast.match_cue(dialogue.name)
    return [dialogue]


def _speech(parenthetical: Any, line: Any) -> list[Speech]:
    """Blocks under a cue: the parenthetical, then the line, with a parenthetical that opens the
    line (``(quietly) Go.``) made a block of its own. Parentheticals in a row are one block
    (``(quietly) (beat)``), and an empty one ``()`` is dropped."""
    parens = []
    paren = clean(parenthetical)
    if paren:
        parens.append(_wrap(paren))
    text = clean(line)
    while text.startswith("("):  # a line opening in parentheses reads as a parenthetical
        end = _closing(text)
        if end is None:  # never closed: not a parenthetical
            text = text[1:].lstrip()
            continue
        parens.append(text[: end + 1])
        text = text[end + 1 :].lstrip()
    said = [p for p in parens if clean(p[1:-1])]
    blocks = [Speech(" ".join(said), parenthetical=True)] if said else []
    return [*blocks, Speech(text)] if text else blocks


def _closing(text: str) -> int | None:
    """The index of the parenthesis closing the one that opens ``text``."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return i
    return None


def _wrap(text: str) -> str:
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        return text
    return f"({text.strip('()').strip()})"


def _unique(characters: list[Character]) -> list[Character]:
    seen: dict[int, Character] = {}
    for c in characters:
        seen.setdefault(id(c), c)
    return list(seen.values())


def _run_date(result: RunResult) -> str:
    starts = [s.started for s in result.steps.values() if s.started]
    moment = time.localtime(min(starts)) if starts else time.localtime()
    return f"{time.strftime('%B', moment)} {moment.tm_mday}, {moment.tm_year}"
