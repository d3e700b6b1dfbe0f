"""Files: atomic writes into the run folder, images of the run read safely, the bundled font."""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from pathlib import Path

from dramaturg import ExportError

from .model import Image

#: magic bytes -> MIME type of the image formats every browser and reportlab (via Pillow) read
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
#: largest image file embedded (a sane bound for an illustration)
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``path`` through a temporary file in the same folder and ``os.replace``."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ExportError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="check free disk space and the folder's permissions",
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def sniff_mime(data: bytes) -> str | None:
    """The image type from the file's first bytes (not from its name or a claimed type)."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def run_image(run_dir: Path, rel: object, prompt: object = "") -> Image | None:
    """The image at ``rel`` (relative to the run folder) if it is a readable image inside it.

    ``rel`` comes from a step's output: a path leaving the run folder, a missing file or a file
    that is not an image gives ``None`` (the export goes on without it).
    """
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    root = run_dir.resolve()
    path = (root / rel).resolve()
    if root not in path.parents or not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    mime = sniff_mime(head)
    if mime is None:
        return None
    return Image(path=path, mime=mime, prompt=prompt if isinstance(prompt, str) else "")


def data_uri(path: Path, mime: str) -> str:
    """``data:<mime>;base64,...`` for a file."""
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def courier_prime() -> dict[str, Path]:
    """Courier Prime (SIL OFL), bundled with screenplain: style -> file.

    Styles: ``regular``, ``bold``, ``italic``, ``bold_italic``; empty when not found.
    """
    try:
        import screenplain.export
    except ImportError:  # pragma: no cover - screenplain is a dependency
        return {}
    folder = Path(screenplain.export.__file__).parent / "courier_prime"
    files = {
        "regular": folder / "Courier Prime.ttf",
        "bold": folder / "Courier Prime Bold.ttf",
        "italic": folder / "Courier Prime Italic.ttf",
        "bold_italic": folder / "Courier Prime Bold Italic.ttf",
    }
    return {k: v for k, v in files.items() if v.is_file()}
