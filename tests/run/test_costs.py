"""Token and cost accounting: exact totals per step, per model and per run from the fake model's
known token counts and a price table set for the test; cached calls cost nothing; a model without
a price has an unknown cost, never a guessed one; the price table is editable."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dramaturg import load_chain
from dramaturg.chain.pricing import PriceTable

# the fake counts a word as a token: input = words of the prompt, output = words of the answer
CHAIN = """
name: costs
models:
  default:
    provider: fake
    extra:
      responses:
        title: "Salt Road"
        ideas: "one\\ntwo\\nthree"
        para: ["a b c", "d e", "f"]
  images: {provider: fake, model: pics}
steps:
  title: {prompt: {text: "Name a story"}}
  ideas: {prompt: {text: "Three ideas for {{ title }}"}, parse: lines}
  para: {for_each: ideas, as: idea, prompt: {text: "Write about {{ idea }}"}}
  art: {kind: image, for_each: ideas, as: idea, prompt: {text: "{{ idea }}"}}
"""
TOKENS_IN = 3 + 5 + 3 * 3  # "Name a story", "Three ideas for Salt Road", 3 x "Write about X"
TOKENS_OUT = 2 + 3 + (3 + 2 + 1)
PRICES = """
checked: "test"
prices:
  fake:
    fake: {input: 2.0, output: 10.0}   # USD per 1M tokens
    pics: {image: 0.04}                # USD per image
