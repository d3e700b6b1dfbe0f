"""The PDFs: the screenplay in the industry layout and the illustrated edition."""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass

import pypdf
from test_screenplay_assemble import in_memory

from dramaturg.screenplay.assemble import assemble
from dramaturg.screenplay.illustrated_pdf import render_illustrated_pdf
from dramaturg.screenplay.model import (
    Action,
    Dialogue,
    Scene,
    Screenplay,
    Speech,
    TitlePage,
)
from dramaturg.screenplay.pdf import render_pdf
from screenplay_fixtures import TITLE, loaded

#: where each element's lines start, in points from the page's left edge (1.5", 2.5", 3.1", 3.7")
X_ACTION, X_DIALOGUE, X_PAREN, X_CUE = 108.0, 180.0, 223.2, 266.4
#: the script's frame: 1" below the top of a US Letter page (the page number sits above it) down to
#: 55 lines below (an illustrated page's footer sits under it)
FRAME_TOP, FRAME_BOTTOM = 720.0, 60.0


def pages_of(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


def text_of(data: bytes) -> list[str]:
    """The text of each page."""
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


@dataclass(frozen=True)
class Line:
    x: float
    y: float
    text: str


def lines_of(data: bytes) -> list[list[Line]]:
    """Each page's lines of script top to bottom, where they start: no page number (above the
    frame) or footer (under it), no scene numbers (in the margins)."""

    pages = []
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        found: list[Line] = []

        def visit(text, cm, tm, _font, _size, found=found):
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            in_margin = x < X_ACTION - 1 or (x > 500 and text.strip().isdigit())
            if text.strip() and FRAME_BOTTOM <= y < FRAME_TOP and not in_margin:
                found.append(Line(round(x, 1), round(y, 1), text.strip()))

        page.extract_text(visitor_text=visit)
        pages.append(sorted(found, key=lambda line: (-line.y, line.x)))
    return pages


def is_cue(line: Line) -> bool:
    return line.x == X_CUE and line.text != "(MORE)"


def said(lines: list[Line]) -> list[str]:
    """The dialogue lines (not cues, parentheticals or (MORE)) in reading order."""
    return [line.text for line in lines if line.x == X_DIALOGUE]


def long_script(scenes: int = 30):
    plot = [
        {"place": f"Room {i}", "plot_element": "Rising Action", "beat": "They argue."}
        for i in range(scenes)
    ]
    speech = "I have said this before and I will say it again, slowly, so you hear it."
    dialogue = [
        [
            {"type": "action", "text": "The lamps flicker. " * 6},
            *[
                {"type": "dialogue", "character": "MARA" if j % 2 else "ORIN", "line": speech}
                for j in range(8)
            ],
        ]
        for _ in range(scenes)
    ]
    return assemble(in_memory(plot=plot, dialogue=dialogue))


def test_screenplay_pdf(tmp_path):
    data = render_pdf(assemble(loaded(tmp_path)))
    assert data.startswith(b"%PDF-")
    assert 2 <= pages_of(data) <= 4  # a title page and a short script
    assert b"CourierPrime" in data  # the font is embedded
    assert b"/Title (The Salt Road)" in data or TITLE.encode() in data
    pages = text_of(data)
    assert TITLE.upper() in pages[0] and "Co-written by" in pages[0]
    assert "A lighthouse keeper who bottles storms" in pages[0]
    script = "\n".join(pages[1:])
    assert "INT. THE LAMP ROOM OF THE LIGHTHOUSE" in script
    assert "MARA (V.O.)" in script and "(quietly)" in script and "CUT TO:" in script
    assert "<script>alert('x')</script>" in script  # text, not markup
    assert "(MORE)" not in script and "(CONT'D)" not in script  # every speech fits its page


def test_page_count_and_page_numbers(tmp_path):
    data = render_pdf(long_script())
    # 30 scenes of ~45 lines: about 25 pages at 55 lines a page, plus the title page
    assert 15 <= pages_of(data) <= 45
    pages = text_of(data)
    first_lines = [p.strip().splitlines()[0].strip() if p.strip() else "" for p in pages]
    assert not re.search(r"\d+\.$", first_lines[0])  # none on the title page
    assert not first_lines[1].endswith("1.")  # nor on page 1
    assert first_lines[2].endswith("2.") and first_lines[5].endswith("5.")


def test_scene_numbers_can_be_left_out(tmp_path):
    sp = assemble(loaded(tmp_path))
    pages = text_of(render_pdf(sp, scene_numbers=False))
    heading = next(line for line in pages[1].splitlines() if "LAMP ROOM" in line)
    assert heading.strip() == "INT. THE LAMP ROOM OF THE LIGHTHOUSE"


def test_illustrated_pdf_embeds_the_images(tmp_path):
    sp = assemble(loaded(tmp_path))
    data = render_illustrated_pdf(sp)
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Subtype /Image", data)) == 5  # 3 portraits, 2 places
    assert 4 <= pages_of(data) <= 8  # cover, cast, script
    pages = text_of(data)
    assert TITLE.upper() in pages[0]
    assert "CAST" in pages[1] and "MARA VOSS" in pages[1] and "SCENES" in pages[1]
    assert "Scene 1 · Exposition" in pages[2] or "Scene 1" in pages[2]


def test_illustrated_pdf_without_images(tmp_path):
    sp = assemble(loaded(tmp_path, images=False))
    data = render_illustrated_pdf(sp)
    assert data.startswith(b"%PDF-") and b"/Subtype /Image" not in data


def test_an_unreadable_image_is_left_out(tmp_path):
    run = loaded(tmp_path)
    sp = assemble(run)
    broken = sp.scenes[0].image
    assert broken is not None
    broken.path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"truncated")
    data = render_illustrated_pdf(sp)
    assert len(re.findall(rb"/Subtype /Image", data)) == 4


