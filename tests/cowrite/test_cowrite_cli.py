"""The co-writing commands: ``edit`` (in $EDITOR, or from --file / --value), ``rerun``,
``continue``, ``history``, ``checkout`` and ``templates``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dramaturg.cli import app

CHAIN = """
name: tale
prompts: ../prompts
inputs:
  topic: {type: string, default: tides}
models:
  default: {provider: fake, seed: 2}
steps:
  cast:
    prompt: cast.j2
    parse: {type: sections, fields: [Name, Role], multiple: true}
    continue: "Two more people for a story about {{ topic }}."
  scenes:
    for_each: cast
    as: person
    prompt: {text: "A scene for {{ person.name }}, the {{ person.role }}."}
  title: {prompt: {text: "Title: {{ scenes | join(' ') }}"}}
exports: [tale_text]
"""
TEMPLATES = {"cast.j2": "People of a story about {{ topic }}."}


def _export(ctx: Any) -> list[Path]:
    target = ctx.run_dir / "tale.txt"
    target.write_text("\n".join(ctx.result["scenes"]))
    return [target]


def invoke(*args: str, **kw: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], **kw)


def summary(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(("done:", "failed:")))


@pytest.fixture
def run_dir(project, tmp_path) -> Path:
    from dramaturg import register_exporter

    register_exporter("tale_text", _export)
    path = project(CHAIN, TEMPLATES)
    r = invoke("run", path, "--out", tmp_path / "out", "--no-cache", "-q")
    assert r.exit_code == 0, r.output
    (found,) = (tmp_path / "out").iterdir()
    return found


def editor(tmp_path: Path, *contents: str) -> str:
    """An $EDITOR that writes ``contents[n]`` on its n-th opening (the last one after that)."""
    script = tmp_path / "editor.py"
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps(list(contents)))
    script.write_text(
        textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        texts = json.loads(Path({str(texts)!r}).read_text())
        count = Path({str(tmp_path / "count")!r})
        n = int(count.read_text()) if count.exists() else 0
        count.write_text(str(n + 1))
        Path({str(tmp_path / "seen")!r}).write_text(Path(sys.argv[1]).read_text())
        Path(sys.argv[1]).write_text(texts[min(n, len(texts) - 1)])
        """)
    )
    return f"{sys.executable} {script}"


def test_edit_in_the_editor_then_rerun_recomputes_what_depends_on_it(
    run_dir, tmp_path, monkeypatch
):
    cast = json.loads((run_dir / "steps" / "cast.json").read_text())["output"]
    edited = [dict(cast[0]), *cast[1:]]
    edited[0]["role"] = "lighthouse keeper"
    import yaml

    monkeypatch.setenv("EDITOR", editor(tmp_path, yaml.safe_dump(edited)))
    r = invoke("edit", run_dir, "cast")
    assert r.exit_code == 0, r.output
    assert "cast: version 2 (EDIT) is current" in r.output
    assert f"stale until `dramaturg rerun {run_dir}`: scenes, title" in r.output
    assert "tale_text:" in r.output
    shown = (tmp_path / "seen").read_text()  # the editor got the output as YAML
    assert shown.startswith(f"# cast of {run_dir}: edit, save and close")
    assert yaml.safe_load(shown) == cast

    tale = (run_dir / "tale.txt").read_text().splitlines()
    r = invoke("rerun", run_dir)
    assert r.exit_code == 0, r.output
    # the first scene (its person changed) and the title (its scenes changed); the cast (the
    # edit) and the other scenes are kept
    assert f"2 model calls, {len(cast)} kept from before" in summary(r.output)
    assert "scenes: version 2 (RERUN item 0): its inputs changed: item 0" in r.output
    assert "title: version 2 (RERUN): its inputs changed" in r.output
    rebuilt = (run_dir / "tale.txt").read_text().splitlines()
    assert rebuilt[0] != tale[0] and rebuilt[1:] == tale[1:]
    r = invoke("rerun", run_dir)
    assert "0 model calls" in summary(r.output)


