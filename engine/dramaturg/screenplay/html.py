"""``screenplay.html``: an illustrated screenplay in one self-contained file.

A title page (with the first illustration as a cover), a cast page with the portraits and a list
of scenes, then the script with each scene's illustration beside it (above it on narrow screens
and in print). Images and the Courier Prime font are inlined as data URIs and the CSS is inline:
the page loads nothing from the network, and a Content-Security-Policy forbids it to. Every
piece of text from the run is escaped. Action, speech, descriptions, the title and the logline
take their direction from their text (``dir="auto"``): a right-to-left paragraph reads right to
left, flush right in its column, as in the PDFs; the browser's fonts print every script.
"""

from __future__ import annotations

import html
from importlib import resources

from .files import courier_prime, data_uri
from .model import Action, Character, Dialogue, Element, Image, Scene, Screenplay, Transition

_CSP = "default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'"
_FONT_FACES = {
    "regular": ("normal", 400),
    "bold": ("normal", 700),
    "italic": ("italic", 400),
    "bold_italic": ("italic", 700),
}


def esc(text: str) -> str:
    """Text made safe in HTML content and attribute values."""
    return html.escape(text, quote=True)


def _css() -> str:
    return (resources.files("dramaturg.screenplay") / "assets" / "screenplay.css").read_text(
        "utf-8"
    )


def _fonts() -> str:
    rules = []
    for style, path in courier_prime().items():
        font_style, weight = _FONT_FACES[style]
        rules.append(
            '@font-face { font-family: "Courier Prime"; '
            f"font-style: {font_style}; font-weight: {weight}; font-display: block; "
            f'src: url("{data_uri(path, "font/ttf")}") format("truetype"); }}'
        )
    return "\n".join(rules)


class _Images:
    """Data URIs, each file read once."""

    def __init__(self) -> None:
        self._uris: dict[str, str] = {}

    def tag(self, image: Image | None, alt: str, cls: str = "") -> str:
        if image is None:
            return ""
        key = str(image.path)
        try:
            uri = self._uris.get(key) or data_uri(image.path, image.mime)
        except OSError:
            return ""
        self._uris[key] = uri
        klass = f' class="{cls}"' if cls else ""
        return f'<img{klass} src="{uri}" alt="{esc(alt)}">'


def _title_page(sp: Screenplay, images: _Images) -> str:
    page = sp.title_page
    cover = next((s.image for s in sp.scenes if s.image is not None), None)
    hero = images.tag(cover, f"Illustration: {sp.scenes[0].place}" if sp.scenes else "")
    parts = ['<section class="sheet title-page" aria-label="Title page">']
    if hero:
        parts.append(f'<div class="hero">{hero}</div>')
    parts += [
        '<div class="centre">',
        f'<h1 dir="auto">{esc(page.title)}</h1>',
        f'<p class="credit">{esc(page.credit)}</p>',
        f'<p class="authors">{esc(" and ".join(page.authors))}</p>',
    ]
    if page.logline:
        parts.append(f'<p class="logline" dir="auto">{esc(page.logline)}</p>')
    parts.append("</div>")
    if page.draft_date:
        parts.append(f'<p class="draft-date">{esc(page.draft_date)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _cast_member(c: Character, images: _Images) -> str:
    portrait = images.tag(c.portrait, f"Portrait of {c.name}")
    cls = "" if portrait else ' class="no-portrait"'
    return (
        f"<li{cls}>{portrait}<div><h3>{esc(c.name.upper())}</h3>"
        f'<p dir="auto">{esc(c.description)}</p></div></li>'
    )


def _cast_page(sp: Screenplay, images: _Images) -> str:
    parts = ['<section class="sheet cast-page" aria-label="Cast and scenes">']
    if sp.characters:
        parts.append('<h2 class="eyebrow">Cast</h2>')
        parts.append('<ul class="cast">')
        parts += [_cast_member(c, images) for c in sp.characters]
        parts.append("</ul>")
    parts.append('<nav class="contents"><h2 class="eyebrow">Scenes</h2><ol>')
    for s in sp.scenes:
        parts.append(
            f'<li><span class="num">{s.number}</span><span>'
            f'<a href="#scene-{s.number}">{esc(s.heading)}</a>'
            f'<span class="beat">{esc(s.plot_element)}</span></span></li>'
        )
    parts.append("</ol></nav></section>")
    return "\n".join(parts)


def _element(e: Element, images: _Images) -> str:
    if isinstance(e, Action):
        portrait = ""
        if e.role == "character" and e.character is not None:
            portrait = images.tag(e.character.portrait, f"Portrait of {e.character.name}")
        return f'<p class="action {e.role}" dir="auto">{portrait}{esc(e.text)}</p>'
    if isinstance(e, Transition):
        return f'<p class="transition">{esc(e.text)}</p>'
    assert isinstance(e, Dialogue)
    blocks = "".join(
        f'<p class="{"paren" if b.parenthetical else "line"}" dir="auto">{esc(b.text)}</p>'
        for b in e.blocks
    )
    return f'<div class="dialogue"><p class="cue">{esc(e.cue)}</p>{blocks}</div>'


def _scene(s: Scene, images: _Images, scene_numbers: bool) -> str:
    no = f'<span class="no">{s.number}</span>' if scene_numbers else ""
    no_right = f'<span class="no-right">{s.number}</span>' if scene_numbers else ""
    heading = f'<h2 class="heading">{no}<span>{esc(s.heading)}</span>{no_right}</h2>'
    body = "\n".join(_element(e, images) for e in s.elements)
    label = f"<strong>Scene {s.number}</strong>"
    if s.plot_element:
        label += f" &middot; {esc(s.plot_element)}"
    picture = images.tag(s.image, f"Illustration: {s.place}")
    if picture:
        art = f"<figure>{picture}<figcaption>{label}<br>{esc(s.place)}</figcaption></figure>"
    else:
        art = f'<p class="label">{label}</p>'
    return (
        f'<section class="scene" id="scene-{s.number}">'
        f'<aside class="art">{art}</aside>'
        f'<div class="page">{heading}\n{body}</div></section>'
    )


def render_html(sp: Screenplay, *, scene_numbers: bool = True) -> str:
    """The illustrated screenplay as one HTML document."""
    images = _Images()
    scenes = "\n".join(_scene(s, images, scene_numbers) for s in sp.scenes)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Dramaturg">
<title>{esc(sp.title)}</title>
<style>
{_fonts()}
{_css()}
</style>
</head>
<body>
<main class="book">
{_title_page(sp, images)}
{_cast_page(sp, images)}
<article class="script" aria-label="Screenplay">
{scenes}
</article>
</main>
</body>
</html>
"""
