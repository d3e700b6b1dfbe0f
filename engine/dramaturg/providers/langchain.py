"""The ``langchain`` provider: any chat model LangChain knows, as ``langchain:<provider>:<model>``.

``langchain:openai:gpt-4o-mini`` or ``langchain:ollama:llama3`` is built with LangChain's
``init_chat_model`` when the matching integration package is installed (``langchain-openai``,
``langchain-ollama``, ...). Sampling options are passed as that model's keyword arguments; the
integration's own retries are turned off so that the engine's retry policy (with Retry-After) is
the only one. Keys come from each integration's usual environment variables.

Any ``BaseChatModel`` object can also be passed directly in the Python API
(``chain.run(..., models={"default": my_model})``); it needs no provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ProviderError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from .registry import ModelConfig

#: our option -> the names LangChain integrations use for it (first one the class has wins)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "temperature": ("temperature",),
    "max_tokens": ("max_tokens", "num_predict", "max_output_tokens", "max_new_tokens"),
    "top_p": ("top_p",),
    "top_k": ("top_k",),
    "seed": ("seed", "random_seed"),
    "stop": ("stop", "stop_sequences"),
    "repeat_penalty": ("repeat_penalty", "repetition_penalty"),
    "frequency_penalty": ("frequency_penalty",),
    "presence_penalty": ("presence_penalty",),
    "timeout": ("timeout", "request_timeout"),
}


def _field_names(cls: type) -> set[str]:
    fields = getattr(cls, "model_fields", {})
    return set(fields) | {f.alias for f in fields.values() if getattr(f, "alias", None)}


def map_options(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """Our option names -> the keyword arguments ``cls`` accepts. Unsupported ones are errors:
    silently dropping a setting (init_chat_model would) hides why output differs."""
    have = _field_names(cls)
    out: dict[str, Any] = {}
    for key, value in options.items():
        target = next((n for n in SYNONYMS.get(key, (key,)) if n in have), None)
        if target is None:
            raise ProviderError(
                f"{cls.__name__} has no option for '{key}'",
                hint="remove it from the model's settings, or pass the integration's own "
                "name under extra:",
            )
        out[target] = value
    if "max_retries" in have:
        out["max_retries"] = 0  # the engine retries (and honours Retry-After)
    return out


def split_ref(model: str | None) -> tuple[str, str]:
    """``"openai:gpt-4o"`` -> ``("openai", "gpt-4o")``."""
    provider, sep, name = (model or "").partition(":")
    if not sep or not provider or not name:
        raise ProviderError(
            f"invalid LangChain model reference {model!r}",
            hint="use langchain:<provider>:<model>, e.g. langchain:openai:gpt-4o-mini or "
            "langchain:ollama:llama3",
        )
    return provider, name


def langchain_text(config: ModelConfig) -> BaseChatModel:
    provider, name = split_ref(config.model)
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ProviderError(
            "the langchain provider needs the 'langchain' package",
            hint="pip install 'dramaturg[langchain]' and the integration, e.g. langchain-openai",
        ) from None
    opts = config.options
    wanted = {k: getattr(opts, k) for k in SYNONYMS if getattr(opts, k) is not None}
    # build once to learn the integration's class, then again with its own option names
    probe = _build(init_chat_model, provider, name, dict(opts.extra))
    kwargs = map_options(type(probe), wanted)
    model = _build(init_chat_model, provider, name, {**kwargs, **opts.extra}) if kwargs else probe
    return model  # type: ignore[no-any-return]


def _build(init: Any, provider: str, name: str, kwargs: dict[str, Any]) -> Any:
    try:
        return init(name, model_provider=provider, **kwargs)
    except ImportError as exc:
        raise ProviderError(
            f"LangChain provider '{provider}' is not installed ({exc})",
            hint=f"pip install langchain-{provider.replace('_', '-')}",
        ) from None
    except ValueError as exc:  # unknown provider, bad arguments
        raise ProviderError(f"LangChain cannot build {provider}:{name}: {exc}") from None
    except Exception as exc:  # e.g. a missing API key, raised by the integration
        raise ProviderError(
            f"LangChain cannot build {provider}:{name}: {type(exc).__name__}: {exc}",
            hint="set the integration's API key in the environment",
        ) from None
