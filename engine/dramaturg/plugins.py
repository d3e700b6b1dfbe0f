"""Named plugins (parsers, exporters) registered in Python or through entry points.

Entry points are listed without being imported; a plugin is loaded the first time it is used, so
an unused broken plugin costs nothing and a used one fails with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from .errors import DramaturgError


@dataclass(frozen=True)
class _Unloaded:
    """An entry point not loaded yet. Entry points are held in this wrapper rather than told
    apart by class: with the ``importlib_metadata`` backport imported (dask, llm and many other
    libraries import it), ``entry_points()`` hands out the backport's ``EntryPoint`` objects,
    which are not the standard library's."""

    entry_point: Any


class Plugins:
    """The plugins of one entry-point group, by name."""

    def __init__(self, group: str, what: str) -> None:
        self.group = group
        self.what = what
        self._items: dict[str, Any] = {}
        self._scanned = False

    def _scan(self) -> None:
        if not self._scanned:
            self._scanned = True
            for ep in entry_points(group=self.group):
                self._items.setdefault(ep.name, _Unloaded(ep))

    def register(self, name: str, obj: Any) -> None:
        self._items[name] = obj

    __setitem__ = register

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def names(self) -> list[str]:
        self._scan()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._scan()
        return name in self._items

    def get(self, name: str, default: Any = None) -> Any:
        """The plugin, loading it if it comes from an entry point; ``default`` if unknown."""
        self._scan()
        if name not in self._items:
            return default
        item = self._items[name]
        if isinstance(item, _Unloaded):
            ep = item.entry_point
            try:
                item = self._items[name] = ep.load()
            except Exception as exc:
                raise DramaturgError(
                    f"the {self.what} '{name}' ({ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}",
                    hint="reinstall the package that provides it",
                ) from exc
        return item
