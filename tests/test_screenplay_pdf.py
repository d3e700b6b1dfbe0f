"""The PDFs: the screenplay in the industry layout and the illustrated edition."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dramaturg.screenplay.assemble import assemble
from dramaturg.screenplay.illustrated_pdf import render_illustrated_pdf
from dramaturg.screenplay.pdf import render_pdf
from test_screenplay_assemble import in_memory
from test_screenplay_fixtures import TITLE, loaded


def pages_of(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


def text_of(data: bytes, tmp_path: Path) -> list[str] | None:
    """The text of each page (pypdf, else poppler's pdftotext), or None if neither is here."""
    try:
        import pypdf
    except ImportError:
        exe = shutil.which("pdftotext")
        if exe is None:
            return None
        path = tmp_path / "x.pdf"
        path.write_bytes(data)
        out = subprocess.run(
            [exe, "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        return out.split("\f")[: pages_of(data)]
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


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
    pages = text_of(data, tmp_path)
    if pages is None:
        pytest.skip("no PDF text extraction here (pip install pypdf, or poppler-utils)")
    assert TITLE.upper() in pages[0] and "Co-written by" in pages[0]
    assert "A lighthouse keeper who bottles storms" in pages[0]
    script = "\n".join(pages[1:])
    assert "INT. THE LAMP ROOM OF THE LIGHTHOUSE" in script
    assert "MARA (V.O.)" in script and "(quietly)" in script and "CUT TO:" in script
    assert "<script>alert('x')</script>" in script  # text, not markup


def test_page_count_and_page_numbers(tmp_path):
    data = render_pdf(long_script())
    # 30 scenes of ~45 lines: about 25 pages at 55 lines a page, plus the title page
    assert 15 <= pages_of(data) <= 45
    pages = text_of(data, tmp_path)
    if pages is None:
        pytest.skip("no PDF text extraction here (pip install pypdf, or poppler-utils)")
    first_lines = [p.strip().splitlines()[0].strip() if p.strip() else "" for p in pages]
    assert not re.search(r"\d+\.$", first_lines[0])  # none on the title page
    assert not first_lines[1].endswith("1.")  # nor on page 1
    assert first_lines[2].endswith("2.") and first_lines[5].endswith("5.")


def test_scene_numbers_can_be_left_out(tmp_path):
    sp = assemble(loaded(tmp_path))
    pages = text_of(render_pdf(sp, scene_numbers=False), tmp_path)
    if pages is None:
        pytest.skip("no PDF text extraction here")
    heading = next(line for line in pages[1].splitlines() if "LAMP ROOM" in line)
    assert heading.strip() == "INT. THE LAMP ROOM OF THE LIGHTHOUSE"


def test_illustrated_pdf_embeds_the_images(tmp_path):
    sp = assemble(loaded(tmp_path))
    data = render_illustrated_pdf(sp)
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Subtype /Image", data)) == 5  # 3 portraits, 2 places
    assert 4 <= pages_of(data) <= 8  # cover, cast, script
    pages = text_of(data, tmp_path)
    if pages is None:
        pytest.skip("no PDF text extraction here")
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
