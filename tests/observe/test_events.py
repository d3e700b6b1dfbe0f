"""Typed run events: every event ``on_event`` receives is a frozen dataclass of its kind, whose
``to_dict()`` has exactly the documented keys in order; the ``--json`` lines keep that shape; and
an event still reads as the dict it used to be."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import dramaturg
from dramaturg import Event, EventKind, FakeChatModel, load_chain
from dramaturg import events as ev
from dramaturg.chain.exporters import ExportContext, exporters
from dramaturg.cli import app
from dramaturg.observe.jsonevents import JsonEvents

ROOT = Path(__file__).resolve().parents[2]

#: each kind's keys after ``event`` and ``time``, in order (docs/runs.md); those in OPTIONAL
#: appear only sometimes
DOCUMENTED: dict[str, list[str]] = {
    "resume": ["run_dir", "templates", "template_folders"],
    "cache_off": ["reason"],
    "run_started": ["chain", "run_dir", "steps"],
    "warning": ["message"],
    "step_started": ["step"],
    "fan_out": ["step", "items"],
    "cached": ["step", "item"],
    "resumed": ["step", "item", "pinned"],
    "token": ["step", "item", "attempt", "text"],
    "token_reset": ["step", "item", "attempt", "reason"],
    "retry": ["step", "item", "attempt", "error", "delay"],
    "parse_failed": ["step", "item", "attempt", "error"],
    "loop_resampled": ["step", "item", "attempt", "finding"],
    "loop_dropped": ["step", "item", "dropped", "finding"],
    "loop_kept": ["step", "item", "finding"],
    "item_finished": ["step", "item", "done", "total", "cached", "usage"],
    "step_finished": ["step", "duration", "usage", "model", "cost"],
    "step_failed": ["step", "error", "usage"],
    "step_skipped": ["step", "because"],
    "run_finished": ["status"],
    "export_started": ["exporters"],
    "version": ["step", "version", "kind", "note", "item"],
    "pinned_stale": ["step", "item"],
    "batch_started": ["batch_dir", "rows", "todo"],
    "row_started": ["row", "id", "resumed"],
    "row_finished": [
        "row",
        "id",
        "status",
        "run_dir",
        "calls",
        "tokens",
        "cost",
        "duration",
        "error",
    ],
    "batch_finished": ["status", "done", "failed", "stopped"],
    "summary": [
        "status",
        "exit_code",
        "chain",
        "run_id",
        "run_dir",
        "usage",
        "cost",
        "steps",
        "files",
    ],
    "error": ["type", "message", "exit_code", "run_dir"],
}
OPTIONAL = {
    "resume": {"template_folders"},
    "resumed": {"pinned"},
    "row_finished": {"error"},
    # an interrupted run's summary: status, exit_code and run_dir only
    "summary": {"chain", "run_id", "usage", "cost", "steps", "files"},
}

FAILING = """
name: failing
models: {default: {provider: fake, extra: {responses: {ideas: "one\\ntwo"}}}}
steps:
  title: {prompt: {text: "Name it"}}
  ideas: {prompt: {text: "Ideas for {{ title }}"}, parse: lines}
  para: {for_each: ideas, as: idea, prompt: {text: "About {{ idea }}"}}
  bad: {prompt: {text: "x {{ title }}"}, attempts: 1,
        parse: {type: regex, pattern: "(?P<n>never-\\\\d{9})"}}
  after: {prompt: {text: "{{ bad }}"}}
"""

GOOD = """
name: good
models: {default: {provider: fake, extra: {responses: {ideas: "one\\ntwo"}}}}
steps:
  title: {prompt: {text: "Name it"}}
  ideas: {prompt: {text: "Ideas for {{ title }}"}, parse: lines}
  para: {for_each: ideas, as: idea, prompt: {text: "About {{ idea }} {{ title }}"}}
exports: [events_test]
"""

LOOPS = """
name: loops
models: {default: {provider: fake, seed: 10}}
steps:
  lines:
    prompt: {text: "Write four lines about the harbour at night, please."}
    parse: {type: lines, loops: true}
  scene:
    prompt: {text: "The logline: a keeper who bottles storms must free the last one."}
    parse: {type: json, loops: {fields: [beat], resamples: 1}}
"""

FLAKY = """
name: flaky
models:
  default:
    provider: flaky
    seed: 5
    retries: 12
    extra: {failure_rate: 0.5, fault_seed: 3, faults: [rate_limit], retry_after: 0}
steps:
  ideas: {prompt: {text: "Ideas"}, parse: lines}
  expand: {for_each: ideas, as: idea, prompt: {text: "Expand: {{ idea }}"}}
