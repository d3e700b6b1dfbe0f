"""Both PDFs print text in any script the docs name (docs/exports.md): what Courier Prime lacks in
the bundled fallback fonts, right-to-left lines in right-to-left order and flush right, CJK
text wrapped inside its column; Latin text stays in Courier Prime, laid out as before.

The PDFs are read back with pypdf (an outside reader): the fonts each page uses, its text, and
where each run of text is drawn.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass

import pypdf
import pytest
from test_screenplay_assemble import in_memory

from dramaturg.screenplay import fonts, layout
from dramaturg.screenplay.assemble import assemble
from dramaturg.screenplay.illustrated_pdf import render_illustrated_pdf
from dramaturg.screenplay.pdf import render_pdf
from screenplay_corpus import CASES, do, plot, say

#: one sample of each script the docs say prints
SAMPLES = {
    "Hebrew": "שלום עליכם",
    "Arabic": "بيت الفانوس",
    "Persian": "چراغ دریایی",
    "Greek": "Ζωή και θάνατος",
    "Cyrillic": "Всё хорошо, спасибо",
    "Vietnamese": "Tiếng Việt có dấu",
    "Armenian": "Հայերեն",
    "Georgian": "ქართული",
    "Ethiopic": "ሰላም ነው።",
    "Thai": "สวัสดีครับ",
    "Chinese": "你好世界",
    "Japanese": "こんにちは、カタカナ",
    "Korean": "안녕하세요",
    "emoji": "😀🎉🔥🌊👍🏽",
    "symbols": "★ → ✓ ⚓ ♥",
}
#: where a column's lines start and end, in points from the page's left edge
X_DIALOGUE, DIALOGUE_END, PAREN_END = 180.0, 432.0, 403.2


@pytest.mark.parametrize("script", list(SAMPLES))
def test_every_script_the_docs_name_has_a_font(script):
    text = SAMPLES[script]
    shaped = layout.visual(text)  # Arabic in its joining forms, as it is drawn
    assert fonts.missing(shaped, "Courier") == ""
    assert fonts.missing(text, "Courier") == ""


def _screenplay():
    return assemble(
        in_memory(
            title="בית הפנס",
            characters=[
                {"name": "שלום", "description": "שלום, a sailor."},
                {"name": "李", "description": "李 rows the ferry."},
            ],
            plot=plot("EXT. بيت الفانوس", "INT. חדר המנורה"),
            dialogue=[
                [
                    say("שלום", "שלום עליכם", "בשקט"),
                    say("Mara", "He said שלום and left."),
                    do("The lamp 😀🎉 burns. Ζωή και θάνατος. Всё хорошо."),
                ],
                [
                    say("李", "你好。我们今天晚上去海边看灯塔吧\uff0c天气很好\uff0c风也不大。" * 2),
                    do("ᲥᲐᲠᲗᲣᲚᲘ ქართული, Հայերեն, چراغ دریایی, こんにちは, 안녕하세요."),
                ],
            ],
        )
    )


def _fonts(data: bytes) -> set[str]:
    names = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            names.add(str(ref.get_object()["/BaseFont"]).split("+")[-1].lstrip("/"))
    return names


def _text(data: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in pages))


@pytest.mark.parametrize("render", [render_pdf, render_illustrated_pdf])
def test_the_pdfs_print_other_scripts_in_the_fallback_fonts(render):
    data = render(_screenplay())
    used = _fonts(data)
    for face in ("CourierPrime", "NotoSansHebrew-Regular", "NotoSansArabic-Bold", "NotoEmoji"):
        assert any(name.startswith(face) for name in used), (face, used)
    for face in ("DroidSansFallback", "NotoSansMono-Regular", "NotoSansGeorgian-Regular"):
        assert any(name.startswith(face) for name in used), (face, used)
    text = _text(data)  # pypdf gives right-to-left runs back in reading order
    for word in ("שלום", "עליכם", "בשקט", "الفانوس", "你好", "😀", "🎉", "Ζωή", "хорошо"):
        assert word in text, word
    assert "\ufffd" not in text


@dataclass(frozen=True)
class Run:
    x: float
    y: float
    text: str


def _runs(data: bytes) -> list[Run]:
    """The runs of text on the script's pages (not the title page), where each is drawn; no
    scene numbers (in the margins). A page's runs sit 1000 points below the page before's."""
    found: list[Run] = []
    for n, page in enumerate(pypdf.PdfReader(io.BytesIO(data)).pages[1:]):

        def visit(text, cm, tm, _font, _size, n=n):
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            number = text.strip().isdigit() and (x < 100 or x > 500)
            if text.strip() and not number:
                found.append(Run(round(x, 1), round(y, 1) - 1000 * n, text.strip()))

        page.extract_text(visitor_text=visit)
    return found


def _line(runs: list[Run], word: str) -> list[Run]:
    """The runs on the line holding ``word``, left to right."""
    y = next(r.y for r in runs if word in r.text)
    return sorted((r for r in runs if r.y == y), key=lambda r: r.x)


def test_right_to_left_lines_read_right_to_left_flush_right():
    s = _screenplay()
    runs = _runs(render_pdf(s))
    font, size = "Courier Prime", 12
    # a Hebrew speech line: flush with the dialogue column's right edge
    line = _line(runs, "עליכם")
    assert line[0].x > X_DIALOGUE
    right = line[0].x + layout.width("שלום עליכם", font, size)
    assert right == pytest.approx(DIALOGUE_END, abs=0.5)
    # its parenthetical too, its brackets mirrored: "(" on the left as drawn, ")" on the right
    paren = _line(runs, "בשקט")
    assert [r.text for r in paren] == ["(", "בשקט", ")"]
    assert paren[-1].x + layout.width(")", font, size) == pytest.approx(PAREN_END, abs=0.5)
    # a Hebrew word in an English line stays where it is read, between the English words
    mixed = _line(runs, "and left.")
    assert [r.text for r in mixed] == ["He said", "שלום", "and left."]
    assert mixed[0].x == X_DIALOGUE
    # a paragraph that starts in Hebrew: the Hebrew is read first, so it is on the right
    intro = _line(runs, "a sailor")
    assert intro[-1].text == "שלום" and intro[0].x > 108.0
    # an Arabic heading: "EXT." first on the left, then the two words right to left
    heading = [r.text for r in _line(runs, "EXT.")]
    assert heading[0] == "EXT."
    words = [unicodedata.normalize("NFKC", w) for w in heading[1:]]
    assert words == ["الفانوس", "بيت"]  # drawn left to right: the last word first


def test_cjk_speech_wraps_inside_its_column():
    runs = _runs(render_pdf(_screenplay()))
    lines = sorted({r.y for r in runs if "你好" in r.text or "灯塔" in r.text or "风" in r.text})
    assert len(lines) >= 3  # wrapped, not one long line off the page
    for y in lines:
        row = sorted((r for r in runs if r.y == y), key=lambda r: r.x)
        assert row[0].x == X_DIALOGUE
        drawn = "".join(r.text for r in row)
        assert row[0].x + layout.width(drawn, "Courier Prime", 12) <= DIALOGUE_END + 0.5
        assert not drawn.startswith(("\uff0c", "。"))  # punctuation stays with the letter before


def test_wrapping_measures_glyphs():
    # Courier text wraps as before: at spaces, by characters of 1/10"
    text = "The lamps flicker and the sea is flat as a plate tonight."
    assert layout.wrap(text, 20 * 7.2, "Courier Prime", 12) == (
        "The lamps flicker",
        "and the sea is flat",
        "as a plate tonight.",
    )
    # a word longer than the line is cut to fill it
    assert layout.wrap("a " + "x" * 30, 10 * 7.2, "Courier Prime", 12) == (
        "a xxxxxxxx",
        "x" * 10,
        "x" * 10,
        "xx",
    )
    # CJK letters are twice as wide as Courier's, and a line may break between them
    lines = layout.wrap("你好世界你好世界", 10 * 7.2, "Courier Prime", 12)
    assert lines == ("你好世界你好", "世界")  # 6 x 12 pt in 72 pt
    assert layout.wrap("", 72, "Courier Prime", 12) == ("",)


def test_latin_text_stays_in_courier_prime():
    s = assemble(in_memory())
    assert _fonts(render_pdf(s)) <= {"CourierPrime", "CourierPrime-Bold", "Helvetica"}


def test_a_character_no_font_has_prints_as_a_box():
    assert fonts.runs("Hi \u0928\u092e", "Courier Prime") == [
        ("Courier Prime", "Hi "),
        ("dramaturg-NotoSansMono-Regular", fonts.MISSING * 2),
    ]
    # invisible joiners stay with an emoji, and are dropped where their font lacks them
    assert fonts.runs("\U0001f44d\u200d\U0001f3fd a\u200d", "Courier Prime") == [
        ("dramaturg-NotoEmoji-Regular", "\U0001f44d\u200d\U0001f3fd"),
        ("Courier Prime", " a"),
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_both_pdfs_print_every_class_of_text(case):
    sp = assemble(in_memory(**CASES[case]))
    for render in (render_pdf, render_illustrated_pdf):
        text = _text(render(sp))
        assert fonts.MISSING not in text, render  # every character of the corpus has a font
        for scene in sp.scenes:  # markup prints as text: <b>, **, [[ and the rest
            assert scene.heading.split()[-1] in text.replace("\n", " "), (render, scene.heading)
