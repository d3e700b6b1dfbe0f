"""Shared test helpers: write a chain (and its templates) into a temporary project."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_step_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets an empty step cache of its own (never ~/.cache): tests that count model
    calls see every call, and no test's results leak into another's."""
    folder = tmp_path_factory.mktemp("dramaturg-cache")
    monkeypatch.setenv("DRAMATURG_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """``project(chain_yaml, templates={"a.j2": "..."})`` -> path of the chain file.

    The layout mirrors the repository: ``chains/<name>.yaml`` and ``prompts/`` beside it; chains
    refer to their templates with ``prompts: ../prompts``.
    """

    def make(chain: str, templates: dict[str, str] | None = None, name: str = "test") -> Path:
        (tmp_path / "chains").mkdir(exist_ok=True)
        prompts = tmp_path / "prompts"
        prompts.mkdir(exist_ok=True)
        for rel, text in (templates or {}).items():
            target = prompts / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text), encoding="utf-8")
        path = tmp_path / "chains" / f"{name}.yaml"
        path.write_text(textwrap.dedent(chain).lstrip("\n"), encoding="utf-8")
        return path

    return make
