"""Run history from the command line: `runs list` (newest first, with logline, status, scenes,
tokens, cost and duration), `runs show`, `open`, `report`, `export --format report` and
`prices`; and none of them loads a model library for --help."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dramaturg import load_chain
from dramaturg.cli import app, runs_cmds

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
PRICES = 'prices:\n  fake:\n    fake: {input: 1000, output: 2000}\n    "*": {image: 0.5}\n'


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three runs in one folder: a hello run, a Dramatron run (with scenes), a failed run."""
    monkeypatch.setenv("COLUMNS", "250")
    prices = tmp_path / "prices.yaml"
    prices.write_text(PRICES)
    monkeypatch.setenv("DRAMATURG_PRICES", str(prices))
    out = tmp_path / "out"
    hello = load_chain(ROOT / "chains" / "hello.yaml")
    hello.run({"topic": "tides"}, models={"default": "fake"}, out=out)
    drama = load_chain(ROOT / "chains" / "dramatron.yaml")
    drama.run(
        {"logline": "A keeper bottles storms.", "num_scenes": 3},
        models={"default": "fake", "images": "fake:pics"},
        out=out,
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        textwrap.dedent("""
        name: broken
        models: {default: {provider: fake}}
        inputs: {subject: {type: string, default: "a quiet harbour"}}
        steps:
          a: {prompt: {text: "{{ subject }}"}, attempts: 1,
              parse: {type: regex, pattern: "(?P<n>never-\\\\d{9})"}}
        """)
    )
    load_chain(broken).run({}, out=out)
    return out


def table_rows(output: str) -> list[list[str]]:
    lines = [line for line in output.splitlines() if line.strip()]
    header = lines[0]
    starts = [header.index(name) for name in ("id", "chain", "logline", "status", "scenes")]
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.append([*cells[:4], *line[starts[-1] :].split()])
    return rows


def test_runs_list_newest_first_with_the_figures(runs):
    r = runner.invoke(app, ["runs", "list", "--out", str(runs)])
    assert r.exit_code == 0, r.output
    header = r.output.splitlines()[0].split()
    assert header == [
        "id",
        "chain",
        "logline",
        "/",
        "input",
        "status",
        "scenes",
        "tokens",
        "cost",
        "duration",
    ]
    rows = table_rows(r.output)
    assert [row[1] for row in rows] == ["broken", "dramatron", "hello"]  # newest first
    broken, drama, hello = rows
    manifests = {
        m["chain"]["name"]: m
        for m in (json.loads(p.read_text()) for p in runs.glob("*/manifest.json"))
    }
    # id, chain, logline (or first input), status, scenes, tokens, cost, duration
    assert drama[0] == manifests["dramatron"]["run_id"]
    assert drama[2] == "A keeper bottles storms."
    assert drama[3] == "done"
    plot = json.loads((runs / drama[0] / "steps" / "plot.json").read_text())["output"]
    assert drama[4] == str(len(plot))
    assert drama[5] == f"{manifests['dramatron']['usage']['total_tokens']:,}"
    assert drama[6] == f"${manifests['dramatron']['cost']['total']:,.2f}"
    assert drama[7].endswith("s")
    assert hello[2] == "tides" and hello[4] == "-"  # no plot: no scenes
    assert broken[2] == "a quiet harbour" and broken[3] == "failed"


def test_runs_list_marks_a_killed_run_and_limits(runs):
    (run_dir,) = [p for p in runs.iterdir() if "-hello-" in p.name]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["status"] = "running"  # as a killed run leaves it; nobody holds the folder
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    r = runner.invoke(app, ["runs", "list", "--out", str(runs)])
    assert table_rows(r.output)[2][3] == "stopped"
    r = runner.invoke(app, ["runs", "list", "--out", str(runs), "-n", "1"])
    assert len(table_rows(r.output.split("\n1 older")[0].split("2 older")[0])) == 1
    assert "2 older runs not shown" in r.output


def test_runs_list_of_an_empty_folder(tmp_path):
    r = runner.invoke(app, ["runs", "list", "--out", str(tmp_path)])
    assert r.exit_code == 0 and "no runs in" in r.output


