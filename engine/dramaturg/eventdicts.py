"""Events read as the dicts they were before they were typed (deprecated; removed in the next
release): ``event["event"]``, ``event.get("item")``, ``"step" in event``, ``dict(event)``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class DictAccess(Mapping[str, Any]):
    """Read-only mapping access to ``to_dict()``'s keys and values."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())
