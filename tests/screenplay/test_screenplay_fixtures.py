"""The scripted Dramatron run of the screenplay tests (screenplay_fixtures.py) holds: it loads
back, and the tiny chain on the fakes gives the same outputs."""

from __future__ import annotations

import time

from screenplay_fixtures import DIALOGUE, PLACES, PLOT, STEPS, TITLE, loaded, run_chain

# -- the fixture itself ------------------------------------------------------------------------


def test_make_run_loads_back(tmp_path):
    result = loaded(tmp_path)
    assert result.ok and result["title"] == TITLE
    assert list(result.steps) == list(STEPS)
    assert (result.run_dir / result["portraits"][0]["image"]).read_bytes().startswith(b"\x89PNG")


def test_the_chain_gives_the_same_outputs(tmp_path):
    result = run_chain(tmp_path)
    assert result.ok, result.failed_steps()
    assert result["plot"] == PLOT and result["dialogue"] == DIALOGUE
    assert result["places"] == PLACES  # two unique places, case-insensitively
    assert [p["image"] for p in result["illustrations"]] == [
        "steps/illustrations/0.png",
        "steps/illustrations/1.png",
    ]
    assert time.time() - result.steps["title"].started < 600
