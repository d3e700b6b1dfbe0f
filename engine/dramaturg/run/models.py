"""Resolve a chain's named models into model instances for a run.

Named configs come from the chain (plus the implicit ``default`` text and ``images`` image
models). Overrides replace a config's provider and model (``writer=cohere:command-a-03-2025``,
keeping its sampling options) or supply a ready model object (any LangChain ``BaseChatModel``,
or an :class:`~dramaturg.images.ImageModel`). A step's ``options`` are merged over its model's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..chain.checked import IMPLICIT_MODELS, model_name_for
from ..errors import InputError, ModelError
from ..images import ImageModel
from ..providers import ModelConfig, get_registry
from ..spec import GenerationOptions, ModelSpec, StepSpec
from ..store.cachekey import canonical_json, without_secrets

if TYPE_CHECKING:
    pass

_SECRET_KEY = re.compile(r"key|token|secret|password|auth", re.IGNORECASE)


def parse_model_overrides(pairs: list[str]) -> dict[str, str]:
    """``["writer=cohere:command-a-03-2025"]`` -> ``{"writer": "cohere:command-a-03-2025"}``."""
    out = {}
    for pair in pairs:
        name, sep, ref = pair.partition("=")
        if not sep or not name.strip() or not ref.strip():
            raise InputError(
                f"expected NAME=PROVIDER[:MODEL], got {pair!r}",
                hint="e.g. --model writer=cohere:command-a-03-2025",
            )
        out[name.strip()] = ref.strip()
    return out


def redact(options: dict[str, Any]) -> dict[str, Any]:
    extra = options.get("extra")
    if isinstance(extra, dict):
        options = {
            **options,
            "extra": {k: ("***" if _SECRET_KEY.search(k) else v) for k, v in extra.items()},
        }
    return options


@dataclass(frozen=True)
class CallPolicy:
    """Limits and retries for the calls to one model."""

    concurrency: int | None = None
    retries: int = 3
    rate_limit: float | None = None
    timeout: float | None = None
    classify: Callable[[BaseException], ModelError | None] | None = None


class ModelSet:
    """The models of one run."""

    def __init__(
        self,
        declared: Mapping[str, ModelSpec],
        overrides: Mapping[str, Any] | None = None,
        *,
        dry_run: bool = False,
        inputs: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        self.specs: dict[str, ModelSpec] = {**IMPLICIT_MODELS, **declared}
        self.objects: dict[str, Any] = {}
        self.dry_run = dry_run
        self.inputs = dict(inputs or {})
        #: the run's seed: replaces every model's and step's seed when given
        self.seed = seed
        for name, value in (overrides or {}).items():
            if name not in self.specs:
                raise InputError(
                    f"the chain has no model named '{name}'",
                    hint=f"its models: {', '.join(sorted(self.specs))}",
                )
            if isinstance(value, str):
                provider, _, model = value.partition(":")
                if not provider:
                    raise InputError(
                        f"invalid model reference {value!r} for '{name}'",
                        hint="use PROVIDER or PROVIDER:MODEL",
                    )
                self.specs[name] = self.specs[name].model_copy(
                    update={"provider": provider, "model": model or None}
                )
            elif isinstance(value, ModelSpec):
                self.specs[name] = value
            elif isinstance(value, dict):
                self.specs[name] = ModelSpec.model_validate(value)
            elif isinstance(value, ImageModel) or _is_chat_model(value):
                self.objects[name] = value
            else:
                raise InputError(
                    f"model '{name}': expected 'provider:model', a LangChain chat "
                    f"model or an ImageModel, got {type(value).__name__}"
                )
        self._instances: dict[str, Any] = {}
        self._configs: dict[int, ModelConfig] = {}
        self._fakes: dict[str, Any] = {}
        self._object_digests: dict[str, str] = {}

    def check_providers(self, used: set[str]) -> None:
        """Every used model's provider is registered (not needed for objects or dry runs)."""
        if self.dry_run:
            return
        registry = get_registry()
        for name in sorted(used):
            if name in self.objects:
                continue
            provider = self.specs[name].provider
            if provider not in registry:
                raise InputError(
                    f"model '{name}': unknown provider '{provider}'",
                    hint=f"known providers: {', '.join(registry.names())}",
                )

    def config(self, step: StepSpec) -> ModelConfig:
        cached = self._configs.get(id(step))
        if cached is not None:
            return cached
        self._configs[id(step)] = config = self._config(step)
        return config

    def _config(self, step: StepSpec) -> ModelConfig:
        name = model_name_for(step)
        spec = self.specs[name]
        merged = {
            **spec.options().model_dump(exclude_unset=True),
            **step.options.model_dump(exclude_unset=True),
        }
        seed = merged.get("seed")
        if self.seed is not None:
            merged["seed"] = self.seed
        elif isinstance(seed, str):  # "$name": an integer input (checked by validation)
            merged["seed"] = self.inputs.get(seed[1:])
        provider = "fake" if self.dry_run and name not in self.objects else spec.provider
        return ModelConfig(
            provider=provider, model=spec.model, options=GenerationOptions.model_validate(merged)
        )

    def policy(self, name: str, default_retries: int | None = None) -> CallPolicy:
        """How calls to a model are limited and retried: the model's settings, then the run's,
        then its provider's defaults."""
        spec = self.specs.get(name)
        if spec is None or name in self.objects:
            return CallPolicy(retries=3 if default_retries is None else default_retries)
        registry = get_registry()
        provider = registry.get(spec.provider) if spec.provider in registry else None
        if self.dry_run:
            provider = registry.get("fake")
        retries = spec.retries
        if retries is None:
            retries = (
                default_retries
                if default_retries is not None
                else (provider.retries if provider else 3)
            )
        return CallPolicy(
            concurrency=spec.concurrency or (provider.concurrency if provider else None),
            retries=retries,
            rate_limit=spec.rate_limit or (provider.rate_limit if provider else None),
            timeout=spec.timeout or (provider.timeout if provider else None),
            classify=provider.classify if provider else None,
        )

    def instance(self, step: StepSpec) -> Any:
        """The model object for a step (shared by steps with the same config)."""
        name = model_name_for(step)
        if name in self.objects:
            return self.objects[name]
        config = self.config(step)
        key = json.dumps([name, step.kind, config.public_dict()], sort_keys=True, default=str)
        if key not in self._instances:
            registry = get_registry()
            if step.kind == "image":
                self._instances[key] = registry.image_model(config)
            else:
                self._instances[key] = registry.text_model(config)
        return self._instances[key]

    async def aclose(self) -> None:
        """Close the models this set created (e.g. their HTTP clients); objects passed in by
        the caller are the caller's to close."""
        for model in self._instances.values():
            close = getattr(model, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

    def identity(self, step: StepSpec) -> dict[str, Any]:
        """What a step's model is, for the step cache: provider, model and the options that
        shape its output (not ``timeout``; the seed is keyed on its own). Never a secret: secret
        option names are masked, API keys live in the environment, which is not consulted.
        A model object is described by its class and a digest of what identifies it."""
        name = model_name_for(step)
        config = self.config(step)
        options = redact(config.options.model_dump(exclude_none=True, exclude={"seed", "timeout"}))
        if name in self.objects:
            if name not in self._object_digests:
                described = canonical_json(without_secrets(object_identity(self.objects[name])))
                self._object_digests[name] = hashlib.sha256(
                    described.encode("utf-8", "surrogatepass")
                ).hexdigest()
            cls = type(self.objects[name])
            return {
                "object": f"{cls.__module__}.{cls.__qualname__}",
                "identity": self._object_digests[name],
                "options": options,
            }
        model = config.model
        registry = get_registry()
        if model is None and config.provider in registry:
            model = registry.get(config.provider).default_model
        return {"provider": config.provider, "model": model, "options": options}

    def billing_ref(self, step: StepSpec) -> tuple[str, str | None]:
        """Who answers a step's calls, for the price table: ``(provider, model)`` with the
        provider's default model filled in (``fake`` in dry runs). A model object is named by
        its class and model name; an image model object by its ``name`` (``provider:model``)."""
        name = model_name_for(step)
        if name in self.objects:
            obj = self.objects[name]
            if isinstance(obj, ImageModel):
                provider, _, model = obj.name.partition(":")
                return provider, model or None
            named = getattr(obj, "model_name", None) or getattr(obj, "model", None)
            return type(obj).__name__, str(named) if named else None
        config = self.config(step)
        registry = get_registry()
        ref = config.model
        if ref is None and config.provider in registry:
            ref = registry.get(config.provider).default_model
        return config.provider, ref

    def public(self, used: set[str]) -> dict[str, Any]:
        """Resolved model configs for the manifest: no secrets, objects by class name."""
        out: dict[str, Any] = {}
        for name in sorted(used):
            if name in self.objects:
                out[name] = {"object": type(self.objects[name]).__name__}
            else:
                spec = self.specs[name]
                d = redact(spec.model_dump(exclude_none=True, exclude_defaults=True))
                d["provider"] = spec.provider
                if self.dry_run:
                    d["dry_run"] = "fake"
                out[name] = d
        return out


def object_identity(obj: Any) -> dict[str, Any]:
    """A model object passed in by the caller, for the step cache: its class and what it says
    identifies it (a LangChain model's ``_identifying_params``; an image model's ``name`` and
    plain public attributes)."""
    cls = type(obj)
    ident: dict[str, Any] = {"object": f"{cls.__module__}.{cls.__qualname__}"}
    if isinstance(obj, ImageModel):
        plain = (str, int, float, bool, type(None), tuple)
        ident["name"] = obj.name
        ident["params"] = {
            k: v for k, v in vars(obj).items() if not k.startswith("_") and isinstance(v, plain)
        }
    else:
        params = getattr(obj, "_identifying_params", None)
        ident["params"] = dict(params) if isinstance(params, Mapping) else {}
    return ident


def _is_chat_model(value: Any) -> bool:
    try:
        from langchain_core.language_models import BaseChatModel
    except ImportError:  # pragma: no cover - langchain-core is a dependency
        return False
    return isinstance(value, BaseChatModel)
