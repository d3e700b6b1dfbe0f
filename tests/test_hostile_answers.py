"""Model answers as the attacker: what a model writes never breaks a run, a file or a later
command. Each case is a scripted fake answer; each ends with a clear outcome (a repaired or
resampled answer, or a step that fails with a message), files that read back, and the run still
co-writable afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dramaturg import FakeChatModel, FakeImageModel, load_chain
from dramaturg.cli import app

ROOT = Path(__file__).resolve().parents[1]

TWO = """
name: two
models:
  default: {provider: fake, seed: 1}
steps:
  first:
    prompt: {text: "Give a title as JSON."}
    parse: {type: json}
  second:
    prompt: {text: "Use {{ first }} in a sentence."}
"""


def run(chain: Path, tmp_path: Path, fake: FakeChatModel, **kw: Any) -> Any:
    return load_chain(chain).run({}, models={"default": fake}, out=tmp_path / "out", **kw)


def every_file(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


# -- 1. a lone surrogate -------------------------------------------------------------------
def test_a_lone_surrogate_in_a_json_answer_is_repaired(project, tmp_path):
    fake = FakeChatModel(responses={"first": '{"title": "Storm \\ud83c"}'})
    result = run(project(TWO), tmp_path, fake)
    assert result.ok, [(s.id, s.error) for s in result.failed_steps()]
    assert result["first"] == {"title": "Storm \ufffd"}
    for path, data in every_file(result.run_dir).items():  # every text file is UTF-8
        if path.endswith((".json", ".txt", ".html", ".md", ".jsonl", ".yaml")):
            data.decode("utf-8", "strict")


def test_a_lone_surrogate_in_the_raw_text_is_repaired(project, tmp_path):
    fake = FakeChatModel(responses={"first": '{"title": "Storm"}', "second": "A jar \ud83c."})
    result = run(project(TWO), tmp_path, fake)
    assert result.ok
    assert result["second"] == "A jar \ufffd."


def test_the_dramatron_exports_survive_a_cut_emoji(tmp_path):
    from dramatron_answers import scripted

    fake = scripted()
    fake.responses["dialogue/1"] = [
        '{"scene": [{"character": "Orrin", "line": "The light closes \\ud83c on Friday."}]}'
    ]
    result = load_chain(ROOT / "chains" / "dramatron.yaml").run(
        {"logline": "A keeper bottles storms.", "num_scenes": 4},
        models={"default": fake, "images": FakeImageModel()},
        out=tmp_path,
    )
    assert result.ok, [(s.id, s.error) for s in result.failed_steps()]
    fountain = (result.run_dir / "screenplay.fountain").read_text(encoding="utf-8")
    assert "The light closes \ufffd on Friday." in fountain
    for name in ("screenplay.fdx", "screenplay.pdf", "screenplay.html", "report.html"):
        assert (result.run_dir / name).stat().st_size > 0


# -- 2. an answer nested too deeply ---------------------------------------------------------
def test_a_deeply_nested_answer_is_resampled_and_the_run_stays_cowritable(project, tmp_path):
    deep = "[" * 600 + "]" * 600
    fake = FakeChatModel(responses={"first": [deep, '{"title": "Storm"}']})
    result = run(project(TWO), tmp_path, fake, cache=False)
    assert result.ok and result["first"] == {"title": "Storm"}
    assert [c.attempt for c in fake.calls_for("first")] == [0, 1]
    for command in (
        ["history", str(result.run_dir), "first"],
        ["rerun", str(result.run_dir), "--model", "default=fake"],
    ):
        r = cli(*command)
        assert r.exit_code == 0, r.output


def test_an_answer_that_always_nests_too_deeply_fails_the_step_clearly(project, tmp_path):
    fake = FakeChatModel(responses={"first": "[" * 600 + "]" * 600})
    result = run(project(TWO), tmp_path, fake, cache=False)
    assert not result.ok
    assert "nests deeper than 64 levels" in (result.steps["first"].error or "")
    for command in (["history", str(result.run_dir), "first"], ["report", str(result.run_dir)]):
        r = cli(*command)
        assert r.exit_code == 0, r.output
        assert "internal error" not in r.output and "Traceback" not in r.output


def test_nesting_within_the_bound_is_kept(project, tmp_path):
    nested = "[" * 60 + '"deep"' + "]" * 60
    fake = FakeChatModel(responses={"first": nested})
    result = run(project(TWO), tmp_path, fake, cache=False)
    assert result.ok
    value = result["first"]
    for _ in range(59):
        value = value[0]
    assert value == ["deep"]


# -- 3. control characters spelt as JSON escapes --------------------------------------------
def test_control_characters_written_as_json_escapes_reach_no_file(project, tmp_path):
    fake = FakeChatModel(
        responses={"first": '{"title": "Clear\\u001b[2J screen\\u0000 bell\\u0007 \\u009b ok"}'}
    )
    result = run(project(TWO), tmp_path, fake)
    assert result.ok
    assert result["first"] == {"title": "Clear[2J screen bell  ok"}
    files = every_file(result.run_dir)
    assert files, "the run wrote its files"
    for path, data in files.items():
        for bad in (b"\x1b", b"\x00", b"\x07", "\u009b".encode()):
            assert bad not in data, (path, bad)


# -- 4. an answer that echoes an API key ----------------------------------------------------
def test_an_answer_echoing_an_api_key_stores_it_nowhere(project, tmp_path, monkeypatch):
    key = "sk-live-4f9a8b7c6d5e4f3a2b1c"
    monkeypatch.setenv("ACME_API_KEY", key)
    cache = tmp_path / "cache"
    fake = FakeChatModel(
        responses={"first": f'{{"title": "my key is {key}"}}', "second": f"Again: {key}."}
    )
    result = run(project(TWO), tmp_path, fake, cache=cache)
    assert result.ok
    assert result["first"] == {"title": "my key is ***"}
    for root in (result.run_dir, cache):
        for path, data in every_file(root).items():
            assert key.encode() not in data, path
    # the later step's prompt was made from the scrubbed answer
    assert "my key is ***" in (result.run_dir / "prompts" / "second.txt").read_text()


# -- 5. a chain author's pattern that backtracks catastrophically ----------------------------
SLOW_PATTERN = """
name: slow
models:
  default: {provider: fake, seed: 1, extra: {latency: 0.05}}
