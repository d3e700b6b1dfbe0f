"""Model providers: one registry for built-in and third-party text and image providers.

A provider package exposes an entry point in the group ``dramaturg.providers`` naming a function
``register(add)``; it calls ``add(Provider(...))`` for each provider it offers. The built-in
providers are registered through the same hook (``dramaturg.providers.builtin:register``).
"""

from __future__ import annotations

from .installed import get_registry
from .registry import ModelConfig, Provider, Registry

__all__ = ["ModelConfig", "Provider", "Registry", "get_registry"]
