"""A speech in the PDFs: its cue, parentheticals and lines, drawn by :class:`SpeechFlowable`,
which breaks it across a page the way screenwriting software does: at the end of a sentence when
it can (else between two lines), never before two lines of speech on the first page nor with
fewer than two on the next, never after its cue or a parenthetical; ``(MORE)`` at the cue's
indent ends the first part and the cue is repeated with `` (CONT'D)`` at the top of the next
page. A speech that does not fit but cannot be broken so moves to the next page whole.

Lines are measured and drawn by :mod:`.layout` (any script); a line of speech or a
parenthetical that is right-to-left is set flush with its column's right edge.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from . import layout

# reportlab ships no type stubs: its modules are typed Any
platypus: Any = importlib.import_module("reportlab.platypus")

#: characters of 1/10" from the left margin (1.5"): dialogue, its right edge, parentheticals,
#: their right edge, cues
DIALOGUE, DIALOGUE_END, PAREN, PAREN_END, CUE = 10, 45, 16, 41, 22
#: the last line of a speech's first part when it breaks across a page, and the suffix of its cue
#: at the top of the next page
MORE, CONTD = "(MORE)", "(CONT'D)"
#: a word that ends a sentence: ``it.``, ``now?!``, ``said."``, ``(sighs)...``
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")

#: one block of a speech: (is it a parenthetical, its text)
Block = tuple[bool, str]
#: which edge of its column a line is set flush with
Flush = Literal["left", "right"]


@dataclass(frozen=True)
class _Line:
    """A line of a speech: its column (characters from the left margin) and its text."""

    indent: int
    end: int
    text: str
    flush: Flush = "left"


def _wrap(text: str, width: int, s: Any) -> tuple[str, ...]:
    """``text`` in lines at most ``width`` Courier characters wide (10 an inch; the glyphs of
    other fonts measured as they are); one blank line if empty."""
    return layout.wrap(text, width * s.character_width, s.font_settings.family_name, s.font_size)


def _sentences(text: str) -> list[str]:
    """``text`` cut after each word that ends a sentence."""

    out: list[str] = []
    words: list[str] = []
    for word in text.split():
        words.append(word)
        if _SENTENCE_END.search(word):
            out.append(" ".join(words))
            words = []
    return [*out, " ".join(words)] if words else out


@dataclass(frozen=True)
class _Break:
    """A place to break a speech: the blocks before it and after it."""

    head: list[Block]
    tail: list[Block]
    #: at the end of a sentence or a block rather than between two lines of a sentence
    clean: bool


class SpeechFlowable(platypus.Flowable):  # type: ignore[misc]  # reportlab is untyped
    """A speech: its cue, parentheticals and lines, breaking across pages with (MORE)/(CONT'D)."""

    def __init__(self, cue: str, blocks: list[Block], s: Any, *, more: bool = False) -> None:
        super().__init__()
        self.cue, self.blocks, self.s, self.more = cue, blocks, s, more
        self.spaceBefore = s.character_style.spaceBefore

    def __repr__(self) -> str:
        return f"SpeechFlowable({self.cue!r}, {len(self.blocks)} blocks, more={self.more})"

    def block_lines(self, block: Block) -> list[_Line]:
        """The lines of a block, each with its column (in characters from the left margin)."""
        parenthetical, text = block
        indent, end = (PAREN, PAREN_END) if parenthetical else (DIALOGUE, DIALOGUE_END)
        flush: Flush = "right" if layout.rtl(text) else "left"
        return [_Line(indent, end, line, flush) for line in _wrap(text, end - indent, self.s)]

    def lines(self) -> list[_Line]:
        width = self.s.characters_per_line
        out = [_Line(CUE, width, line) for line in _wrap(self.cue, width - CUE, self.s)]
        for block in self.blocks:
            out += self.block_lines(block)
        return [*out, _Line(CUE, width, MORE)] if self.more else out

    def wrap(self, aW: float, aH: float) -> tuple[float, float]:
        self.width, self.height = aW, len(self.lines()) * self.s.line_height
        return self.width, self.height

    def draw(self) -> None:
        s = self.s
        font, size, cw = s.font_settings.family_name, s.font_size, s.character_width
        top = len(self.lines()) * s.line_height - size
        for i, line in enumerate(self.lines()):
            x = line.indent * cw
            if line.flush == "right":  # a right-to-left line, flush with its column's edge
                x = line.end * cw - layout.width(line.text, font, size)
            layout.draw(self.canv, x, top - i * s.line_height, line.text, font, size)

    def breaks(self) -> list[_Break]:
        """Every place the speech could break, from the first to the last."""

        out: list[_Break] = []
        for i, (parenthetical, text) in enumerate(self.blocks):
            before, after = self.blocks[:i], self.blocks[i + 1 :]
            lines = [line.text for line in self.block_lines((parenthetical, text))]
            for n in range(1, len(lines)):
                head, tail = " ".join(lines[:n]), " ".join(lines[n:])
                out.append(
                    _Break([*before, (parenthetical, head)], [(parenthetical, tail), *after], False)
                )
            sentences = [] if parenthetical else _sentences(text)
            for n in range(1, len(sentences)):
                head, tail = " ".join(sentences[:n]), " ".join(sentences[n:])
                out.append(_Break([*before, (False, head)], [(False, tail), *after], True))
            if after:
                out.append(_Break(self.blocks[: i + 1], after, True))
        return out

    def split(self, aW: float, aH: float) -> list[Any]:
        """The speech broken to fit ``aH`` (its first part ending with ``(MORE)``), or ``[]`` to
        move it whole to the next page."""

        s = self.s
        room = int(aH / s.line_height + 1e-6)
        cue_lines = len(_wrap(self.cue, s.characters_per_line - CUE, s))

        def count(blocks: list[Block], speech_only: bool = False) -> int:
            return sum(len(self.block_lines(b)) for b in blocks if not (speech_only and b[0]))

        def fits(b: _Break, strict: bool) -> bool:
            if cue_lines + count(b.head) + 1 > room:  # + (MORE)
                return False
            if not strict:  # longer than a page and no better way: any line will do
                return True
            return not b.head[-1][0] and count(b.head, True) >= 2 and count(b.tail, True) >= 2

        full_page = aH >= s.frame_height - s.line_height / 2
        for strict in (True, False) if full_page else (True,):
            fitting = [b for b in self.breaks() if fits(b, strict)]
            if fitting:  # the longest first part, at the end of a sentence if one fits
                best = max(fitting, key=lambda b: (b.clean, count(b.head)))
                break
        else:
            return []
        cue = self.cue if CONTD in self.cue.upper() else f"{self.cue} {CONTD}"
        head = SpeechFlowable(self.cue, best.head, s, more=True)
        return [head, SpeechFlowable(cue, best.tail, s, more=self.more)]