"""
TEXT_COST = TOKENS_IN * 2.0 / 1e6 + TOKENS_OUT * 10.0 / 1e6
IMAGE_COST = 3 * 0.04


@pytest.fixture
def prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(textwrap.dedent(PRICES))
    monkeypatch.setenv("DRAMATURG_PRICES", str(path))
    return path


def manifest_of(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads((result.run_dir / "manifest.json").read_text())


def test_manifest_has_exact_usage_and_cost_per_step_model_and_run(project, tmp_path, prices):
    result = load_chain(project(CHAIN)).run({}, out=tmp_path / "out")
    assert result.ok
    m = manifest_of(result)
    assert m["usage"] == {
        "input_tokens": TOKENS_IN,
        "output_tokens": TOKENS_OUT,
        "total_tokens": TOKENS_IN + TOKENS_OUT,
        "calls": 5 + 3,  # text calls and images
    }
    steps = m["steps"]
    assert steps["title"]["usage"]["input_tokens"] == 3
    assert steps["title"]["usage"]["output_tokens"] == 2
    assert steps["title"]["model_ref"] == "fake:fake"
    assert steps["title"]["cost"] == pytest.approx((3 * 2.0 + 2 * 10.0) / 1e6)
    assert steps["para"]["usage"]["output_tokens"] == 6
    assert steps["art"]["model_ref"] == "fake:pics"
    assert steps["art"]["cost"] == pytest.approx(IMAGE_COST)

    text, images = m["by_model"]["fake:fake"], m["by_model"]["fake:pics"]
    assert (text["input_tokens"], text["output_tokens"], text["calls"]) == (
        TOKENS_IN,
        TOKENS_OUT,
        5,
    )
    assert text["cost"] == pytest.approx(TEXT_COST)
    assert (images["images"], images["total_tokens"]) == (3, 0)
    assert images["cost"] == pytest.approx(IMAGE_COST)

    assert m["cost"]["currency"] == "USD"
    assert m["cost"]["total"] == pytest.approx(TEXT_COST + IMAGE_COST)
    assert m["cost"]["complete"] is True and m["cost"]["unpriced"] == []
    assert str(prices) in m["cost"]["prices"]["files"]
    # the same figures in the Python API
    assert result.cost == pytest.approx(TEXT_COST + IMAGE_COST)
    assert result.steps["title"].model == "fake:fake"


def test_calls_answered_from_the_step_cache_cost_nothing(project, tmp_path, prices):
    chain = load_chain(project(CHAIN))
    chain.run({}, out=tmp_path / "out")
    again = chain.run({}, out=tmp_path / "out")
    m = manifest_of(again)
    assert m["usage"]["calls"] == 0 and m["usage"]["total_tokens"] == 0
    assert m["cost"]["total"] == 0
    assert m["steps"]["para"]["cached"] == 3


def test_a_model_without_a_price_has_an_unknown_cost(project, tmp_path, monkeypatch):
    path = tmp_path / "prices.yaml"
    path.write_text("prices:\n  fake:\n    pics: {image: 0.04}\n")  # no price for fake:fake
    monkeypatch.setenv("DRAMATURG_PRICES", str(path))
    # the shipped table prices fake:* at 0; a user entry for one model leaves "*" in place, so
    # use a model name no table knows
    chain = CHAIN.replace("provider: fake\n    extra", "provider: fake\n    model: x1\n    extra")
    result = load_chain(project(chain)).run({}, out=tmp_path / "out")
    m = manifest_of(result)
    assert m["steps"]["title"]["model_ref"] == "fake:x1"
    assert m["steps"]["title"]["cost"] == 0  # the shipped fake:* entry: 0
    path.write_text("prices:\n  fake:\n    '*': {image: 0.04}\n")  # now text is unpriced
    result = load_chain(project(chain)).run({}, out=tmp_path / "out", cache=False)
    m = manifest_of(result)
    assert m["steps"]["title"]["cost"] is None
    assert m["cost"]["complete"] is False and m["cost"]["unpriced"] == ["fake:x1"]
    assert m["cost"]["total"] == pytest.approx(IMAGE_COST)  # what is known
    assert result.cost is None


def test_shipped_table_prices_local_models_at_zero_and_is_dated(monkeypatch, tmp_path):
    monkeypatch.setenv("DRAMATURG_PRICES", str(tmp_path / "none.yaml"))
    table = PriceTable.load()
    assert table.price("local", "smollm2") is not None
    assert table.price("local", "smollm2").cost({"input_tokens": 10**6, "output_tokens": 5}) == 0
    assert table.price("sketch", "sketch").cost({"calls": 4}, "image") == 0
    assert table.price("stability", "core").image == pytest.approx(0.03)
    assert table.price("cohere", "command-a-03-2025").input == pytest.approx(2.5)
    assert table.price("cohere", "some-future-model") is None
    assert table.price("langchain", "ollama:llama3").input == 0  # a prefix entry
    assert "example" in table.checked
    text = (Path(__file__).parents[2] / "engine/dramaturg/chain/prices.yaml").read_text()
    assert "EXAMPLES" in text and "check them" in text and "2026-11-22" in text
    assert table.problems == [
        f"price table {tmp_path / 'none.yaml'} not found; using the shipped prices"
    ]


def test_a_broken_user_table_is_reported_and_the_shipped_one_used(project, tmp_path, monkeypatch):
    bad = tmp_path / "prices.yaml"
    bad.write_text("prices:\n  fake:\n    fake: {input: -1}\n")
    monkeypatch.setenv("DRAMATURG_PRICES", str(bad))
    events: list[dict] = []
    result = load_chain(project(CHAIN)).run({}, out=tmp_path / "out", on_event=events.append)
    assert result.ok and result.cost == 0
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert warnings == [
        f"price table {bad} ignored: prices.fake.fake.input: expected a number >= 0, got -1"
    ]


def test_user_table_from_the_config_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DRAMATURG_PRICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "dramaturg").mkdir()
    (tmp_path / "dramaturg" / "prices.yaml").write_text(
        "prices:\n  cohere:\n    command-a-03-2025: {input: 1, output: 4}\n"
    )
    table = PriceTable.load()
    assert table.price("cohere", "command-a-03-2025").output == 4
    assert table.price("cohere", "command-r-08-2024").input == pytest.approx(0.15)  # kept
    assert table.files[-1] == str(tmp_path / "dramaturg" / "prices.yaml")
