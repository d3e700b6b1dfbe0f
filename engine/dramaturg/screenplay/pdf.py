"""``screenplay.pdf`` in the industry layout, drawn by screenplain's PDF export (reportlab).

US Letter, Courier Prime 12 pt (embedded), 6 lines an inch, 55 lines a page. Distances from the
page's left edge: action and headings 1.5", dialogue 2.5" (3.5" wide), parentheticals 3.1",
cues 3.7", transitions flush right; scene numbers in both margins; page numbers ``2.`` at the top
right from the second page of the script on (none on the title page or page 1). The title page
centres the title, the credit, the authors and the logline, with the draft date at the lower
left.

The pages are built from the screenplay model (screenplain's flowables for headings, action
and transitions) rather than by reparsing the Fountain text, so that no model text can be read
as Fountain markup. A speech is drawn by :class:`SpeechFlowable`, which breaks it across a page
the way screenwriting software does: at the end of a sentence when it can (else between two
lines), never before two lines of speech on the first page nor with fewer than two on the next,
never after its cue or a parenthetical; ``(MORE)`` at the cue's indent ends the first part and
the cue is repeated with `` (CONT'D)`` at the top of the next page. A speech that does not fit
but cannot be broken so moves to the next page whole. A scene heading is kept with what follows.
"""

from __future__ import annotations

import importlib
import io
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from screenplain import types
from screenplain.export import pdf as sp
from screenplain.richstring import plain

from .model import Action, Dialogue, Element, Scene, Screenplay, Transition

# reportlab ships no type stubs: its modules are typed Any
platypus: Any = importlib.import_module("reportlab.platypus")
styles: Any = importlib.import_module("reportlab.lib.styles")

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


def settings() -> Any:
    """screenplain's settings with the indents of the reference layout and bold headings."""

    s = sp.Settings()
    cw, width = s.character_width, s.frame_width
    s.character_style.leftIndent = CUE * cw
    s.dialog_style.leftIndent = DIALOGUE * cw
    s.dialog_style.rightIndent = width - DIALOGUE_END * cw
    s.parenthentical_style.leftIndent = PAREN * cw
    s.parenthentical_style.rightIndent = width - PAREN_END * cw
    family = s.font_settings.family_name
    s.slug_style.fontName = f"{family} Bold" if s.font_settings.file_bold else family
    s.title_style = styles.ParagraphStyle(
        "dramaturg-title", s.centered_style, fontName=s.slug_style.fontName
    )
    s.logline_style = styles.ParagraphStyle(
        "dramaturg-logline", s.centered_style, leftIndent=8 * cw, rightIndent=8 * cw
    )
    return s


def rich(text: str) -> Any:
    """Plain text as a screenplain rich string (no Fountain emphasis parsed)."""
    return plain(text)


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters (Courier: 10 a inch); one blank line if
    empty."""
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


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

    @staticmethod
    def block_lines(block: Block) -> list[tuple[int, str]]:
        """The lines of a block, each with its indent (in characters from the left margin)."""
        parenthetical, text = block
        indent, end = (PAREN, PAREN_END) if parenthetical else (DIALOGUE, DIALOGUE_END)
        return [(indent, line) for line in _wrap(text, end - indent)]

    def lines(self) -> list[tuple[int, str]]:
        out = [(CUE, line) for line in _wrap(self.cue, self.s.characters_per_line - CUE)]
        for block in self.blocks:
            out += self.block_lines(block)
        return [*out, (CUE, MORE)] if self.more else out

    def wrap(self, aW: float, aH: float) -> tuple[float, float]:
        self.width, self.height = aW, len(self.lines()) * self.s.line_height
        return self.width, self.height

    def draw(self) -> None:
        s = self.s
        self.canv.setFont(s.font_settings.family_name, s.font_size)
        top = len(self.lines()) * s.line_height - s.font_size
        for i, (indent, text) in enumerate(self.lines()):
            self.canv.drawString(indent * s.character_width, top - i * s.line_height, text)

    def breaks(self) -> list[_Break]:
        """Every place the speech could break, from the first to the last."""

        out: list[_Break] = []
        for i, (parenthetical, text) in enumerate(self.blocks):
            before, after = self.blocks[:i], self.blocks[i + 1 :]
            lines = [line for _, line in self.block_lines((parenthetical, text))]
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
        cue_lines = len(_wrap(self.cue, s.characters_per_line - CUE))

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


def heading_flowables(scene: Scene, s: Any, scene_numbers: bool = True) -> list[Any]:

    story: list[Any] = []
    number = rich(str(scene.number)) if scene_numbers else None
    sp.add_slug(story, types.Slug(rich(scene.heading), number), s)
    return story


def element_flowables(element: Element, s: Any) -> list[Any]:
    """The flowables of one element."""

    story: list[Any] = []
    if isinstance(element, Action):
        sp.add_paragraph(story, types.Action([rich(element.text)]), s.action_style)
    elif isinstance(element, Transition):
        sp.add_paragraph(story, types.Transition(rich(element.text)), s.transition_style)
    elif isinstance(element, Dialogue):
        blocks = [(b.parenthetical, b.text) for b in element.blocks]
        story.append(SpeechFlowable(element.cue, blocks, s))
    return story


def title_page_flowables(sp_model: Screenplay, s: Any) -> list[Any]:
    """The title page: title, credit, authors and logline centred, draft date at the bottom."""

    page = sp_model.title_page
    lh = s.line_height

    def para(text: str, style: Any, markup: str = "{}") -> Any:
        return platypus.Paragraph(markup.format(rich(text).to_html()), style)

    top = [
        para(page.title.upper(), s.title_style, "<u>{}</u>"),
        platypus.Spacer(1, lh * 2),
        para(page.credit, s.centered_style),
        platypus.Spacer(1, lh),
        para(" and ".join(page.authors), s.centered_style),
    ]
    if page.logline:
        top += [platypus.Spacer(1, lh * 4), para(page.logline, s.logline_style)]
    bottom = [para(page.draft_date, s.default_style)] if page.draft_date else []
    used = sum(
        f.wrap(s.frame_width, s.frame_height)[1] for f in top if isinstance(f, platypus.Paragraph)
    )
    used += sum(f.height for f in top if isinstance(f, platypus.Spacer))
    space_above = s.frame_height / 3
    space_below = max(lh, s.frame_height - space_above - used - lh * (len(bottom) + 1))
    return [platypus.Spacer(1, space_above), *top, platypus.Spacer(1, space_below), *bottom]


def render_pdf(sp_model: Screenplay, *, scene_numbers: bool = True) -> bytes:
    """The screenplay as PDF bytes."""

    s = settings()
    story = [
        *title_page_flowables(sp_model, s),
        platypus.NextPageTemplate("standard"),
        platypus.PageBreak(),
    ]
    for scene in sp_model.scenes:
        story += heading_flowables(scene, s, scene_numbers)
        for element in scene.elements:
            story += element_flowables(element, s)
    buf = io.BytesIO()
    doc = sp.DocTemplate(
        buf,
        pagesize=(s.page_width, s.page_height),
        settings=s,
        has_title_page=True,
        title=sp_model.title,
        author=", ".join(sp_model.title_page.authors),
        subject=sp_model.title_page.logline or None,
        creator="Dramaturg",
        invariant=1,
    )
    doc.build(story)
    return buf.getvalue()
