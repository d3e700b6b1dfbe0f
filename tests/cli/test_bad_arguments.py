"""A bad command-line argument is exit code 2 with a message saying what to give instead:
``export --format`` with a path or a name no exporter of the run writes, ``--templates`` that is
not a folder, a run folder that is a file, and the same kind of argument of the other commands
(``graph --format``, step names, ``--only``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dramaturg.cli import app
from screenplay_fixtures import make_run

CHAIN = """
name: tale
inputs:
  topic: {type: string, default: tides}
models: {default: {provider: fake}}
steps:
  title: {prompt: {text: "A title about {{ topic }}"}}
"""


def invoke(*args: object) -> tuple[int, str]:
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert "internal error" not in r.output and "Traceback" not in r.output, r.output
    return r.exit_code, r.output.replace("\n", " ")


@pytest.fixture(scope="module")
def screenplay_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("screenplay"))


@pytest.mark.parametrize(
    "bad", ["../x", "../../etc/passwd", "/tmp/x", "a/b", "", "pdf;rm", "x" * 200, ".pdf"]
)
def test_export_format_that_is_no_format_name_is_a_bad_argument(screenplay_run, bad):
    before = sorted(p.name for p in screenplay_run.iterdir())
    code, output = invoke("export", screenplay_run, "--format", bad)
    assert code == 2, output
    assert f"error: --format {bad!r} is not a format name" in output
    assert "hint: a format is a name such as fountain, pdf or report" in output
    assert sorted(p.name for p in screenplay_run.iterdir()) == before


@pytest.mark.parametrize("bad", ["nonsense", "docx", "PDFX"])
def test_export_format_no_exporter_writes_is_a_bad_argument(screenplay_run, bad):
    code, output = invoke("export", screenplay_run, "--format", "pdf", "--format", bad)
    assert code == 2, output
    assert f"error: unknown format {bad!r}: no exporter of this run writes it" in output
    assert "fountain" in output and "illustrated_pdf" in output and "report" in output


def test_export_formats_the_exporters_know_still_work(screenplay_run):
    code, output = invoke(
        "export", screenplay_run, "-f", "FDX", "-f", "final-draft", "-f", "report"
    )
    assert code == 2 and "'final-draft'" in output  # an alias the screenplay does not have
    code, output = invoke("export", screenplay_run, "-f", "FDX", "-f", "report")
    assert code == 0, output
    assert "screenplay.fdx" in output and "report.html" in output


def test_templates_that_are_not_a_folder_are_a_bad_argument(project, tmp_path):
    chain = project(CHAIN)
    afile = tmp_path / "afile.j2"
    afile.write_text("x")
    for folder, says in ((afile, "not a folder"), (tmp_path / "missing", "not found")):
        for command in ("run", "validate", "templates"):
            extra = ["--out", tmp_path / "out"] if command == "run" else []
            code, output = invoke(command, chain, "--templates", folder, *extra)
            assert code == 2, output
            assert f"error: --templates {folder}: {says}" in output
    assert not (tmp_path / "out").exists()
    code, output = invoke("run", chain, "--out", tmp_path / "runs", "-q")
    assert code == 0, output
    (run,) = (tmp_path / "runs").iterdir()
    code, output = invoke("rerun", run, "--templates", afile)
    assert code == 2 and f"--templates {afile}: not a folder" in output


@pytest.mark.parametrize("command", ["resume", "export", "report", "history", "edit"])
def test_a_run_folder_that_is_a_file_is_a_bad_argument(tmp_path, command):
    afile = tmp_path / "afile"
    afile.write_text("x")
    extra = {"history": ["title"], "edit": ["title", "--value", "x"]}.get(command, [])
    code, output = invoke(command, afile, *extra)
    assert code == 2, output
    assert "error: " in output and str(afile) in output


def test_the_other_commands_arguments_of_the_kind(project, tmp_path):
    chain = project(CHAIN)
    code, output = invoke("graph", chain, "--format", "../x")
    assert code == 2 and "unknown format '../x'" in output
    code, output = invoke("run", chain, "--out", tmp_path / "runs", "-q")
    (run,) = (tmp_path / "runs").iterdir()
    for args, says in (
        (["edit", run, "../x", "--value", "y"], "has no step '../x'"),
        (["history", run, "../../x"], "has no step '../../x'"),
        (["checkout", run, "../x", "1"], "has no step '../x'"),
        (["rerun", run, "--only", "../x"], "expected STEP or STEP/ITEM, got '../x'"),
        (["rerun", run, "--from", "../x"], "has no step '../x'"),
        (["continue", run, "../x"], "has no step '../x'"),
    ):
        code, output = invoke(*args)
        assert code == 2 and says in output, output
