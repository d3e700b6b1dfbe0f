"""The studio's static files: the vendored scripts are the npm releases they claim to be (by
digest), with their licences; nothing in the pages loads from another host; the page weight."""

from __future__ import annotations

import hashlib
import json
import re

from dramaturg.studio.app import static_dir

TEMPLATES = static_dir().parent / "templates"


def vendored() -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = json.loads((static_dir() / "VENDORED.json").read_text())[
        "files"
    ]
    return files


def test_each_vendored_script_has_the_digest_its_release_had() -> None:
    files = vendored()
    assert {"htmx.min.js", "htmx-ext-sse.min.js", "htmx-ext-json-enc.min.js"} <= set(files)
    for name, about in files.items():
        digest = hashlib.sha256((static_dir() / name).read_bytes()).hexdigest()
        assert digest == about["sha256"], f"{name} is not {about['npm']} {about['version']}"
        licence = (static_dir() / about["license_file"]).read_text()
        assert "Permission to use, copy, modify, and/or distribute" in licence


def test_every_static_file_is_accounted_for() -> None:
    ours = {"studio.css", "studio.js", "VENDORED.json"}
    licences = {a["license_file"] for a in vendored().values()}
    present = {p.name for p in static_dir().iterdir()}
    assert present == ours | licences | set(vendored())


def test_pages_load_nothing_from_another_host() -> None:
    for path in [
        *TEMPLATES.glob("*.html"),
        static_dir() / "studio.css",
        static_dir() / "studio.js",
    ]:
        text = path.read_text()
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", text), path.name
        assert "url(http" not in text and "@import" not in text, path.name


def test_no_inline_script_or_style_in_the_pages() -> None:
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path.name
        assert "<style" not in text and " style=" not in text, path.name
        assert not re.search(r"\son[a-z]+=", text), path.name  # no inline handlers
        assert "hx-on" not in text and "js:" not in text, path.name


def test_the_static_assets_weigh_under_100_kb() -> None:
    total = sum(p.stat().st_size for p in static_dir().iterdir() if p.suffix in (".js", ".css"))
    assert total <= 100 * 1024, f"{total} bytes"