def numbered_sentences(n: int, start: int = 1) -> str:
    return " ".join(
        f"Sentence {i} of the speech is said slowly, word by word." for i in range(start, start + n)
    )


def speech_script(*speeches: Dialogue, filler: int = 6) -> Screenplay:
    """A scene of ``filler`` four-line action paragraphs, then the speeches."""
    action = "The lamps flicker and the wind keeps on howling at the shutters. " * 3
    elements: list = [Action(action.strip()) for _ in range(filler)]
    elements += speeches
    return Screenplay(
        TitlePage("The Long Speech"), scenes=[Scene(1, "Lamp room", "INT.", elements=elements)]
    )


def test_a_speech_breaks_across_a_page_with_more_and_contd():
    speech = numbered_sentences(24)
    data = render_pdf(speech_script(Dialogue("MARA", [Speech(speech)])))
    pages = lines_of(data)
    n = next(i for i, page in enumerate(pages) if any(line.text == "(MORE)" for line in page))
    first, second = pages[n], pages[n + 1]
    # "(MORE)" closes page n, at the cue's indent, right under the last line of speech
    assert first[-1] == Line(X_CUE, first[-1].y, "(MORE)")
    assert first[-2].x == X_DIALOGUE and first[-2].y == first[-1].y + 12
    assert first[-2].text.endswith("word by word.")  # broken at the end of a sentence
    # the cue is repeated at the top of the next page, which keeps its page number
    assert second[0] == Line(X_CUE, FRAME_TOP - 12, "MARA (CONT'D)")
    assert text_of(data)[n + 1].strip().splitlines()[0].strip() == f"{n + 1}."
    # at least two lines of speech on each side of the break
    cue = max(i for i, line in enumerate(first) if line.text == "MARA")
    assert len(said(first[cue:])) >= 2 and len(said(second)) >= 2
    # the whole speech, in order, nothing lost or repeated
    assert " ".join(said([line for page in pages for line in page])) == speech
    assert sum(line.text == "(MORE)" for page in pages for line in page) == 1


