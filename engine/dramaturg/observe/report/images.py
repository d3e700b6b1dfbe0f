"""The run's images in the report: a thumbnail inlined as a data URI, linked to the full file.

Run folders get shared, so a step record's ``image`` is untrusted: it may be
``javascript:alert(1)``, ``https://tracker.example/x.png``, ``../../secret.png`` or a path to a
FIFO. Only a relative path of plain names inside the run folder, to a regular image file there
(``.png``, ``.jpg``, ``.jpeg``, ``.gif``, ``.webp``, its first bytes an image's), is linked or
inlined; anything else is shown as escaped text.
"""

from __future__ import annotations

import base64
import io
import urllib.parse
from pathlib import Path

from ...errors import RunStorageError
from ...store.rundir import RunDir
from .colours import attr

#: file names an image of the run folder may have
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
#: the largest image file read for a thumbnail, and the most pixels one may decode to
MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_PIXELS = 40_000_000
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def _is_image(data: bytes) -> bool:
    return data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


class Thumbs:
    """Small inlined copies of the run's images (each file read once)."""

    def __init__(self, root: Path) -> None:
        self.rundir = RunDir(root)
        self._done: dict[str, tuple[bool, str | None]] = {}

    def _look(self, rel: str) -> tuple[bool, str | None]:
        """(an image file of the run folder, its thumbnail's data URI)."""
        if rel not in self._done:
            self._done[rel] = self._make(rel)
        return self._done[rel]

    def _make(self, rel: str) -> tuple[bool, str | None]:
        if not rel.lower().endswith(IMAGE_SUFFIXES):
            return False, None
        try:
            data = self.rundir.read_bytes(rel, MAX_IMAGE_BYTES)  # plain names, no links
        except (OSError, RunStorageError):
            return False, None
        if not _is_image(data):
            return False, None
        return True, _thumbnail(data)

    def uri(self, rel: str) -> str | None:
        return self._look(rel)[1]

    def tag(self, rel: str, alt: str) -> str:
        found, uri = self._look(rel)
        if not found:
            return f'<span class="clip">no image file of the run folder: {attr(rel)}</span>'
        href = attr(urllib.parse.quote(rel))  # plain names: the quoting changes none
        if uri is None:
            return f'<a href="{href}">{attr(rel)}</a>'
        return f'<a href="{href}"><img src="{uri}" alt="{attr(alt)}" loading="lazy"></a>'


def _thumbnail(data: bytes) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:  # a decompression bomb: not decoded
                return None
            img.draft("RGB", (720, 720))  # JPEG: decode at a fraction of the size
            img.thumbnail((360, 360))
            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="JPEG", quality=82)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