def test_an_edit_the_parser_refuses_names_the_line_and_can_be_edited_again(
    run_dir, tmp_path, monkeypatch
):
    bad = "- name: Wren\n  role: keeper\n- name: Orrin\n"
    good = bad + "  role: harbour master\n"
    monkeypatch.setenv("EDITOR", editor(tmp_path, bad, good))
    r = invoke("edit", run_dir, "cast", input="y\n")
    assert r.exit_code == 0, r.output
    assert "cast.yaml:3:3: cast: the step's parser (sections) would drop entry 2 of 2" in r.output
    assert "Edit again?" in r.output
    assert (tmp_path / "count").read_text() == "2"
    assert "cast: version 2 (EDIT) is current" in r.output
    # refused, and not edited again: nothing saved
    (tmp_path / "count").unlink()
    monkeypatch.setenv("EDITOR", editor(tmp_path, "- name: Mara\n"))
    r = invoke("edit", run_dir, "cast", input="n\n")
    assert r.exit_code == 2 and "nothing saved" in r.output
    r = invoke("history", run_dir, "cast", "--no-diff")
    assert "2 version(s), current: 2" in r.output


def test_edit_from_a_file_or_a_value_and_the_editor_cases(run_dir, tmp_path, monkeypatch):
    r = invoke("edit", run_dir, "scenes", 1, "--value", "A new scene.")
    assert r.exit_code == 0, r.output
    assert "scenes: version 2 (EDIT item 1) is current" in r.output
    f = tmp_path / "title.txt"
    f.write_text("The Tide Book")
    r = invoke("edit", run_dir, "title", "--file", f)
    assert r.exit_code == 0 and "title: version 2 (EDIT) is current" in r.output
    r = invoke("edit", run_dir, "title", "--file", f)
    assert r.exit_code == 0 and "title: no change (version 2 stays current)" in r.output
    r = invoke("edit", run_dir, "title", "--file", f, "--value", "x")
    assert r.exit_code == 2 and "contradict" in r.output
    r = invoke("edit", run_dir, "scenes", 7, "--value", "x")
    assert r.exit_code == 2 and "there is no item 7" in r.output
    r = invoke("edit", run_dir, "nope", "--value", "x")
    assert (
        r.exit_code == 2 and "has no step 'nope'" in r.output and "cast, scenes, title" in r.output
    )
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    r = invoke("edit", run_dir, "title")
    assert r.exit_code == 2 and "no editor" in r.output and "--value" in r.output
    monkeypatch.setenv("EDITOR", editor(tmp_path, ""))
    r = invoke("edit", run_dir, "title")
    assert r.exit_code == 0 and "title: cancelled; nothing saved" in r.output


def test_history_and_checkout(run_dir):
    invoke("edit", run_dir, "scenes", 0, "--value", "First, edited.")
    invoke("rerun", run_dir)
    r = invoke("history", run_dir, "title")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "title: 2 version(s), current: 2"
    assert lines[1].startswith("  v1   NEW ") and lines[1].endswith("as the run made it")
    assert lines[2].startswith("* v2   RERUN ") and "its inputs changed" in lines[2]
    assert "    --- v1" in lines and "    +++ v2" in lines
    r = invoke("history", run_dir, "scenes", 0)
    assert "scenes item 0: 2 version(s)" in r.output and "+First, edited." in r.output
    r = invoke("checkout", run_dir, "scenes", 1)
    assert r.exit_code == 0, r.output
    assert "scenes: version 1 (NEW) is current" in r.output
    assert "stale until" in r.output and "title" in r.output
    r = invoke("history", run_dir, "title", "--no-diff")
    assert "stale: scenes changed since" in r.output
    r = invoke("rerun", run_dir)
    assert "0 model calls" in summary(r.output)  # the first title is still in the run folder
    r = invoke("checkout", run_dir, "scenes", 5)
    assert r.exit_code == 2 and "no version 5" in r.output


def test_a_kept_edit_is_reported_when_its_inputs_change(run_dir):
    invoke("edit", run_dir, "scenes", 0, "--value", "My scene.")
    cast = json.loads((run_dir / "steps" / "cast.json").read_text())["output"]
    cast[0]["role"] = "ghost"
    r = invoke("edit", run_dir, "cast", "--value", json.dumps(cast))
    assert r.exit_code == 0, r.output
    r = invoke("rerun", run_dir)
    assert r.exit_code == 0, r.output
    assert "kept your edit of scenes/0, though its inputs changed since" in r.output
    assert f"dramaturg rerun {run_dir} --only scenes/0" in r.output
    r = invoke("history", run_dir, "scenes", "--no-diff")
    assert "stale: your edit of scenes/0 is kept though its inputs changed" in r.output
    r = invoke("rerun", run_dir, "--only", "scenes/0", "--seed", "11")
    assert r.exit_code == 0 and "2 model calls" in summary(r.output)  # the scene, the title
    assert "kept your edit" not in r.output
    assert "seed 11" in invoke("history", run_dir, "scenes", "--no-diff").output


