"""``dramaturg batch``: a table in, a batch folder out; resume, show, and runs list."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dramaturg.cli import app

CHAIN = """
name: pitch
prompts: ../prompts
inputs:
  topic: {type: string}
  scenes: {type: integer, default: 2}
models:
  default: {provider: fake}
steps:
  title: {prompt: {text: "Title for {{ topic }} in {{ scenes }} scenes"}}
"""


def invoke(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.output


def test_a_batch_from_the_command_line(project, tmp_path):
    chain = project(CHAIN)
    data = tmp_path / "slate.jsonl"
    data.write_text('{"pitch": "storms", "scenes": 3}\n{"pitch": "bells"}\n')
    out = tmp_path / "out"
    code, output = invoke(
        "batch",
        str(chain),
        "--data",
        str(data),
        "--map",
        "topic=pitch",
        "--out",
        str(out),
        "--json",
    )
    assert code == 0, output
    events = [json.loads(line) for line in output.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "batch_started" and kinds[-1] == "batch_finished"
    assert kinds.count("row_finished") == 2
    batch = Path(events[0]["batch_dir"])
    assert batch.parent == out and (batch / "summary.csv").is_file()

    code, output = invoke("batch", "show", str(batch))
    assert code == 0 and "2 rows: 2 done" in output
    code, output = invoke("runs", "list", "--out", str(out))
    assert code == 0 and batch.name in output
    code, output = invoke("batch", "resume", str(batch), "--json")
    assert code == 0
    resumed = [json.loads(line) for line in output.splitlines()]
    assert resumed[0]["todo"] == 0 and not any(e["event"] == "row_started" for e in resumed)


def test_bad_data_is_exit_2_with_the_line_and_no_traceback(project, tmp_path):
    chain = project(CHAIN)
    data = tmp_path / "rows.csv"
    data.write_text("topic,scenes\nstorms,3\nbells,lots\n")
    code, output = invoke("batch", str(chain), "--data", str(data), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "rows.csv:3" in output and "scenes" in output and "Traceback" not in output
    assert not (tmp_path / "o").exists()
    code, output = invoke("batch", str(chain), "--data", str(tmp_path / "none.csv"))
    assert code == 2 and "none.csv" in output and "Traceback" not in output
    code, output = invoke("batch", "show", str(tmp_path))
    assert code == 2 and "not a batch folder" in output
    good = tmp_path / "good.csv"
    good.write_text("topic\nstorms\n")
    code, output = invoke("batch", str(chain), "--data", str(good), "--executor", "spark")
    assert code == 2 and "executor" in output and "Traceback" not in output


def test_a_failed_row_gives_exit_1_and_the_other_rows_finish(project, tmp_path):
    chain = project(
        CHAIN.replace("{provider: fake}", "{provider: fake, extra: {fail: {title: always}}}")
    )
    data = tmp_path / "rows.csv"
    data.write_text("topic\nstorms\n")
    code, output = invoke("batch", str(chain), "--data", str(data), "--out", str(tmp_path / "o"))
    assert code == 1, output
    assert "1 failed" in output
