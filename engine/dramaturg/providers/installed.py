"""The providers of this installation: the built-ins plus every package's entry point in the
``dramaturg.providers`` group, gathered once per process."""

from __future__ import annotations

from importlib.metadata import entry_points

from .builtin import register as register_builtin
from .registry import ENTRY_POINT_GROUP, Registry

_BUILTIN = "dramaturg.providers.builtin:register"
_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry: built-ins plus every installed entry point."""
    global _REGISTRY
    if _REGISTRY is None:
        reg = Registry()
        register_builtin(reg.add)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.value == _BUILTIN:
                continue
            try:
                ep.load()(reg.add)
            except Exception as exc:  # a broken plugin must not break the engine
                import warnings

                warnings.warn(f"provider plugin {ep.name!r} failed to load: {exc}", stacklevel=2)
        _REGISTRY = reg
    return _REGISTRY


def forget_registry() -> None:
    """Gather the providers again at the next :func:`get_registry` (after a package that
    registers providers was installed into the running process)."""
    global _REGISTRY
    _REGISTRY = None
