"""The illustrated HTML screenplay: self-contained, escaped, illustrated."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from test_screenplay_assemble import in_memory

from dramaturg.screenplay.assemble import assemble
from dramaturg.screenplay.html import render_html
from screenplay_fixtures import LOGLINE, SCRIPT, TITLE, loaded


class Collect(HTMLParser):
    """Tags, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def collect(page: str) -> Collect:
    c = Collect()
    c.feed(page)
    return c


def test_html_is_self_contained(tmp_path):
    page = render_html(assemble(loaded(tmp_path)))
    c = collect(page)
    tags = [t for t, _ in c.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    sources = [a["src"] for t, a in c.tags if t == "img"]
    assert sources and all(s and s.startswith("data:image/png;base64,") for s in sources)
    # 2 illustrations beside their scenes + the cover, 3 portraits in the cast, 3 beside intros
    assert len(sources) == 9
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert not re.search(r"url\(\s*(?![\"']?data:)", page)  # CSS loads only data: URIs
    assert "@import" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert 'font-family: "Courier Prime"' in page and "data:font/ttf;base64," in page


def test_html_escapes_model_text(tmp_path):
    page = render_html(assemble(loaded(tmp_path)))
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Is that all you came to say?" in page
    assert "storms &amp; keeps them" in page
    text = "".join(collect(page).text)
    assert f"{SCRIPT} Is that all you came to say?" in text


def test_html_structure(tmp_path):
    page = render_html(assemble(loaded(tmp_path)))
    c = collect(page)
    text = " ".join("".join(c.text).split())
    assert f"<title>{TITLE}</title>" in page
    assert TITLE in text and "Co-written by" in text and LOGLINE in text
    classes = [a.get("class") for _, a in c.tags]
    assert classes.count("scene") == 4 and "sheet title-page" in classes
    assert classes.count("dialogue") == 8 and classes.count("transition") == 3
    assert {"cue", "paren", "line", "heading", "action place", "action character"} <= set(classes)
    assert 'href="#scene-3"' in page and 'id="scene-3"' in page
    assert "MARA VOSS" in text and "INT. THE LAMP ROOM OF THE LIGHTHOUSE" in text
    assert "@media print" in page


def test_hostile_text_in_every_field():
    evil = '"><img src=x onerror=alert(1)> </style><script>x</script>'
    sp = assemble(
        in_memory(
            title=evil,
            characters=[{"name": evil, "description": evil}],
            plot=[{"place": evil, "plot_element": evil, "beat": evil}] * 4,
            dialogue=[[{"character": evil, "parenthetical": evil, "line": evil}]] * 4,
        )
    )
    page = render_html(sp)
    c = collect(page)
    assert [t for t, _ in c.tags if t in ("script", "img")] == []
    assert "onerror" not in {k for _, a in c.tags for k in a}


def test_html_without_images(tmp_path):
    page = render_html(assemble(loaded(tmp_path, images=False)))
    assert "<img" not in page and "data:image" not in page
    assert 'class="label"' in page  # scene labels stand in the art column


def test_paragraphs_take_their_direction_from_their_text():
    sp = assemble(
        in_memory(
            dialogue=[[{"character": "MARA", "line": "שלום עליכם"}, "بيت الفانوس"], [], [], []]
        )
    )
    c = collect(render_html(sp))
    directed = {a.get("class"): a.get("dir") for _, a in c.tags if a.get("class")}
    assert directed["line"] == "auto" and directed["action action"] == "auto"
    assert directed["cue"] is None  # a cue keeps its place in the column
