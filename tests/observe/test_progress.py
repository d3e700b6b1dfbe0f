"""What a run shows while it goes: the --json event stream (every line JSON, documented names,
order and fields, a final summary), the live table on a terminal, and the progress board the
table draws."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from dramaturg import events as ev
from dramaturg import load_chain
from dramaturg.cli import app
from dramaturg.observe.liveview import LiveView
from dramaturg.observe.tracker import Board

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "chains" / "hello.yaml"
runner = CliRunner()

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


def events_of(stdout: str) -> list[dict]:
    lines = stdout.splitlines()
    assert lines, "no output"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_json_stream_of_a_run(tmp_path):
    r = runner.invoke(
        app,
        ["run", str(HELLO), "--set", "topic=tides", "--dry-run", "--json", "--out", str(tmp_path)],
    )
    assert r.exit_code == 0, r.output
    events = events_of(r.stdout)
    names = [e["event"] for e in events]
    assert all(isinstance(e["time"], float) for e in events)
    assert names[0] == "run_started" and names[-2:] == ["run_finished", "summary"]
    start = events[0]
    assert start["chain"] == "hello" and start["steps"] == ["title", "premises", "paragraphs"]
    run_dir = Path(start["run_dir"])
    # each step starts before it finishes, and after the steps it reads finished
    at = {(e["event"], e.get("step")): i for i, e in enumerate(events)}
    for step in ("title", "premises", "paragraphs"):
        assert at[("step_started", step)] < at[("step_finished", step)]
    assert at[("step_finished", "title")] < at[("step_started", "premises")]
    assert at[("step_finished", "premises")] < at[("step_started", "paragraphs")]
    fan = next(e for e in events if e["event"] == "fan_out")
    assert fan["step"] == "paragraphs" and fan["items"] == 3
    items = [e for e in events if e["event"] == "item_finished"]
    assert [e["done"] for e in items] == [1, 2, 3]
    assert {e["total"] for e in items} == {3}
    assert sorted(e["item"] for e in items) == [0, 1, 2]
    assert all(e["cached"] is False and e["usage"]["calls"] == 1 for e in items)
    finished = next(e for e in events if e["event"] == "step_finished" and e["step"] == "title")
    assert set(finished) >= {"duration", "usage", "model", "cost"}
    assert finished["model"] == "fake:fake" and finished["cost"] == 0
    assert events[-2]["status"] == "done"

    summary = events[-1]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert summary["status"] == "done" and summary["exit_code"] == 0
    assert summary["run_dir"] == str(run_dir) and summary["run_id"] == run_dir.name
    assert summary["usage"] == manifest["usage"]
    assert summary["cost"] == {"total": 0, "currency": "USD", "complete": True, "unpriced": []}
    assert summary["steps"]["paragraphs"]["items"] == {"total": 3, "done": 3}
    assert summary["steps"]["title"]["usage"] == manifest["steps"]["title"]["usage"]
    assert summary["files"]["report"] == [str(run_dir / "report.html")]
    assert r.stderr == ""  # nothing for people in JSON mode


def test_json_stream_of_a_failed_run_ends_with_its_summary(project, tmp_path):
    r = runner.invoke(app, ["run", str(project(FAILING)), "--json", "--out", str(tmp_path)])
    assert r.exit_code == 1
    events = events_of(r.stdout)
    failed = [e for e in events if e["event"] == "step_failed"]
    assert [e["step"] for e in failed] == ["bad"] and "could not be parsed" in failed[0]["error"]
    skipped = [e for e in events if e["event"] == "step_skipped"]
    assert skipped == [{**skipped[0], "step": "after", "because": "bad"}]
    assert any(e["event"] == "parse_failed" and e["step"] == "bad" for e in events)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["status"] == "failed"
    assert summary["exit_code"] == 1
    assert summary["steps"]["bad"]["status"] == "failed" and summary["steps"]["bad"]["error"]
    assert summary["steps"]["after"] == {**summary["steps"]["after"], "status": "skipped"}
    assert summary["steps"]["para"]["status"] == "done"


def test_json_stream_reports_cache_hits(project, tmp_path):
    path = str(project(FAILING.replace("  bad:", "  bad0:").split("  bad0:")[0]))
    runner.invoke(app, ["run", path, "--json", "--out", str(tmp_path)])
    r = runner.invoke(app, ["run", path, "--json", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    events = events_of(r.stdout)
    cached = [(e["step"], e["item"]) for e in events if e["event"] == "cached"]
    assert sorted(cached, key=str) == sorted(
        [("title", None), ("ideas", None), ("para", 0), ("para", 1)], key=str
    )
    items = [e for e in events if e["event"] == "item_finished"]
    assert all(e["cached"] is True and e["usage"] == {} for e in items)
    summary = events[-1]
    assert summary["usage"]["calls"] == 0
    assert summary["steps"]["para"]["cached"] == 2


def test_json_error_before_the_run(tmp_path):
    r = runner.invoke(app, ["run", str(HELLO), "--dry-run", "--json", "--out", str(tmp_path)])
    assert r.exit_code == 2
    (event,) = events_of(r.stdout)
    assert event["event"] == "error" and event["exit_code"] == 2
    assert "missing required input 'topic'" in event["message"]
    assert event["type"] == "InputError"


def test_board_follows_a_run(project, tmp_path):
    board = Board()
    events: list[dict] = []

    def on_event(e: dict) -> None:
        events.append(e)
        board.apply(e)

    result = load_chain(project(FAILING)).run({}, out=tmp_path, on_event=on_event)
    statuses = {sid: s.status for sid, s in board.steps.items()}
    assert statuses == {
        "title": "done",
        "ideas": "done",
        "para": "done",
        "bad": "failed",
        "after": "skipped",
    }
    para = board.steps["para"]
    assert (para.fan_out, para.items_done, para.items_total) == (True, 2, 2)
    assert para.tokens == result.steps["para"].usage.total_tokens
    assert board.tokens == result.usage.total_tokens
    assert board.steps["bad"].note.startswith("step 'bad': output could not be parsed")
    assert board.steps["after"].note == "bad failed"
    assert board.status == "failed"
    # a second run is answered by the step cache
    board2 = Board()
    load_chain(project(FAILING)).run({}, out=tmp_path, on_event=board2.apply)
    assert board2.steps["title"].status == "cached" and board2.steps["para"].status == "cached"


def frame(view: LiveView) -> str:
    out = io.StringIO()
    Console(file=out, width=110, force_terminal=True, color_system=None).print(view.render())
    return out.getvalue()


def test_live_table_shows_each_step_with_status_counts_time_and_tokens():
    view = LiveView(Console(file=io.StringIO(), force_terminal=True, width=110))
    steps = ["title", "plot", "dialogue", "portraits", "art", "cover"]
    t = 1000.0
    for e in [
        ev.RunStarted(chain="dramatron", run_dir="out/r1", steps=steps),
        ev.StepStarted(step="title"),
        ev.Cached(step="title", item=None),
        ev.StepFinished(step="title", duration=0.0, usage={}, model="m:m", cost=None),
        ev.StepStarted(step="plot"),
        ev.StepFinished(
            step="plot", duration=2.0, usage={"total_tokens": 420}, model="m:m", cost=None
        ),
        ev.StepStarted(step="dialogue"),
        ev.FanOut(step="dialogue", item_count=12),
        *[
            ev.ItemFinished(
                step="dialogue",
                item=i,
                done=i + 1,
                total=12,
                cached=False,
                usage={"total_tokens": 100},
            )
            for i in range(7)
        ],
        ev.StepStarted(step="portraits"),
        ev.StepFailed(step="portraits", error="model error: quota", usage={}),
        ev.StepSkipped(step="art", because="portraits"),
    ]:
        t += 1
        view.board.apply(dataclasses.replace(e, time=t))
    text = frame(view)
    lines = {line.split()[1]: line for line in text.splitlines()[1:] if line.strip()}
    assert "dramatron" in text.splitlines()[0] and "out/r1" in text.splitlines()[0]
    assert "1,120 tokens" in text.splitlines()[0]  # 420 + 7 x 100 so far
    assert "cached" in lines["title"]
    assert "done" in lines["plot"] and "420 tok" in lines["plot"]
    assert "running" in lines["dialogue"] and "7/12" in lines["dialogue"]
    assert "700 tok" in lines["dialogue"]
    assert "failed" in lines["portraits"] and "model error: quota" in lines["portraits"]
    assert "skipped" in lines["art"] and "portraits failed" in lines["art"]
    assert "waiting" in lines["cover"]


def test_a_terminal_gets_the_live_table(tmp_path):
    """On a terminal (a pty here) `dramaturg run` draws the table, then prints the summary."""
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"TERM": "xterm", "COLUMNS": "120"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dramaturg",
            "run",
            str(HELLO),
            "--set",
            "topic=tides",
            "--dry-run",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=secondary,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    os.close(secondary)
    drawn = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(primary)
    assert proc.returncode == 0
    screen = drawn.decode("utf-8", "replace")
    assert "\x1b[" in screen  # drawn in place with terminal codes
    assert "3/3 steps" in screen
    for step in ("title", "premises", "paragraphs"):
        assert step in screen
    assert "3/3" in screen and "✓" in screen
    assert proc.stdout.startswith("done: 3 done;") and "cost $0" in proc.stdout
