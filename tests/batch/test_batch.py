"""Batches: a chain over a table of inputs, each row a run folder, one set of limits for the
whole batch, bad rows caught before anything runs, resume in place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dramaturg
from dramaturg import FakeChatModel, InputError, RunFailedError, load_chain
from dramaturg.batch.folder import ROWS_FILE
from dramaturg.batch.start import aresume_batch
from dramaturg.providers import get_registry
from dramaturg.providers.registry import Provider

CHAIN = """
name: pitch
prompts: ../prompts
inputs:
  logline: {type: string}
  scenes: {type: integer, default: 2}
models:
  default: {provider: fake}
steps:
  title: {prompt: {text: "Title for {{ logline }}"}}
  beats:
    prompt: {text: "{{ scenes }} beats for {{ title }}"}
    parse: lines
"""


def fake(**kw: Any) -> FakeChatModel:
    return FakeChatModel(
        responses={"title": lambda c: "T:" + c.prompt[10:30], "beats": "one\ntwo"}, **kw
    )


@pytest.fixture
def chain(project):
    return load_chain(project(CHAIN))


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text(text)
    return path


ROWS = (
    "logline,scenes\nA keeper bottles storms,3\nA diver finds a bell,2\nA keeper bottles storms,3\n"
)


def test_a_batch_runs_every_row_into_its_own_run_folder(chain, tmp_path):
    model = fake()
    result = chain.batch(csv_file(tmp_path, ROWS), out=tmp_path / "out", models={"default": model})
    assert result.ok and [r.status for r in result.rows] == ["done"] * 3
    root = result.batch_dir
    assert root is not None and (root / "batch.json").is_file()
    # duplicate inputs stay distinct: row ids carry the index
    ids = [r.id for r in result.rows]
    assert len(set(ids)) == 3 and ids[0][6:] == ids[2][6:]
    for row in result.rows:
        assert row.run_dir == root / "runs" / row.id
        assert dramaturg.load_run(row.run_dir)["beats"] == ["one", "two"]
    # CSV text is read as the input's type
    assert result.rows[0].run is not None and result.rows[0].run.inputs["scenes"] == 3
    lines = [json.loads(x) for x in (root / ROWS_FILE).read_text().splitlines()]
    assert sorted(x["index"] for x in lines) == [0, 1, 2]
    assert all(x["status"] == "done" and x["calls"] == 2 for x in lines)
    summary = (root / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("row,id,status,title") and len(summary) == 4
    assert "report.html" in (root / "summary.html").read_text()


def test_bad_rows_are_named_with_their_line_before_anything_runs(chain, tmp_path):
    data = csv_file(tmp_path, "logline,scenes\nfine,2\nbad,many\n,3\n")
    with pytest.raises(InputError) as caught:
        chain.batch(data, out=tmp_path / "out", models={"default": fake()})
    message = str(caught.value)
    assert "rows.csv:3: row 1" in message and "scenes" in message
    assert "--skip-bad-rows" in message
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written
    kept = chain.batch(data, out=tmp_path / "out", models={"default": fake()}, skip_bad_rows=True)
    assert [r.index for r in kept.rows] == [0, 2] and kept.ok
    assert len(kept.skipped) == 1


def test_a_failed_row_is_a_row_not_an_exception(chain, tmp_path):
    model = FakeChatModel(fail={"beats": "always"})
    rows = [{"logline": "a"}, {"logline": "b"}]
    result = chain.batch(rows, out=None, models={"default": model})
    assert not result.ok and [r.status for r in result.rows] == ["failed", "failed"]
    assert "beats" in (result.rows[0].error or "")
    with pytest.raises(RunFailedError, match=r"row [01]"):
        chain.batch(rows, out=None, models={"default": model}, raise_on_error=True)


def test_one_limit_holds_across_every_row_in_flight(project, tmp_path):
    """A model set to one call at a time gets one call at a time, however many rows run."""
    path = project(CHAIN.replace("{provider: fake}", "{provider: fake, concurrency: 1}"))
    model = fake(latency=0.02)
    registry = get_registry()
    original = registry.get("fake")
    registry.add(Provider(name="fake", description="", text=lambda config: model))
    try:
        rows = [{"logline": f"story {i}"} for i in range(6)]
        result = load_chain(path).batch(rows, out=None, rows_in_flight=6, concurrency=8)
    finally:
        registry.add(original)
    assert result.ok and len(model.calls) == 12
    assert model.max_in_flight == 1


def test_resume_skips_done_rows_and_finishes_the_others(chain, tmp_path):
    data = csv_file(tmp_path, ROWS)
    first = chain.batch(data, out=tmp_path / "out", models={"default": fake()}, cache=False)
    root = first.batch_dir
    assert root is not None
    # row 1 "was killed": its line is gone and its run lost its last step; row 2 never started
    lines = (root / ROWS_FILE).read_text().splitlines()
    kept = [x for x in lines if json.loads(x)["index"] == 0]
    (root / ROWS_FILE).write_text("\n".join(kept) + "\n{torn line")
    row1, row2 = first.rows[1].run_dir, first.rows[2].run_dir
    assert row1 is not None and row2 is not None
    (row1 / "steps" / "beats.json").unlink()
    manifest = json.loads((row1 / "manifest.json").read_text())
    manifest["status"] = "running"
    (row1 / "manifest.json").write_text(json.dumps(manifest))
    for f in sorted(row2.rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    row2.rmdir()

    model = fake()
    events: list[Any] = []
    import asyncio

    again = asyncio.run(aresume_batch(root, models={"default": model}, on_event=events.append))
    assert again.ok and [r.status for r in again.rows] == ["done"] * 3
    assert again.rows[0].kept and again.rows[0].calls == 0
    # row 1 resumed: its title was kept, only beats called; row 2 ran whole
    assert sorted(c.step for c in model.calls) == ["beats", "beats", "title"]
    started = {e.row: e.resumed for e in events if e.kind == "row_started"}
    assert started == {1: True, 2: False}
    # a third time: nothing to do, no model call
    idle = fake()
    third = asyncio.run(aresume_batch(root, models={"default": idle}))
    assert third.ok and idle.calls == []


def test_batch_as_completed_yields_each_row_once(chain):
    rows = [{"logline": f"story {i}"} for i in range(5)]
    seen: Iterator[tuple[int, Any]] = chain.batch_as_completed(rows, models={"default": fake()})
    got = dict(seen)
    assert sorted(got) == [0, 1, 2, 3, 4]
    assert all(run is not None and run.ok for run in got.values())


def test_leaving_batch_as_completed_early_stops_the_batch(chain):
    rows = [{"logline": f"story {i}"} for i in range(40)]
    model = fake(latency=0.01)
    for index, _run in chain.batch_as_completed(rows, models={"default": model}, rows_in_flight=2):
        assert index >= 0
        break
    assert len(model.calls) < 80  # the rest never ran


def test_model_text_is_text_in_the_summary(chain, tmp_path):
    model = FakeChatModel(responses={"title": "<script>alert(1)</script>", "beats": "=cmd|x"})
    result = chain.batch([{"logline": "x"}], out=tmp_path / "out", models={"default": model})
    root = result.batch_dir
    assert root is not None
    page = (root / "summary.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;" in page


async def test_stopping_a_batch_marks_rows_in_flight_stopped_and_resume_finishes(chain, tmp_path):
    """Ctrl-C cancels the batch's task: rows in flight are marked stopped, finished ones are
    kept, and resume finishes the rest."""
    import asyncio

    finished = asyncio.Event()

    def on_event(event: Any) -> None:
        if event.kind == "row_finished":
            finished.set()

    rows = [{"logline": f"story {i}"} for i in range(6)]
    task = asyncio.ensure_future(
        chain.abatch(
            rows,
            out=tmp_path / "out",
            models={"default": fake(latency=0.05)},
            rows_in_flight=2,
            cache=False,
            on_event=on_event,
        )
    )
    await asyncio.wait_for(finished.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (root,) = (tmp_path / "out").iterdir()
    records = [json.loads(x) for x in (root / ROWS_FILE).read_text().splitlines()]
    statuses = {r["index"]: r["status"] for r in records}
    assert "done" in statuses.values() and "stopped" in statuses.values()
    assert (root / "summary.csv").is_file()
    model = fake()
    again = await aresume_batch(root, models={"default": model})
    assert again.ok and len(again.rows) == 6
    assert len(model.calls) < 12  # finished rows (and steps) were kept


def test_a_local_batch_never_imports_ray(project, tmp_path):
    import subprocess
    import sys

    path = project(CHAIN)
    code = (
        "import sys, dramaturg\n"
        f"chain = dramaturg.load_chain({str(path)!r})\n"
        "r = chain.batch([{'logline': 'x'}], out=None, dry_run=True)\n"
        "assert r.ok\n"
        "print('ray' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_line_torn_by_a_crash_is_skipped_and_the_next_starts_clean(tmp_path):
    from dramaturg.batch.folder import BatchFolder, RowRecord

    root = tmp_path / "b"
    root.mkdir()
    (root / ROWS_FILE).write_text('{"index": 0, "id": "a", "digest": "d", "status": "done"}\n{"ind')
    folder = BatchFolder(root)
    assert list(folder.records()) == [0]
    folder.append(RowRecord(1, "b", "e", "done"))
    folder.close()
    assert sorted(folder.records()) == [0, 1]