def test_runs_are_named_as_by_runs_show(run_dir):
    out = run_dir.parent
    r = invoke("history", "last", "title", "--out", out)
    assert r.exit_code == 0 and "title: 1 version(s), current: 1" in r.output
    r = invoke("rerun", run_dir.name[-6:], "--out", out)
    assert r.exit_code == 0 and "0 model calls" in summary(r.output)
    r = invoke("edit", "nothing-like-it", "title", "--value", "x", "--out", out)
    assert r.exit_code == 2 and "no run 'nothing-like-it'" in r.output


def test_rerun_arguments_are_checked(run_dir):
    r = invoke("rerun", run_dir, "--seed", "3")
    assert r.exit_code == 2 and "--only STEP[/ITEM] or --from STEP" in r.output
    r = invoke("rerun", run_dir, "--only", "scenes/x")
    assert r.exit_code == 2 and "expected STEP or STEP/ITEM" in r.output
    r = invoke("rerun", run_dir, "--from", "plot")
    assert r.exit_code == 2 and "has no step 'plot'" in r.output
    r = invoke("rerun", run_dir, "--only", "title/2")
    assert r.exit_code == 2 and "not a fan-out" in r.output


def test_continue_from_the_command_line(run_dir):
    r = invoke("continue", run_dir, "cast")
    assert r.exit_code == 0, r.output
    assert "cast: version 2 (CONTINUE) is current: continued: " in r.output
    assert "stale until" in r.output
    r = invoke("continue", run_dir, "scenes")
    assert r.exit_code == 2 and "name the one to continue" in r.output
    r = invoke("continue", run_dir, "scenes", 0, "--seed", "5")
    assert r.exit_code == 0 and "scenes: version 2 (CONTINUE item 0)" in r.output
    r = invoke("history", run_dir, "scenes", "--no-diff")
    assert "CONTINUE" in r.output and "seed 5" in r.output


def test_templates_lists_each_steps_files_and_overrides(project, tmp_path):
    path = project(CHAIN, {**TEMPLATES, "part.j2": "a part", "cast2.j2": ""})
    (tmp_path / "prompts" / "cast.j2").write_text('{% include "part.j2" %} of {{ topic }}')
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "part.j2").write_text("my part")
    r = invoke("templates", path, "--templates", mine)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    at = lines.index("cast")
    assert lines[at + 1].split() == ["prompt", "cast.j2", str(tmp_path / "prompts" / "cast.j2")]
    assert lines[at + 2].split() == ["includes", "part.j2", str(mine / "part.j2"), "(override)"]
    assert lines[at + 3].split()[:2] == ["continue", "(inline"]
    assert "title" in lines and "(inline in the chain file)" in lines[lines.index("title") + 1]


def test_a_dry_run_is_rerun_dry(project, tmp_path):
    path = project(CHAIN, TEMPLATES)
    r = invoke("run", path, "--dry-run", "--out", tmp_path / "out", "-q")
    assert r.exit_code == 0, r.output
    (run_dir,) = (tmp_path / "out").iterdir()
    r = invoke("rerun", run_dir)
    assert r.exit_code == 0 and "0 model calls" in summary(r.output)
    r = invoke("rerun", run_dir, "--only", "title")
    assert "1 model calls" in summary(r.output)


def test_help_of_the_cowriting_commands_imports_no_model_library():
    code = textwrap.dedent("""
        import sys
        from dramaturg.cli import app
        for cmd in ("edit", "rerun", "continue", "history", "checkout", "templates"):
            try:
                app([cmd, "--help"])
            except SystemExit:
                pass
        heavy = [m for m in ("langchain_core", "llama_cpp", "PIL", "jinja2", "yaml", "sqlite3",
                             "networkx", "httpx") if m in sys.modules]
        print("HEAVY", heavy)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out
    assert out.count("Usage: ") == 6
