"""Studio fixtures: Dramatron runs made on the fakes (dry runs), a studio app on them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

ROOT = Path(__file__).resolve().parents[2]
DRAMATRON = ROOT / "chains" / "dramatron.yaml"


@pytest.fixture(scope="session")
def dramatron_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dry run of the Dramatron chain (4 scenes), made once; tests copy it."""
    from dramaturg import load_chain

    out = tmp_path_factory.mktemp("studio-runs")
    result = load_chain(DRAMATRON).run(
        {"logline": "A keeper who bottles storms must free the last one.", "num_scenes": 4},
        dry_run=True,
        out=out,
    )
    assert result.ok and result.run_dir is not None
    return result.run_dir


@pytest.fixture(scope="session")
def streamed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the Dramatron chain on the streaming fake (studio_site.streaming_fake)."""
    from studio_site import streaming_fake

    from dramaturg import load_chain

    out = tmp_path_factory.mktemp("studio-streamed")
    result = load_chain(DRAMATRON).run(
        {"logline": "A keeper who bottles storms must free the last one.", "num_scenes": 4},
        models={"default": streaming_fake()},
        out=out,
        cache=False,
    )
    assert result.ok and result.run_dir is not None
    return result.run_dir


@pytest.fixture
def streamed(tmp_path: Path, streamed_run: Path) -> Path:
    """A fresh copy of the streamed run, in an output folder of its own."""
    out = tmp_path / "streamed"
    out.mkdir()
    return Path(shutil.copytree(streamed_run, out / streamed_run.name))


@pytest.fixture
def runs(tmp_path: Path, dramatron_run: Path) -> Callable[[], Path]:
    """An output folder holding a fresh copy of the Dramatron run; returns the run's folder."""

    def make() -> Path:
        out = tmp_path / "outputs"
        out.mkdir(exist_ok=True)
        copy = out / dramatron_run.name
        shutil.copytree(dramatron_run, copy)
        return copy

    return make


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Any]:
    """One Chromium for the test run (Debian's, driven by playwright)."""
    from browser import browser

    async with browser() as b:
        yield b
