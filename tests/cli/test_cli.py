"""The command line: exit codes, messages, outputs, interrupt, and a light --help."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jsonschema
import yaml
from typer.testing import CliRunner

from dramaturg.cli import app

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "chains" / "hello.yaml"
runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_dry_run_of_the_example_chain(tmp_path):
    r = invoke("run", str(HELLO), "--set", "topic=storms", "--dry-run", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    runs = list(tmp_path.iterdir())
    assert len(runs) == 1 and "-hello-" in runs[0].name
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert manifest["status"] == "done"
    assert set(manifest["steps"]) == {"title", "premises", "paragraphs"}
    assert manifest["inputs"] == {"topic": "storms", "ideas": 3}
    assert (runs[0] / "prompts" / "title.txt").read_text().startswith("=== system ===")
    assert "done:" in r.stdout


def test_inputs_file_and_set_are_coerced(tmp_path):
    inputs = tmp_path / "in.yaml"
    inputs.write_text("topic: tides\nideas: 2\n")
    r = invoke(
        "run",
        str(HELLO),
        "--inputs",
        str(inputs),
        "--set",
        "ideas=5",
        "--dry-run",
        "--out",
        str(tmp_path / "o"),
    )
    assert r.exit_code == 0, r.output
    manifest = json.loads(next((tmp_path / "o").glob("*/manifest.json")).read_text())
    assert manifest["inputs"] == {"topic": "tides", "ideas": 5}


def test_bad_input_exits_2_with_a_message_and_no_run_folder(tmp_path):
    r = invoke(
        "run",
        str(HELLO),
        "--set",
        "topic=x",
        "--set",
        "ideas=lots",
        "--dry-run",
        "--out",
        str(tmp_path),
    )
    assert r.exit_code == 2
    assert "input 'ideas': expected an integer" in r.output
    assert "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []
    r = invoke("run", str(HELLO), "--dry-run", "--out", str(tmp_path))
    assert r.exit_code == 2 and "missing required input 'topic'" in r.output
    r = invoke("run", str(HELLO), "--set", "nonsense", "--dry-run")
    assert r.exit_code == 2 and "expected NAME=VALUE" in r.output


def test_failed_run_exits_1_and_names_the_step(project, tmp_path):
    path = project("""
    name: failing
    models: {default: {provider: fake}}
    steps:
      a: {prompt: {text: "x"}, parse: {type: regex, pattern: "(?P<n>never-matches-\\\\d{9})"},
          attempts: 1}
      b: {prompt: {text: "y"}}
    """)
    r = invoke("run", str(path), "--out", str(tmp_path / "out"))
    assert r.exit_code == 1
    assert "step 'a'" in r.output and "could not be parsed" in r.output
    assert "Traceback" not in r.output
    run_dir = next((tmp_path / "out").iterdir())
    assert json.loads((run_dir / "steps/b.json").read_text())["status"] == "done"


def test_model_override_option(tmp_path):
    r = invoke(
        "run", str(HELLO), "--set", "topic=x", "--model", "default=fake:m2", "--out", str(tmp_path)
    )
    assert r.exit_code == 0, r.output
    manifest = json.loads(next(tmp_path.glob("*/manifest.json")).read_text())
    assert manifest["models"]["default"]["provider"] == "fake"
    assert manifest["models"]["default"]["model"] == "m2"
    r = invoke(
        "run", str(HELLO), "--set", "topic=x", "--model", "writer=fake", "--out", str(tmp_path)
    )
    assert r.exit_code == 2 and "no model named 'writer'" in r.output


def test_validate_graph_schema():
    r = invoke("validate", str(HELLO))
    assert r.exit_code == 0 and "valid chain 'hello'" in r.output
    assert "paragraphs <- title, premises" in r.output
    r = invoke("graph", str(HELLO))
    assert r.exit_code == 0
    assert r.output.startswith("flowchart TD")
    assert "premises --> paragraphs" in r.output
    r = invoke("graph", str(HELLO), "--format", "dot")
    assert r.exit_code == 0 and '"premises" -> "paragraphs";' in r.output
    r = invoke("graph", str(HELLO), "--format", "png")
    assert r.exit_code == 2
    r = invoke("schema")
    schema = json.loads(r.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    # the shipped example validates against the published schema; a typo does not
    data = yaml.safe_load(HELLO.read_text())
    jsonschema.validate(data, schema)
    data["models"]["other"] = "cohere:command-a-03-2025"
    data["steps"]["premises"]["parse"] = {"type": "sections", "fields": ["Place"]}
    jsonschema.validate(data, schema)
    data["steps"]["title"]["promt"] = "x"
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        assert "promt" in exc.message
    else:
        raise AssertionError("schema accepted an unknown key")


def test_shipped_chain_by_name():
    r = invoke("validate", "hello")
    assert r.exit_code == 0, r.output


def test_invalid_chain_exits_2_without_traceback(project):
    path = project("name: x\nsteps:\n  a:\n    prompt: {text: '{{ nope }}'}\n")
    r = invoke("validate", str(path))
    assert r.exit_code == 2
    assert "template variable 'nope'" in r.output
    assert f"{path}:4" in r.output.replace("\n", "")
    assert "Traceback" not in r.output
    r = invoke("--debug", "validate", str(path))
    assert "Traceback" in r.output


def test_help_imports_no_model_library():
    code = textwrap.dedent("""
        import sys
        from dramaturg.cli import app
        try:
            app(["--help"])
        except SystemExit:
            pass
        for cmd in ("run", "validate", "graph", "schema"):
            try:
                app([cmd, "--help"])
            except SystemExit:
                pass
        heavy = [m for m in ("langchain_core", "langchain", "langchain_cohere", "cohere",
                             "llama_cpp", "reportlab", "PIL", "diffusers", "torch", "httpx",
                             "networkx", "jinja2", "yaml", "screenplain")
                 if m in sys.modules]
        print("HEAVY", heavy)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out