"""


def check_shape(data: dict[str, Any]) -> None:
    """``data`` has ``event`` and ``time`` first, then its kind's documented keys in order."""
    kind = data["event"]
    assert kind in DOCUMENTED, kind
    assert list(data)[:2] == ["event", "time"] and isinstance(data["time"], float)
    optional = OPTIONAL.get(kind, set())
    expected = [k for k in DOCUMENTED[kind] if k not in optional or k in data]
    assert list(data)[2:] == expected, (kind, list(data))


def check_typed(event: Any) -> None:
    assert isinstance(event, Event) and dataclasses.is_dataclass(event)
    assert isinstance(event.kind, EventKind) and event.kind.value == event["event"]
    assert type(event).kind is event.kind
    check_shape(event.to_dict())


def _export(ctx: ExportContext) -> list[Path]:
    target = ctx.run_dir / "titles.txt"
    target.write_text(str(ctx.result["title"]))
    return [target]


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(exporters(), "events_test", _export)


# -- (a) the events of runs through the Python API ----------------------------------------------
def test_every_event_of_a_run_is_typed_with_its_documented_keys(
    project, tmp_path, monkeypatch, exporter
):
    events: list[Event] = []
    on_event = events.append
    failing = load_chain(project(FAILING, name="failing"))
    first = failing.run({}, out=tmp_path / "o", on_event=on_event)
    failing.run({}, out=tmp_path / "o", on_event=on_event)  # answered by the step cache
    dramaturg.resume_run(first.run_dir, on_event=on_event)

    good = load_chain(project(GOOD, name="good")).run({}, out=tmp_path / "o", on_event=on_event)
    dramaturg.edit_step(good.run_dir, "para", "edited", item=0)
    dramaturg.edit_step(good.run_dir, "title", "A new title")
    dramaturg.rerun(good.run_dir, on_event=on_event)  # versions, a stale edit, kept calls

    looping = "We sail at dawn with the tide.\nThe keeper waits.\nWe sail at dawn, with the tide."
    copy = '{"beat": "Mara, a keeper who bottles storms must free the last one."}'
    fake = FakeChatModel(responses={"lines": [looping], "scene": [copy]})
    loops = load_chain(project(LOOPS, name="loops"))
    loops.run({}, models={"default": fake}, out=tmp_path / "o", on_event=on_event)
    flaky = load_chain(project(FLAKY, name="flaky"))
    flaky.run({}, out=tmp_path / "o", backoff=0.001, cache=False, on_event=on_event)

    prices = tmp_path / "prices.yaml"
    prices.write_text("prices:\n  fake:\n    fake: {input: -1}\n")
    monkeypatch.setenv("DRAMATURG_PRICES", str(prices))
    monkeypatch.setenv("DRAMATURG_CACHE_DIR", str(prices / "cache"))  # a file: no cache
    failing.run({}, out=None, on_event=on_event)
    failing.run({}, out=None, cache=False, stream=True, on_event=on_event)  # tokens, a reset
    load_chain(project(GOOD, name="good")).batch([{}, {}], out=tmp_path / "b", on_event=on_event)

    for event in events:
        check_typed(event)
    seen = {e.kind for e in events}
    assert seen == set(EventKind) - {EventKind.SUMMARY, EventKind.ERROR}  # --json's own
    # a rerun's kept calls are resumed events, typed too, with pinned for the edited item
    kept = [e for e in events if isinstance(e, ev.Resumed) and e.pinned is not None]
    assert ("para", 0, True) in {(e.step, e.item, e.pinned) for e in kept}
    versions = [e for e in events if isinstance(e, ev.VersionEvent)]
    assert versions and {(e.version_kind, e["kind"]) for e in versions} == {("RERUN", "RERUN")}
    stale = [(e.step, e.item) for e in events if isinstance(e, ev.PinnedStale)]
    assert stale == [("para", 0)]


def test_each_kind_has_one_class_and_the_docs_list_it():
    classes = [
        c
        for c in vars(ev).values()
        if isinstance(c, type) and issubclass(c, Event) and "kind" in vars(c)
    ]
    assert set(ev.__all__) == {c.__name__ for c in classes} | {"Event", "EventKind", "StepEvent"}
    assert sorted(c.kind.value for c in classes) == sorted(k.value for k in EventKind)
    assert set(DOCUMENTED) == {k.value for k in EventKind}
    docs = (ROOT / "docs" / "runs.md").read_text()
    for kind, keys in DOCUMENTED.items():
        row = re.search(rf"^\| `{kind}` \|[^\n]*", docs, re.MULTILINE)
        assert row is not None, f"docs/runs.md has no row for {kind}"
        if kind != "summary":  # its fields are shown below the table
            for key in keys:
                assert f"`{key}`" in row.group(0), (kind, key)


