"""The loop guard (``parse.loops``): an answer whose lines repeat one another, repeat an earlier
fan-out item or copy the prompt is resampled with the next seed; what still repeats after the
budget is dropped; every repair is in the step's record, the report and the progress."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dramaturg import FakeChatModel, load_chain
from dramaturg.run.loopguard import find, units
from dramaturg.spec import LoopGuard

ONE = """
name: guard
models:
  default: {provider: fake, seed: 10}
steps:
  lines:
    prompt: {text: "Write four lines about the harbour at night, please."}
    parse: {type: lines, loops: true}
"""

FAN = """
name: guardfan
models:
  default: {provider: fake, seed: 10}
steps:
  scenes:
    prompt: {text: "Scenes"}
    parse: {type: json}
  speech:
    for_each: scenes
    as: scene
    prompt: {text: "Lines for {{ scene }}"}
    parse: {type: lines, loops: {resamples: 1}}
"""


def run(chain: Path, tmp_path: Path, fake: FakeChatModel, **kw: Any) -> Any:
    return load_chain(chain).run(
        kw.pop("inputs", {}), models={"default": fake}, out=tmp_path / "out", **kw
    )


def record(result: Any, rel: str) -> dict[str, Any]:
    return json.loads((result.run_dir / rel).read_text())  # type: ignore[no-any-return]


def test_a_repeated_line_is_resampled_with_the_next_seed(project, tmp_path):
    looping = "The tide comes in slowly.\nThe gulls are asleep now.\nthe tide comes in, slowly!"
    clean = "The tide comes in slowly.\nThe gulls are asleep now.\nA bell rings out at sea."
    fake = FakeChatModel(responses={"lines": [looping, clean]})
    result = run(project(ONE), tmp_path, fake)
    assert result.ok
    assert result["lines"] == [
        "The tide comes in slowly.",
        "The gulls are asleep now.",
        "A bell rings out at sea.",
    ]
    assert [c.seed for c in fake.calls_for("lines")] == [10, 11]
    saved = record(result, "steps/lines.json")
    assert saved["repairs"][0]["action"] == "resampled"
    assert saved["repairs"][0]["findings"][0]["kind"] == "repeat"
    assert result.steps["lines"].repairs == 1


def test_what_still_repeats_after_the_budget_is_dropped(project, tmp_path):
    looping = "We sail at dawn with the tide.\nThe keeper waits.\nWe sail at dawn, with the tide."
    fake = FakeChatModel(responses={"lines": [looping]})  # every sample loops
    result = run(project(ONE), tmp_path, fake)
    assert result.ok
    assert result["lines"] == ["We sail at dawn with the tide.", "The keeper waits."]
    assert len(fake.calls_for("lines")) == 3  # the answer and 2 resamples (the default)
    actions = [r["action"] for r in record(result, "steps/lines.json")["repairs"]]
    assert actions == ["resampled", "resampled", "dropped"]
    report = (result.run_dir / "report.html").read_text()
    assert "loop guard: 2 resamples, 1 line dropped" in report.lower()
    assert "We sail at dawn, with the tide." in report


def test_the_sample_with_fewest_findings_is_kept(project, tmp_path):
    worse = "One line of the sea here.\n" * 3 + "Another line of the sea."
    better = "One line of the sea here.\nOne line of the sea here.\nA third line of it all."
    fake = FakeChatModel(responses={"lines": [worse, better, worse]})
    result = run(project(ONE), tmp_path, fake)
    assert result["lines"] == ["One line of the sea here.", "A third line of it all."]


def test_copying_the_prompt_counts(project, tmp_path):
    copy = "Write four lines about the harbour at night, please.\nThe boats knock together."
    fine = "Lanterns swing on the quay.\nThe boats knock together."
    fake = FakeChatModel(responses={"lines": [copy, fine]})
    result = run(project(ONE), tmp_path, fake)
    assert result["lines"] == ["Lanterns swing on the quay.", "The boats knock together."]
    finding = record(result, "steps/lines.json")["repairs"][0]["findings"][0]
    assert finding["kind"] == "copy" and "harbour at night" in finding["of"]


def test_short_lines_may_repeat(project, tmp_path):
    answer = "Yes.\nNo, never again, not me.\nYes.\nYes."
    fake = FakeChatModel(responses={"lines": [answer]})
    result = run(project(ONE), tmp_path, fake)
    assert result["lines"] == ["Yes.", "No, never again, not me.", "Yes.", "Yes."]
    assert len(fake.calls_for("lines")) == 1


def answers_for_fan() -> dict[str, Any]:
    return {
        "scenes": '["pier", "lamp", "cliff"]',
        "speech/0": ["The storm is coming for us all.\nLock the shutters now."],
        # item 1 repeats item 0's first line on its first answer, then does not
        "speech/1": [
            "The storm is coming, for us all!\nWhere is the keeper tonight?",
            "Nobody saw the keeper leave.\nWhere is the keeper tonight?",
        ],
        # item 2 repeats item 1's (final) second line on every answer: it is dropped
        "speech/2": ["Where is the keeper tonight?\nThe lamp is out on the cliff."],
    }


@pytest.mark.parametrize("concurrency", [1, 8])
def test_an_item_may_not_repeat_an_earlier_item_at_any_concurrency(project, tmp_path, concurrency):
    fake = FakeChatModel(responses=answers_for_fan(), latency=0.01)
    result = run(project(FAN), tmp_path / str(concurrency), fake, concurrency=concurrency)
    assert result.ok
    assert result["speech"] == [
        ["The storm is coming for us all.", "Lock the shutters now."],
        ["Nobody saw the keeper leave.", "Where is the keeper tonight?"],
        ["The lamp is out on the cliff."],
    ]
    item1 = record(result, "steps/speech/1.json")["repairs"]
    assert item1[0]["action"] == "resampled"
    assert item1[0]["findings"][0] == {
        "kind": "repeat_of_item",
        "text": "The storm is coming, for us all!",
        "of": "The storm is coming for us all.",
        "item": 0,
    }
    item2 = record(result, "steps/speech/2.json")["repairs"]
    assert [r["action"] for r in item2] == ["resampled", "dropped"]


def test_the_first_answers_of_all_items_go_out_at_once(project, tmp_path):
    """Items wait for the items before them only to compare, not to call the model."""
    fake = FakeChatModel(responses=answers_for_fan(), latency=0.2)
    run(project(FAN), tmp_path, fake, concurrency=8)
    calls = fake.calls_for("speech")
    firsts = [next(c for c in calls if c.item == i) for i in range(3)]
    assert max(c.started for c in firsts) < min(c.ended for c in firsts)


def test_records_are_checked_by_their_fields():
    guard = LoopGuard(fields=["line"])
    value = [
        {"character": "MARA", "line": "I told you the lamp was out."},
        {"character": "TOM", "line": "I told you the lamp was out!"},
        {"character": "MARA", "line": "Then light it yourself, Tom."},
    ]
    assert [u.path for u in units(value, guard)] == [(0,), (1,), (2,)]
    (f,) = find(value, guard)
    assert f.unit.path == (1,) and f.kind == "repeat"


def test_a_bad_guard_setting_is_refused_with_its_place(project, tmp_path):
    from typer.testing import CliRunner

    from dramaturg.cli import app

    chain = project(ONE.replace("loops: true", "loops: {resamples: many}"))
    r = CliRunner().invoke(app, ["validate", str(chain)])
    assert r.exit_code == 2
    assert "test.yaml:7" in r.output
    assert "Traceback" not in r.output


def test_the_progress_says_what_the_guard_did(project, tmp_path):
    from typer.testing import CliRunner

    from dramaturg.cli import app

    looping = "We sail at dawn with the tide.\\nThe keeper waits.\\nWe sail at dawn with the tide."
    chain = project(
        ONE.replace(
            "{provider: fake, seed: 10}",
            f'{{provider: fake, seed: 10, extra: {{responses: {{lines: ["{looping}"]}}}}}}',
        )
    )
    r = CliRunner().invoke(app, ["run", str(chain), "--no-cache", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "lines: loop guard, resampling: 'We sail at dawn with the tide.' repeats" in r.output
    assert "lines: loop guard, dropped 1 line(s)" in r.output


ONE_RECORD = """
name: record
models:
  default: {provider: fake, seed: 1}
