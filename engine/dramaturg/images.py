"""The image-model interface: a prompt and options in, image bytes and metadata out."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImageRequest:
    """What an image step asks for. Providers ignore options they do not support."""

    prompt: str
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    aspect_ratio: str | None = None
    seed: int | None = None
    style_preset: str | None = None
    output_format: str = "png"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImageResult:
    """An image produced by a model. ``filtered`` is true when a content filter replaced it."""

    data: bytes
    mime: str = "image/png"
    seed: int | None = None
    filtered: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(self.mime, "bin")


class ImageModel(abc.ABC):
    """Subclass this to add an image provider. One coroutine to implement."""

    #: A short name recorded in the manifest, e.g. ``"stability:core"``.
    name: str = "image"

    @abc.abstractmethod
    async def agenerate(self, request: ImageRequest) -> ImageResult:
        """Generate one image."""
