"""Where the chains and prompts shipped with Dramaturg live (repo checkout or installed wheel)."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parents[1]  # engine/dramaturg


def shipped_root() -> Path:
    """The folder holding ``chains/`` and ``prompts/``."""
    inside = _PKG / "_shipped"
    if (inside / "chains").is_dir():
        return inside
    return _PKG.parent.parent  # a source checkout: engine/dramaturg -> repo root


def resolve_chain(name_or_path: str) -> Path:
    """A chain file path, or the name of a shipped chain (``dramatron``)."""
    p = Path(name_or_path)
    if p.exists() or p.suffix in (".yaml", ".yml") or "/" in name_or_path:
        return p
    candidate = shipped_root() / "chains" / f"{name_or_path}.yaml"
    return candidate if candidate.exists() else p


def shipped_chains() -> list[str]:
    folder = shipped_root() / "chains"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