def test_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "dramaturg", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "validate" in out


def test_ctrl_c_stops_cleanly_and_keeps_finished_steps(project, tmp_path):
    path = project("""
    name: slow
    models: {default: {provider: fake}}
    steps:
      first: {prompt: {text: "quick"}}
      second: {prompt: {text: "slow {{ first }}"}}
      third: {prompt: {text: "after {{ second }}"}}
    """)
    script = textwrap.dedent(f"""
        import sys
        from dramaturg import FakeChatModel, load_chain
        fake = FakeChatModel(latency_fn=lambda c: 0.0 if c.step == "first" else 30)
        def on_event(e):
            if e["event"] == "step_started" and e["step"] == "second":
                print("READY", flush=True)
        try:
            load_chain({str(path)!r}).run({{}}, models={{"default": fake}},
                                          out={str(tmp_path / "out")!r}, on_event=on_event)
        except KeyboardInterrupt:
            print("INTERRUPTED", flush=True)
            sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "READY"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=20)[0]
    assert proc.returncode == 130 and "INTERRUPTED" in rest
    run_dir = next((tmp_path / "out").iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["steps"]["first"]["status"] == "done"
    assert manifest["steps"]["second"]["status"] == "cancelled"
    assert manifest["steps"]["third"]["status"] == "pending"
    assert json.loads((run_dir / "steps/first.json").read_text())["status"] == "done"


def test_cli_ctrl_c_exits_130_and_says_where_the_work_is(tmp_path):
    chain = tmp_path / "c.yaml"
    chain.write_text(
        textwrap.dedent("""
        name: c
        models: {default: {provider: fake, extra: {latency: 30}}}
        steps:
          first: {prompt: {text: x}, options: {extra: {latency: 0}}}
          second: {prompt: {text: "{{ first }}"}}
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "dramaturg", "run", str(chain), "--out", str(tmp_path / "out")],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    seen = ""
    while "> second" not in seen:
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=20)[1]
    assert proc.returncode == 130
    assert "interrupted; finished steps are kept in" in err
    assert "Traceback" not in err
    run_dir = next((tmp_path / "out").iterdir())
    assert json.loads((run_dir / "steps/first.json").read_text())["status"] == "done"


def test_models_lists_providers_and_never_prints_keys(monkeypatch):
    secret = "co-SECRET-KEY-0123456789"
    monkeypatch.setenv("COHERE_API_KEY", secret)
    monkeypatch.delenv("STABILITY_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    r = invoke("models")
    assert r.exit_code == 0
    rows = {line.split()[0]: line for line in r.output.splitlines()[1:] if line.strip()}
    for name in ("local", "cohere", "langchain", "fake", "stability", "diffusers", "sketch"):
        assert name in rows, r.output
    assert "(default)" in rows["local"] and "(default)" in rows["sketch"]
    assert " set " in rows["cohere"] and "command-a-03-2025" in rows["cohere"]
    assert "not set (STABILITY_API_KEY)" in rows["stability"]
    assert secret not in r.output
