"""The ``screenplay`` exporter: after a run, again with ``dramaturg export``, its options, its
errors, and the run's log."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dramaturg import ExportContext, ExportError, load_run
from dramaturg.cli import app
from dramaturg.screenplay import export as export_module
from dramaturg.screenplay.export import export
from dramaturg.screenplay.log import fence, redact
from dramaturg.screenplay.options import FORMATS, parse_options
from screenplay_fixtures import LOGLINE, TITLE, loaded, make_run, run_chain

ALL = [
    "screenplay.fountain",
    "screenplay.fdx",
    "screenplay.pdf",
    "screenplay.html",
    "screenplay-illustrated.pdf",
    "log.md",
]
PACKAGE = Path(export_module.__file__).parent


def test_a_chain_run_exports_every_format(tmp_path):
    result = run_chain(tmp_path)
    assert result.ok, result.failed_steps()
    assert result.exports == {"screenplay": ALL}
    for name in ALL:
        assert (result.run_dir / name).stat().st_size > 0
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["exports"] == {"screenplay": ALL}
    assert not list(result.run_dir.rglob("*.tmp"))
    fountain = (result.run_dir / "screenplay.fountain").read_text()
    assert "Author: Dramaturg and Test Writer" in fountain  # the chain's exporter options
    html = (result.run_dir / "screenplay.html").read_text()
    assert html.count("data:image/png;base64,") == 9  # FakeImageModel's pictures


def test_export_command_reexports_one_format(tmp_path):
    run = make_run(tmp_path)
    data = json.loads((run / "steps/title.json").read_text())
    data["output"] = "Pepper and Salt"
    (run / "steps/title.json").write_text(json.dumps(data))
    r = CliRunner().invoke(app, ["export", str(run), "--format", "fountain"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"screenplay: {run / 'screenplay.fountain'}"
    assert (run / "screenplay.fountain").read_text().startswith("Title: Pepper and Salt\n")
    assert not (run / "screenplay.pdf").exists()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["exports"] == {"screenplay": ["screenplay.fountain"]}
    r = CliRunner().invoke(app, ["export", str(run), "-f", "pdf", "-f", "illustrated-pdf"])
    assert r.exit_code == 0, r.output
    assert (run / "screenplay.pdf").exists() and (run / "screenplay-illustrated.pdf").exists()


def test_export_command_reports_a_missing_step(tmp_path):
    run = make_run(tmp_path, {"dialogue": None})
    r = CliRunner().invoke(app, ["export", str(run)])
    assert r.exit_code == ExportError.exit_code == 1
    assert "the screenplay needs the dialogue" in r.output and "Traceback" not in r.output


def test_missing_image_steps_still_export(tmp_path):
    result = loaded(tmp_path, images=False)
    files = export(ExportContext(result, result.run_dir))
    assert [f.name for f in files] == ALL
    assert "data:image" not in (result.run_dir / "screenplay.html").read_text()


def test_formats_and_names_from_options(tmp_path):
    result = loaded(tmp_path)
    ctx = ExportContext(result, result.run_dir, {"formats": ["fdx", "md"], "name": "salt-road"})
    assert [f.name for f in export(ctx)] == ["salt-road.fdx", "log.md"]
    ctx.formats = ["html", "txt"]  # the command line wins; other exporters' formats are ignored
    assert [f.name for f in export(ctx)] == ["salt-road.html"]


@pytest.mark.parametrize(
    ("options", "formats", "message"),
    [
        ({"colour": "red"}, None, "unknown option.*'colour'"),
        ({"formats": ["pdf", "docx"]}, None, "unknown format.*'docx'"),
        ({}, ["txt"], "unknown format.*'txt' in --format"),
        ({"illustrate": "pages"}, None, "option 'illustrate' is 'pages'"),
        ({"steps": {"scenes": "plot"}}, None, "unknown role 'scenes'"),
        ({"steps": "plot"}, None, "must map roles to step ids"),
        ({"name": "../up"}, None, "not a plain file name"),
        ({"scene_numbers": "yes"}, None, "must be true or false"),
    ],
)
def test_bad_options_are_reported(options, formats, message):
    with pytest.raises(ExportError, match=message):
        parse_options(options, formats)


def test_defaults():
    opts = parse_options({})
    assert opts.formats == list(FORMATS) and opts.illustrate is None  # follows the run
    assert opts.steps["dialogue"] == "dialogue" and opts.scene_numbers


def test_a_failing_format_does_not_stop_the_others(tmp_path, monkeypatch):
    def broken(sp, opts):
        raise ValueError("no ink")

    monkeypatch.setitem(export_module.RENDERERS, "pdf", broken)
    result = loaded(tmp_path)
    with pytest.raises(ExportError, match="pdf: ValueError: no ink") as info:
        export(ExportContext(result, result.run_dir))
    assert "written: screenplay.fountain, screenplay.fdx, screenplay.html" in str(info.value)
    assert (result.run_dir / "log.md").exists()


def test_writes_are_atomic(tmp_path, monkeypatch):
    result = loaded(tmp_path)
    target = result.run_dir / "screenplay.fountain"
    target.write_text("the previous version")

    def no_space(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(ExportError, match="No space left on device"):
        export(ExportContext(result, result.run_dir, {"formats": ["fountain"]}))
    assert target.read_text() == "the previous version"
    assert not list(result.run_dir.glob(".*.tmp"))


# -- the log ----------------------------------------------------------------------------------


def test_log_records_configuration_history_and_prompts(tmp_path):
    result = loaded(tmp_path)
    export(ExportContext(result, result.run_dir, {"formats": ["log"]}))
    log = (result.run_dir / "log.md").read_text()
    assert log.startswith(f"# Run log: {TITLE}\n")
    assert LOGLINE in log and '"structure": "freytag"' in log
    assert '"api_key": "***"' in log and "sk-XYZ" not in log
    assert '"model": "command-a"' in log
    history = log[log.index("## History") : log.index("## Prompts")]
    rows = [line for line in history.splitlines() if line.startswith("| 20")]
    assert [r.split("|")[3].strip() for r in rows] == [
        "`title`",
        "`characters`",
        "`plot`",
        "`places`",
        "`dialogue`",
        "`portraits`",
        "`illustrations`",
    ]
    assert "Edited after the run" not in log
    prompts = log[log.index("## Prompts") :]
    headings = [line for line in prompts.splitlines() if line.startswith("### ")]
    assert headings[:5] == [
        "### 1. `title`",
        "### 2. `characters`",
        "### 3. `plot`",
        "### 4. `places` item 0",
        "### 5. `places` item 1",
    ]
    assert len(headings) == 3 + 2 + 4 + 3 + 2
    assert "````text\nPrompt for title.\n```\nfenced\n```\n````" in prompts


def test_log_notes_outputs_edited_after_the_run(tmp_path):
    run = make_run(tmp_path)
    later = json.loads((run / "manifest.json").read_text())["ended"] + 3600
    os.utime(run / "steps/plot.json", (later, later))
    result = load_run(run)
    export(ExportContext(result, run, {"formats": ["log"]}))
    assert "Edited after the run (then exported again):" in (run / "log.md").read_text()
    assert "`steps/plot.json`" in (run / "log.md").read_text()


def test_log_only_needs_no_screenplay(tmp_path):
    result = loaded(tmp_path, outputs={"dialogue": None})
    files = export(ExportContext(result, result.run_dir, {"formats": ["log"]}))
    assert [f.name for f in files] == ["log.md"]


def test_redaction_and_fences():
    config = {"api_key": "sk", "apiKey": "sk", "max_tokens": 5, "nested": [{"token": "t"}]}
    assert redact(config) == {
        "api_key": "***",
        "apiKey": "***",
        "max_tokens": 5,
        "nested": [{"token": "***"}],
    }
    assert fence("a ``` b") == "````\na ``` b\n````"


# -- the package's own rules --------------------------------------------------------------------


def test_only_the_public_engine_api_is_used():
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert node.level <= 1, f"{path.name}: relative import out of the package"
                if node.level == 0 and module.startswith("dramaturg"):
                    assert module in ("dramaturg", "dramaturg.screenplay"), (path.name, module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("dramaturg."), (path.name, alias.name)


def test_modules_stay_small():
    for path in PACKAGE.glob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines < 400, f"{path.name} has {lines} lines"


def test_the_package_imports_lightly():
    code = (
        "import sys, dramaturg.screenplay as s; "
        "assert 'reportlab' not in sys.modules and 'screenplain' not in sys.modules; "
        "assert callable(s.to_fountain) and callable(s.render_html); "
        "print(sorted(s.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "render_pdf" in out.stdout
