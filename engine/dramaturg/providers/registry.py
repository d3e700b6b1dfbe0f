"""The provider registry. Imports no model library: factories import theirs when called."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ModelError, ProviderError
from ..spec import GenerationOptions

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from ..images import ImageModel

ENTRY_POINT_GROUP = "dramaturg.providers"


@dataclass(frozen=True)
class ModelConfig:
    """A resolved model: provider, model name and generation options (never a secret)."""

    provider: str
    model: str | None
    options: GenerationOptions = field(default_factory=GenerationOptions)

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.model}" if self.model else self.provider

    def public_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            **self.options.model_dump(exclude_none=True, exclude_defaults=True),
        }


@dataclass(frozen=True)
class Provider:
    """A source of text and/or image models."""

    name: str
    description: str
    text: Callable[[ModelConfig], BaseChatModel] | None = None
    image: Callable[[ModelConfig], ImageModel] | None = None
    default_model: str | None = None
    #: environment variables holding the API key (first set one wins)
    env_keys: tuple[str, ...] = ()
    #: modules that must be importable for the provider to work
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    #: default cap on calls in flight to one model of this provider
    concurrency: int | None = None
    #: default extra tries after a transient error
    retries: int = 3
    #: default requests per second at most (None: no limit)
    rate_limit: float | None = None
    #: default seconds per call (None: no limit)
    timeout: float | None = None
    #: turn a provider-specific exception into a ModelError (transient or not); None: unknown
    classify: Callable[[BaseException], ModelError | None] | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k, f in (("text", self.text), ("image", self.image)) if f)

    def installed(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def key_is_set(self) -> bool | None:
        if not self.env_keys:
            return None
        return any(os.environ.get(k) for k in self.env_keys)

    def check_installed(self) -> None:
        if not self.installed():
            raise ProviderError(
                f"provider '{self.name}' is not installed",
                hint=self.install_hint or f"install the package(s): {', '.join(self.requires)}",
            )


class Registry:
    """Providers by name."""

    def __init__(self) -> None:
        self._providers: dict[str, Provider] = {}

    def add(self, provider: Provider) -> None:
        self._providers[provider.name] = provider

    def names(self) -> list[str]:
        return sorted(self._providers)

    def providers(self) -> list[Provider]:
        return [self._providers[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    def get(self, name: str) -> Provider:
        try:
            return self._providers[name]
        except KeyError:
            raise ProviderError(
                f"unknown provider '{name}'",
                hint=f"known providers: {', '.join(self.names())} (see `dramaturg models`)",
            ) from None

    def text_model(self, config: ModelConfig) -> BaseChatModel:
        provider = self.get(config.provider)
        if provider.text is None:
            raise ProviderError(
                f"provider '{provider.name}' has no text models",
                hint=f"it offers: {', '.join(provider.kinds)}",
            )
        provider.check_installed()
        return provider.text(config)

    def image_model(self, config: ModelConfig) -> ImageModel:
        provider = self.get(config.provider)
        if provider.image is None:
            raise ProviderError(
                f"provider '{provider.name}' has no image models",
                hint=f"it offers: {', '.join(provider.kinds)}",
            )
        provider.check_installed()
        return provider.image(config)