steps:
  bad:
    prompt: {text: "Say a's."}
    parse: {type: regex, pattern: "^(?P<all>(a|aa)+)$"}
  schema:
    prompt: {text: "Say a's as JSON."}
    parse: {type: json, schema: {type: string, pattern: "^(a|aa)+$"}}
  other:
    prompt: {text: "Something independent."}
"""


def test_a_catastrophic_pattern_fails_its_step_and_blocks_nothing(project, tmp_path):
    """Run in a process of its own with a deadline: a pattern without a time bound would hold
    the event loop for ever."""
    trap = "a" * 60 + "b"
    answers = json.dumps({"bad": trap, "schema": json.dumps(trap), "other": "fine"})
    chain = project(
        SLOW_PATTERN.replace(
            "extra: {latency: 0.05}", f"extra: {{latency: 0.05, responses: {answers}}}"
        )
    )
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dramaturg",
            "run",
            str(chain),
            "--no-cache",
            "--json",
            "-q",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert time.monotonic() - started < 30
    assert proc.returncode == 1, proc.stderr  # the run failed: some steps failed
    (run_dir,) = (tmp_path / "out").iterdir()
    steps = json.loads((run_dir / "manifest.json").read_text())["steps"]
    assert steps["other"]["status"] == "done"
    for sid in ("bad", "schema"):
        assert steps[sid]["status"] == "failed"
        message = steps[sid]["error"]["message"]
        assert "took more than 1 s on the answer" in message and "(a|aa)+" in message


def test_an_invalid_pattern_is_refused_at_load_with_its_place(project):
    chain = project(SLOW_PATTERN.replace("^(?P<all>(a|aa)+)$", "(?P<x>[a-"))
    r = cli("validate", str(chain))
    assert r.exit_code == 2
    assert "test.yaml:7" in r.output and "invalid regular expression" in r.output
    assert "Traceback" not in r.output