def test_a_speech_longer_than_a_page_breaks_on_every_page():
    speech = numbered_sentences(60)
    cue = "ORIN (V.O.)"
    blocks = [Speech("(gently)", True), Speech(speech), Speech("(beat)", True), Speech("Go.")]
    data = render_pdf(speech_script(Dialogue(cue, blocks), filler=2))
    pages = lines_of(data)[1:]
    script = [line for page in pages for line in page]
    assert " ".join(said(script)) == f"{speech} Go."
    mores = [i for i, page in enumerate(pages) if page[-1].text == "(MORE)"]
    assert len(mores) >= 2  # about 200 lines of speech: three pages or more
    for i in mores:
        assert pages[i + 1][0].text == "ORIN (V.O.) (CONT'D)"  # never (CONT'D) (CONT'D)
    assert [line.text for line in script if line.x == X_PAREN] == ["(gently)", "(beat)"]
    assert sum(line.text == "(MORE)" for line in script) == len(mores)


def test_no_page_ends_on_a_cue_a_parenthetical_or_a_heading():
    # speeches of every length from 1 to 9 sentences, some with parentheticals, so that breaks
    # fall everywhere in them
    scenes = []
    for n in range(1, 13):
        speeches = [
            Dialogue(
                "MARA" if k % 2 else "ORIN",
                [Speech("(low)", True), Speech(numbered_sentences(k + 1, 10 * k))]
                if k % 3 == 0
                else [
                    Speech(numbered_sentences(k + 1, 10 * k)),
                    Speech("(beat)", True),
                    Speech("No."),
                ],
            )
            for k in range(n % 9)
        ]
        elements: list = [Action("Rain on the glass. " * (n % 5 + 1)), *speeches]
        scenes.append(Scene(n, f"Room {n}", "INT.", elements=elements))
    sp = Screenplay(TitlePage("Breaks"), scenes=scenes)
    pages = lines_of(render_pdf(sp))[1:]
    script = [line for page in pages for line in page]
    expected = [
        b.text
        for scene in scenes
        for e in scene.elements
        if isinstance(e, Dialogue)
        for b in e.blocks
        if not b.parenthetical
    ]
    assert " ".join(said(script)) == " ".join(expected)
    broken = 0
    for page, following in itertools.pairwise(pages):
        last = page[-1]
        assert not is_cue(last), last
        assert last.x != X_PAREN, last
        assert not (last.x == X_ACTION and last.text.startswith(("INT.", "EXT."))), last
        if last.text != "(MORE)":
            assert "(CONT'D)" not in following[0].text  # no speech was broken here
            continue
        broken += 1
        cue = max(i for i, line in enumerate(page) if is_cue(line))
        assert following[0].text == f"{page[cue].text} (CONT'D)"
        assert page[-2].x == X_DIALOGUE  # never (MORE) right under a parenthetical
        rest = list(
            itertools.takewhile(lambda line: line.x in (X_DIALOGUE, X_PAREN), following[1:])
        )
        assert len(said(page[cue:])) >= 2 and len(said(rest)) >= 2
    assert broken >= 2


def test_the_illustrated_pdf_breaks_speeches_the_same_way():
    data = render_illustrated_pdf(speech_script(Dialogue("MARA", [Speech(numbered_sentences(24))])))
    pages = lines_of(data)
    n = next(i for i, page in enumerate(pages) if page and page[-1].text == "(MORE)")
    assert pages[n][-1].x == X_CUE
    assert pages[n + 1][0] == Line(X_CUE, FRAME_TOP - 12, "MARA (CONT'D)")


def test_speeches_without_a_sentence_break_still_break():
    one_sentence = " ".join(["and then the sea came in"] * 150)  # about 3 pages, no full stop
    aside = "(" + " ".join(["very slowly"] * 300) + ")"  # a parenthetical longer than a page
    for blocks in ([Speech(one_sentence)], [Speech(aside, True), Speech("Fine then.")]):
        pages = lines_of(render_pdf(speech_script(Dialogue("NELL", blocks))))
        script = [line for page in pages for line in page]
        assert " ".join(said(script)) == " ".join(b.text for b in blocks if not b.parenthetical)
        conts = [line for line in script if line.text == "NELL (CONT'D)"]
        assert len(conts) >= 2 and sum(line.text == "(MORE)" for line in script) == len(conts)
        first = next(i for i, page in enumerate(pages) if any(is_cue(line) for line in page))
        assert all(page[0].text == "NELL (CONT'D)" for page in pages[first + 1 :])
