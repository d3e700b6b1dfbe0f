"""Reading and writing inside a run folder never follows a link out of it, whatever the commands
check first: writes walk the folder one name at a time with O_NOFOLLOW (a linked ``steps/`` is
refused, not followed), reads take regular files of at most 64 MiB, and the call log, the
deletion of fan-out items and the report's images go through the same walk. These call the
library below the CLI's check of the folder (a link swapped in after it, say)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dramaturg.errors import InputError, RunStorageError
from dramaturg.store.calllog import CallLog, read_log
from dramaturg.store.records import CallRecord
from dramaturg.store.rundir import RunDir
from hostile_cli import snapshot


@pytest.fixture
def rooms(tmp_path: Path) -> tuple[RunDir, Path]:
    """A run folder and a folder outside it holding one file."""
    run = tmp_path / "run"
    (run / "steps").mkdir(parents=True)
    (run / "steps" / "title.json").write_text(json.dumps({"step": "title", "output": "Salt"}))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.json").write_text("{}")
    return RunDir(run), outside


@pytest.mark.parametrize("rel", ["steps/title.json", "steps/scenes/0.json", "prompts/a/b.txt"])
def test_a_write_never_goes_through_a_linked_folder(rooms, rel):
    rundir, outside = rooms
    first = rel.split("/")[0]
    if (rundir.root / first).exists():
        for p in (rundir.root / first).iterdir():
            p.rename(outside / p.name)
        (rundir.root / first).rmdir()
    (rundir.root / first).symlink_to(outside)
    before = snapshot(outside)
    with pytest.raises(RunStorageError, match=f"{first} in the run folder is a symbolic link"):
        rundir.write_json(rel, {"x": 1})
    assert snapshot(outside) == before
    assert rundir.failed is not None  # the runner calls no model after it


def test_a_write_never_goes_through_a_linked_folder_deeper_down(rooms):
    rundir, outside = rooms
    (rundir.root / "steps" / "scenes").symlink_to(outside)
    before = snapshot(outside)
    with pytest.raises(RunStorageError, match="steps/scenes in the run folder is a symbolic"):
        rundir.write_record("steps/scenes/0.json", {"x": 1})
    assert snapshot(outside) == before


def test_a_dangling_link_is_not_a_folder_to_make(rooms):
    rundir, outside = rooms
    (rundir.root / "prompts").symlink_to(outside / "not-yet")
    with pytest.raises(RunStorageError, match="symbolic link"):
        rundir.write_prompt("prompts/title.txt", "hello")
    assert not (outside / "not-yet").exists()


def test_a_linked_file_is_replaced_not_followed(rooms):
    rundir, outside = rooms
    (rundir.root / "steps" / "title.json").unlink()
    (rundir.root / "steps" / "title.json").symlink_to(outside / "keep.json")
    rundir.write_json("steps/title.json", {"step": "title", "output": "Pepper"})
    assert (outside / "keep.json").read_text() == "{}"
    assert not (rundir.root / "steps" / "title.json").is_symlink()
    assert rundir.read_json("steps/title.json")["output"] == "Pepper"


def test_reads_take_regular_files_of_the_folder_only(rooms):
    from dramaturg.safeio import FileRefused
    from dramaturg.store.rundir import MAX_FILE

    rundir, outside = rooms
    assert rundir.read_json("steps/title.json")["output"] == "Salt"
    (rundir.root / "steps" / "linked.json").symlink_to(outside / "keep.json")
    with pytest.raises(FileRefused, match="symbolic link"):
        rundir.read_json("steps/linked.json")
    assert not rundir.is_file("steps/linked.json")
    (rundir.root / "prompts").symlink_to(outside)
    with pytest.raises(OSError, match="prompts in the run folder is a symbolic link"):
        rundir.read_text("prompts/keep.json")
    assert rundir.names("prompts") == []
    with (rundir.root / "steps" / "big.json").open("wb") as fh:
        fh.truncate(MAX_FILE + 1)
    with pytest.raises(FileRefused, match="the limit is 67,108,864"):
        rundir.read_json("steps/big.json")
    os.mkfifo(rundir.root / "steps" / "fifo.json")
    with pytest.raises(FileRefused, match="FIFO"):
        rundir.read_json("steps/fifo.json")
    (rundir.root / "steps" / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nests too deeply"):
        rundir.read_json("steps/deep.json")


def test_the_call_log_is_never_appended_to_through_a_link(rooms):
    rundir, outside = rooms
    (rundir.root / "versions").symlink_to(outside)
    log = CallLog(rundir)
    with pytest.raises(OSError, match="versions in the run folder is a symbolic link"):
        log.append("key", "title", None, CallRecord("Salt"))
    assert sorted(p.name for p in outside.iterdir()) == ["keep.json"]
    (rundir.root / "versions").unlink()
    (rundir.root / "versions").mkdir()
    (rundir.root / "versions" / "calls.jsonl").symlink_to(outside / "keep.json")
    with pytest.raises(OSError):
        CallLog(rundir).append("key", "title", None, CallRecord("Salt"))
    assert (outside / "keep.json").read_text() == "{}"
    assert read_log(rundir) == []


def test_fan_out_items_are_never_deleted_through_a_link(tmp_path):
    from dramaturg.cowrite.runstate import RunState

    run = tmp_path / "run"
    (run / "steps").mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"steps": {}}))
    outside = tmp_path / "outside"
    outside.mkdir()
    for i in range(3):
        (outside / f"{i}.json").write_text("{}")
    (run / "steps" / "scenes").symlink_to(outside)
    state = RunState.__new__(RunState)  # below the folder check: a link swapped in after it
    state.root, state.rundir = run, RunDir(run)
    state.drop_items_from("scenes", 1)
    assert sorted(p.name for p in outside.iterdir()) == ["0.json", "1.json", "2.json"]


def test_a_folder_holding_links_or_fifos_is_refused_by_name(rooms):
    rundir, outside = rooms
    rundir.refuse_strange()  # a plain run folder
    (rundir.root / "prompts").symlink_to(outside)
    os.mkfifo(rundir.root / "steps" / "x.json")
    with pytest.raises(InputError) as err:
        rundir.refuse_strange()
    message = str(err.value)
    assert f"the run folder {rundir.root} was changed: prompts in it is a symbolic link to " in (
        message
    )
    assert "(and 1 more entries like it)" in message and "nothing was changed" in message