def test_runs_show_lists_steps_models_cost_and_files(runs):
    r = runner.invoke(app, ["runs", "show", "dramatron", "--out", str(runs)])
    assert r.exit_code == 0, r.output
    (run_dir,) = [p for p in runs.iterdir() if "-dramatron-" in p.name]
    m = json.loads((run_dir / "manifest.json").read_text())
    out = r.output
    assert m["run_id"] in out and "A keeper bottles storms." in out
    assert f"{m['usage']['total_tokens']:,} (" in out
    assert f"cost          ${m['cost']['total']:,.2f}" in out
    dialogue = next(line for line in out.splitlines() if line.startswith("dialogue "))
    items = m["steps"]["dialogue"]["items"]
    assert f"{items['done']}/{items['total']}" in dialogue and "fake:fake" in dialogue
    assert any(line.startswith("fake:fake ") for line in out.splitlines())  # per model
    assert "report.html" in out and "screenplay.html" in out
    # by hash, by path, and `last`
    assert (
        runner.invoke(app, ["runs", "show", run_dir.name[-6:], "--out", str(runs)]).exit_code == 0
    )
    assert runner.invoke(app, ["runs", "show", str(run_dir)]).exit_code == 0
    r = runner.invoke(app, ["runs", "show", "last", "--out", str(runs)])
    assert "broken" in r.output and "error in step a" in r.output


def test_runs_show_unknown_run_exits_2(runs):
    r = runner.invoke(app, ["runs", "show", "nope", "--out", str(runs)])
    assert r.exit_code == 2 and "no run 'nope'" in r.output
    r = runner.invoke(app, ["runs", "show", "2", "--out", str(runs)])
    assert r.exit_code == 2 and "matches 3 runs" in r.output


def test_open_prints_the_screenplay_path_without_a_desktop(runs, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    (drama,) = [p for p in runs.iterdir() if "-dramatron-" in p.name]
    r = runner.invoke(app, ["open", str(drama)])
    assert r.exit_code == 0
    assert r.stdout.strip() == str((drama / "screenplay.html").resolve())
    assert "no opener" in r.stderr
    (hello,) = [p for p in runs.iterdir() if "-hello-" in p.name]  # no screenplay: the report
    r = runner.invoke(app, ["open", str(hello)])
    assert r.stdout.strip() == str((hello / "report.html").resolve())


def test_open_uses_the_system_opener(runs, monkeypatch, tmp_path):
    seen = tmp_path / "opened.txt"
    opener = [sys.executable, "-c", f"import sys; open({str(seen)!r}, 'w').write(sys.argv[1])"]
    monkeypatch.setattr(runs_cmds, "_opener", lambda: opener)
    r = runner.invoke(app, ["open", "dramatron", "--out", str(runs)])
    assert r.exit_code == 0, r.output
    for _ in range(200):  # the opener runs on its own; wait for it to write
        if seen.exists() and seen.read_text():
            break
        time.sleep(0.05)
    assert seen.read_text().endswith("screenplay.html")


def test_report_and_export_format_report_rewrite_report_html(runs):
    (hello,) = [p for p in runs.iterdir() if "-hello-" in p.name]
    (hello / "report.html").unlink()
    r = runner.invoke(app, ["report", "hello", "--out", str(runs)])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(hello / "report.html")
    assert "<svg" in (hello / "report.html").read_text()
    (hello / "report.html").unlink()
    r = runner.invoke(app, ["export", str(hello), "--format", "report"])
    assert r.exit_code == 0, r.output
    assert (hello / "report.html").is_file()


def test_prices_shows_the_table_in_force(runs):
    r = runner.invoke(app, ["prices"])
    assert r.exit_code == 0
    assert "prices.yaml (shipped)" in r.output and "examples" in r.output
    fake = [line.split() for line in r.output.splitlines() if line.startswith("fake ")]
    assert ["fake", "fake", "1000", "2000", "-"] in fake
    assert any(
        line.startswith("cohere ") and "command-a-03-2025" in line for line in r.output.splitlines()
    )


def test_help_of_the_new_commands_imports_no_model_library():
    code = textwrap.dedent("""
        import sys
        from dramaturg.cli import app
        for args in (["runs", "--help"], ["runs", "list", "--help"], ["runs", "show", "--help"],
                     ["open", "--help"], ["report", "--help"], ["prices", "--help"],
                     ["run", "--help"]):
            try:
                app(args)
            except SystemExit:
                pass
        heavy = [m for m in ("langchain_core", "llama_cpp", "PIL", "httpx", "networkx",
                             "jinja2", "yaml", "reportlab") if m in sys.modules]
        print("HEAVY", heavy)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "dramaturg runs list" in out and "dramaturg open last" in out
