"""The step cache's key: what makes two model calls the same call. Pure: no I/O.

A key is the sha256 of the canonical JSON of a :class:`CallIdentity`: the step, the hash of its
template sources (included templates too), the rendered prompt and system prompt, the model as
configured (provider, model name, options; never a secret), the parser settings and the answer
schema sent, the tries a parse may take and the seed actually used. Nothing else (the run
folder, API keys, the time) changes the key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

#: bumped when the key's contents or the cached value's format change (old entries then miss)
KEY_VERSION = 1

_SECRET_NAME = re.compile(r"key|token|secret|password|auth|credential", re.IGNORECASE)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace; values JSON cannot hold become their ``repr``."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr
    )


def without_secrets(value: Any) -> Any:
    """``value`` with every mapping entry whose name looks like a credential masked."""
    if isinstance(value, dict):
        return {
            str(k): "***" if _SECRET_NAME.search(str(k)) else without_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [without_secrets(v) for v in value]
    return value


def sources_digest(sources: Iterable[str]) -> str:
    """sha256 over template sources, in order (each length-prefixed, so borders count)."""
    h = hashlib.sha256()
    for text in sources:
        data = text.encode("utf-8", "surrogatepass")
        h.update(f"{len(data)}:".encode())
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class CallIdentity:
    """Everything that decides what one step call (or one fan-out item) returns."""

    step: str
    kind: str
    #: the fan-out item's index; None for a plain step
    item: int | None
    #: :func:`sources_digest` of the prompt and system templates and those they include
    templates: str
    prompt: str
    system: str
    #: :func:`model_digest` of the model as :meth:`ModelSet.identity` describes it
    model: str
    #: ``spec.parse.model_dump(by_alias=True)``
    parse: dict[str, Any]
    #: the answer schema sent with this call (a schema template's rendering), if any
    schema: dict[str, Any] | None
    #: tries when output does not parse (a value that took 3 tries is not one that took 1)
    attempts: int
    #: the seed of the first try (resampling adds 1, 2, ...); None when unseeded
    seed: int | None


_FIELDS = fields(CallIdentity)


def model_digest(model: dict[str, Any]) -> str:
    """sha256 of a model's description (provider, model, options), secrets masked first."""
    return hashlib.sha256(
        canonical_json(without_secrets(model)).encode("utf-8", "surrogatepass")
    ).hexdigest()


def call_key(identity: CallIdentity) -> str:
    """The cache key of a call: 64 hex digits."""
    # a shallow copy (asdict's deep copy cost more than the hash): the JSON is the same
    payload = {"version": KEY_VERSION, **{f.name: getattr(identity, f.name) for f in _FIELDS}}
    return hashlib.sha256(canonical_json(payload).encode("utf-8", "surrogatepass")).hexdigest()