# -- (b) --json lines -----------------------------------------------------------------------
def json_lines(stdout: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stdout.splitlines()]  # every line parses
    assert lines
    for data in lines:
        check_shape(data)
    return lines


def test_json_lines_keep_their_documented_shape(project, tmp_path, exporter):
    runner = CliRunner()
    failing = str(project(FAILING, name="failing"))
    r = runner.invoke(app, ["run", failing, "--json", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1
    kinds = [d["event"] for d in json_lines(r.stdout)]
    assert kinds[0] == "run_started" and kinds[-2:] == ["run_finished", "summary"]
    assert {"parse_failed", "step_failed", "step_skipped", "fan_out"} <= set(kinds)

    good = str(project(GOOD, name="good"))
    r = runner.invoke(app, ["run", good, "--json", "--out", str(tmp_path / "g")])
    assert r.exit_code == 0, r.output
    lines = json_lines(r.stdout)
    assert "export_started" in [d["event"] for d in lines]
    run_dir = lines[-1]["run_dir"]
    dramaturg.edit_step(run_dir, "para", "edited", item=0)
    dramaturg.edit_step(run_dir, "title", "A new title")
    r = runner.invoke(app, ["rerun", run_dir, "--json"])
    assert r.exit_code == 0, r.output
    kinds = [d["event"] for d in json_lines(r.stdout)]
    assert {"version", "pinned_stale", "resumed", "summary"} <= set(kinds)

    r = runner.invoke(app, ["run", str(ROOT / "chains" / "hello.yaml"), "--dry-run", "--json"])
    assert r.exit_code == 2
    assert [d["event"] for d in json_lines(r.stdout)] == ["error"]


def test_json_summary_of_an_interruption_and_an_error():
    out = io.StringIO()
    reporter = JsonEvents(out)
    reporter(ev.RunStarted(chain="c", run_dir="out/r", steps=["a"]))
    reporter.interrupted()
    reporter.failed(dramaturg.InputError("no"))
    started, interrupted, error = json_lines(out.getvalue())
    assert started["run_dir"] == "out/r"
    assert interrupted == {**interrupted, "status": "interrupted", "exit_code": 130}
    assert list(interrupted) == ["event", "time", "status", "exit_code", "run_dir"]
    assert error["type"] == "InputError" and error["exit_code"] == 2


def test_json_lines_have_tokens_only_when_asked():
    token = ev.Token(step="title", item=None, attempt=0, text="The Salt")
    reset = ev.TokenReset(step="title", item=None, attempt=0, reason="error")
    for tokens, expected in ((False, []), (True, ["token", "token_reset"])):
        out = io.StringIO()
        reporter = JsonEvents(out, tokens=tokens)
        reporter(token)
        reporter(reset)
        assert [d["event"] for d in map(json.loads, out.getvalue().splitlines())] == expected


# -- (c) mapping access, as when events were dicts ----------------------------------------------
def test_an_event_reads_as_the_dict_it_was():
    event = ev.Cached(step="title", item=None, time=12.5)
    assert event["event"] == "cached" and event["step"] == "title" and event["time"] == 12.5
    assert event.get("item") is None and event.get("nope") is None and event.get("x", 3) == 3
    assert "step" in event and "item" in event and "nope" not in event
    assert (
        dict(event)
        == event.to_dict()
        == {
            "event": "cached",
            "time": 12.5,
            "step": "title",
            "item": None,
        }
    )
    assert {**event} == dict(event) and list(event) == ["event", "time", "step", "item"]
    assert len(event) == 4 and dict(event.items()) == dict(event)
    with pytest.raises(KeyError):
        event["nope"]
    with pytest.raises(TypeError):
        event["step"] = "other"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.step = "other"  # type: ignore[misc]

    started = ev.StepStarted(step="a")
    assert "item" not in started and started.get("item") is None
    fan = ev.FanOut(step="a", item_count=3)
    assert fan["items"] == 3 and fan.item_count == 3
    version = ev.VersionEvent(step="a", version=2, version_kind="EDIT", note="", item=None)
    assert version["kind"] == "EDIT" and version.kind is EventKind.VERSION
    resumed = ev.Resumed(step="a", item=1)
    assert "pinned" not in resumed and ev.Resumed(step="a", item=1, pinned=True)["pinned"]
    assert EventKind("step_started") is EventKind.STEP_STARTED == "step_started"


def test_old_style_callbacks_keep_working(project, tmp_path):
    seen: list[tuple[str, Any]] = []

    def on_event(e: Any) -> None:  # written when events were dicts
        if e["event"] in ("step_started", "item_finished"):
            seen.append((e["event"], e.get("item")))

    load_chain(project(FAILING)).run({}, out=tmp_path, on_event=on_event)
    assert ("step_started", None) in seen and ("item_finished", 1) in seen