steps:
  scene:
    prompt: {text: "The logline: a keeper who bottles storms must free the last one."}
    parse: {type: json, loops: {fields: [beat], resamples: 1}}
"""


def test_a_one_record_answer_is_resampled_and_the_best_kept(project, tmp_path):
    copy = '{"beat": "Mara, a keeper who bottles storms must free the last one."}'
    fake = FakeChatModel(responses={"scene": [copy]})
    result = run(project(ONE_RECORD), tmp_path, fake)
    assert result.ok and result["scene"] == {
        "beat": "Mara, a keeper who bottles storms must free the last one."
    }
    repairs = record(result, "steps/scene.json")["repairs"]
    assert [r["action"] for r in repairs] == ["resampled", "kept"]
    assert repairs[1]["findings"][0]["kind"] == "copy"


READS = """
name: reads
models:
  default: {provider: fake, seed: 1}
steps:
  places:
    prompt: {text: "Describe two places."}
    parse: lines
  speech:
    prompt: {text: "Lines for the first place: {{ places[0] }}"}
    parse: {type: lines, loops: true}
"""


def test_an_answer_may_not_copy_what_its_step_reads_even_beyond_its_prompt(project, tmp_path):
    """The second place is not in the prompt, but the step reads `places`: copying it counts."""
    places = "A quay of wet stone.\nA white tower on a black rock above the cold grey sea."
    copy = "I see a white tower on a black rock above the cold grey sea.\nGo home."
    fake = FakeChatModel(responses={"places": places, "speech": [copy, "Nobody is here.\nGo."]})
    result = run(project(READS), tmp_path, fake)
    assert result["speech"] == ["Nobody is here.", "Go."]
    (repair,) = record(result, "steps/speech.json")["repairs"]
    assert repair["findings"][0]["kind"] == "copy"
