"""Tampered run folders: run folders get shared, so every command that reads one treats it as
untrusted. A copy of a finished (and co-written) run is damaged one way per case: a 6 GB sparse
file in place of a record, a prompt, the call log or the manifest; ``steps/``, ``prompts/`` or
``versions/`` (or a file) a symbolic link out of the folder; a FIFO or a link to ``/dev/zero``
as a record; invalid, deep or ill-typed JSON. Every command (report, runs show, runs list,
history, edit, checkout, rerun, resume, export) then ends with a clear message and the right exit
code, in a subprocess under a 1 GiB memory cap with a 30 s alarm per command, and writes nothing
outside the run folder (tests/hostile_cli.py)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hostile_cli import assert_clean, run_cli, snapshot

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")

CHAIN = """name: tale
prompts: ../prompts
inputs:
  topic: {type: string, default: tides}
models:
  default: {provider: fake}
steps:
  title: {prompt: {text: "A title about {{ topic }}"}}
  scenes:
    for_each: "range(2)"
    prompt: {text: "Scene {{ item }} of {{ title }}"}
  pic: {kind: image, prompt: {text: "A picture of {{ title }}"}}
"""
SIX_GB = 6 * 1024**3
#: every command, on the run folder {run} (in {out}, the folder holding it; no desktop: `open`
#: prints the file it would open)
COMMANDS: dict[str, list[str]] = {
    "report": ["report", "{run}"],
    "show": ["runs", "show", "{run}"],
    "list": ["runs", "list", "--out", "{out}"],
    "history": ["history", "{run}", "title"],
    "edit": ["edit", "{run}", "title", "--value", "A new title"],
    "checkout": ["checkout", "{run}", "title", "1"],
    "rerun": ["rerun", "{run}"],
    "resume": ["resume", "{run}"],
    "export": ["export", "{run}", "--format", "report"],
    "export_all": ["export", "{run}"],
    "open": ["open", "{run}"],
}
EVERY = frozenset(COMMANDS)
#: what each command does on an intact run (the chain declares no exports)
OK: dict[str, tuple[int, tuple[str, ...]]] = dict.fromkeys(EVERY, (0, ())) | {
    "export_all": (2, ("declares no exports",))
}


def sparse(path: Path, size: int = SIX_GB) -> None:
    path.unlink(missing_ok=True)
    with path.open("wb") as fh:
        fh.truncate(size)


def move_out(run: Path, outside: Path, rel: str) -> None:
    """``run/rel`` moved to ``outside/rel`` and a symbolic link left in its place."""
    target = outside / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(run / rel, target)
    (run / rel).symlink_to(target)


def set_json(rel: str, change: Callable[[Any], Any]) -> Callable[[Path, Path], None]:
    def tamper(run: Path, outside: Path) -> None:
        path = run / rel
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return tamper


def set_key(rel: str, keys: tuple[str, ...], value: Any) -> Callable[[Path, Path], None]:
    def change(data: Any) -> Any:
        here = data
        for key in keys[:-1]:
            here = here[key]
        here[keys[-1]] = value
        return data

    return set_json(rel, change)


def raw(rel: str, text: str) -> Callable[[Path, Path], None]:
    def tamper(run: Path, outside: Path) -> None:
        (run / rel).write_text(text)

    return tamper


REFUSED = ("error: the run folder", "a run folder holds only folders and regular files")
LINKS: dict[str, Callable[[Path, Path], None]] = {
    "steps_linked": lambda run, out: move_out(run, out, "steps"),
    "prompts_linked": lambda run, out: move_out(run, out, "prompts"),
    "versions_linked": lambda run, out: move_out(run, out, "versions"),
    "items_linked": lambda run, out: move_out(run, out, "steps/scenes"),
    "record_linked": lambda run, out: move_out(run, out, "steps/title.json"),
    "record_fifo": lambda run, out: (
        (run / "steps/title.json").unlink() or os.mkfifo(run / "steps/title.json")
    ),
    "record_dev_zero": lambda run, out: (
        (run / "steps/title.json").unlink() or (run / "steps/title.json").symlink_to("/dev/zero")
    ),
    "dangling_steps": lambda run, out: (
        shutil.rmtree(run / "steps") or (run / "steps").symlink_to(out / "nothing-here")
    ),
}
#: case -> (tamper, {command: (exit code, words the output holds)})
CASES: dict[str, tuple[Callable[[Path, Path], None], dict[str, tuple[int, tuple[str, ...]]]]] = {
    **{
        name: (
            tamper,
            {c: (0, ()) if c == "list" else (2, REFUSED) for c in EVERY},
        )
        for name, tamper in LINKS.items()
    },
    "record_6gb": (
        lambda run, out: sparse(run / "steps/title.json"),
        {
            **dict.fromkeys(EVERY, (2, ("steps/title.json", "6,442,450,944 bytes"))),
            "report": (0, ()),
            "show": (0, ()),
            "list": (0, ()),
            "export": (0, ()),
            "resume": (0, ()),  # the record counts as missing: the step runs again
            "checkout": (0, ()),  # what repairs it: a version of the step
        },
    ),
    "item_6gb": (
        lambda run, out: sparse(run / "steps/scenes/1.json"),
        OK,
    ),
    "prompt_6gb": (
        lambda run, out: sparse(run / "prompts/title.txt"),
        OK,
    ),
    "image_6gb": (
        lambda run, out: sparse(run / "steps/pic.png"),
        OK,
    ),
    "call_log_6gb": (
        lambda run, out: sparse(run / "versions/calls.jsonl"),
        OK,
    ),
    "manifest_6gb": (
        lambda run, out: sparse(run / "manifest.json"),
        {
            **dict.fromkeys(EVERY, (2, ("manifest.json", "6,442,450,944 bytes"))),
            "list": (0, ()),
        },
    ),
    "snapshot_6gb": (
        lambda run, out: sparse(run / "chain.yaml"),
        {
            **dict.fromkeys(EVERY, (2, ("chain.yaml", "6,442,450,944 bytes"))),
            "report": (0, ()),
            "show": (0, ()),
            "list": (0, ()),
            "history": (0, ()),
            "export": (0, ()),
        },
    ),
    "manifest_not_json": (
        raw("manifest.json", '{"steps": {'),
        {**dict.fromkeys(EVERY, (2, ("manifest.json", "not valid JSON"))), "list": (0, ())},
    ),
    "manifest_deep": (
        raw("manifest.json", "[" * 100_000 + "]" * 100_000),
        {**dict.fromkeys(EVERY, (2, ("manifest.json",))), "list": (0, ())},
    ),
    "manifest_steps_a_list": (
        set_key("manifest.json", ("steps",), []),
        {**dict.fromkeys(EVERY, (2, ("manifest.json is damaged", "'steps'"))), "list": (0, ())},
    ),
    "manifest_step_named_outside": (
        set_json(
            "manifest.json",
            lambda m: {**m, "steps": {"../../x": m["steps"]["title"], **m["steps"]}},
        ),
        {**dict.fromkeys(EVERY, (2, ('steps["../../x"]\' is not a step name',))), "list": (0, ())},
    ),
    "manifest_time_a_word": (
        set_key("manifest.json", ("started",), "yesterday"),
        {**dict.fromkeys(EVERY, (2, ("'started' must be a time",))), "list": (0, ())},
    ),
    "manifest_usage_a_word": (
        set_key("manifest.json", ("steps", "title", "usage"), "lots"),
        {**dict.fromkeys(EVERY, (2, ("'steps.title.usage' must be a mapping",))), "list": (0, ())},
    ),
    "manifest_items_huge": (
        set_key("manifest.json", ("steps", "scenes", "items", "total"), 10**12),
        OK,  # the report reads at most max_items records, not 10**12
    ),
    "record_not_json": (
        raw("steps/title.json", "{"),
        {
            **dict.fromkeys(EVERY, (2, ("steps/title.json", "not valid JSON"))),
            "report": (0, ()),
            "show": (0, ()),
            "list": (0, ()),
            "export": (0, ()),
            "resume": (0, ()),
            "checkout": (0, ()),
        },
    ),
    "record_a_list": (
        raw("steps/title.json", "[1, 2]"),
        {
            **dict.fromkeys(EVERY, (2, ("steps/title.json", "is damaged"))),
            "report": (0, ()),
            "show": (0, ()),
            "list": (0, ()),
            "export": (0, ()),
            "resume": (0, ()),
            "checkout": (0, ()),
        },
    ),
    "version_damaged": (
        set_key("versions/steps/title/2.json", ("calls",), "x"),
        {
            **OK,
            **dict.fromkeys(
                ("history", "edit", "checkout", "rerun"),
                (2, ("version 2 of step 'title'", "is damaged (versions/steps/title/2.json)")),
            ),
        },
    ),
    "version_6gb": (
        lambda run, out: sparse(run / "versions/steps/title/2.json"),
        {
            **OK,
            **dict.fromkeys(
                ("history", "edit", "checkout", "rerun"),
                (2, ("version 2 of step 'title'", "is damaged")),
            ),
        },
    ),
    "version_index_damaged": (
        set_key("versions/index.json", ("steps", "title"), ["not", "numbers"]),
        OK,
    ),
    "call_log_garbage": (
        raw("versions/calls.jsonl", '{"key": 1}\n[[[\n{"key": "k", "step": [], "output": 1}\n'),
        OK,
    ),
}
#: image paths a shared run folder may hold: none may become a link or an image source
HOSTILE_IMAGES = [
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)//.png",
    "data:text/html,<script>alert(1)</script>",
    "https://tracker.example/pixel.png",
    "//tracker.example/pixel.png",
    "/etc/passwd",
    "../outside.png",
    "steps/../../outside.png",
    'steps/pic.png" onerror="alert(1)',
    "steps/pic.png#<script>",
    "steps\\..\\..\\outside.png",
    "manifest.json",
]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run with a fan-out and an image, edited once (it has versions)."""
    root = tmp_path_factory.mktemp("source")
    (root / "chains").mkdir()
    (root / "prompts").mkdir()
    (root / "chains" / "tale.yaml").write_text(CHAIN)
    made = run_cli([["run", "chains/tale.yaml", "--out", "runs", "--no-cache", "-q"]], root)
    assert made[0]["code"] == 0, made[0]["output"]
    (run,) = (root / "runs").iterdir()
    edited = run_cli([["edit", run, "title", "--value", "Salt"]], root)
    assert edited[0]["code"] == 0, edited[0]["output"]
    return run


@pytest.fixture(scope="module")
def tampered(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case with every command, each on its own copy of the run, all in one batch."""
    root = tmp_path_factory.mktemp("tampered")
    (root / "chains").mkdir()  # the run's chain file and prompt folder, where it ran
    shutil.copy(source.parent.parent / "chains" / "tale.yaml", root / "chains" / "tale.yaml")
    (root / "prompts").mkdir()
    jobs: list[tuple[str, str, Path]] = []
    for case, (tamper, _) in CASES.items():
        for command in sorted(EVERY):
            home = root / case / command
            outside = home / "outside"
            outside.mkdir(parents=True)
            (outside / "keep.txt").write_text("not the run's")
            shutil.copytree(source, home / "runs" / "run")
            tamper(home / "runs" / "run", outside)
            jobs.append((case, command, home))
    for k, value in enumerate(HOSTILE_IMAGES):
        home = root / "images" / str(k)
        (home / "outside").mkdir(parents=True)
        shutil.copytree(source, home / "runs" / "run")
        set_key("steps/pic.json", ("output", "image"), value)(home / "runs" / "run", home)
        jobs.append(("images", str(k), home))
    before = {home: _around(home) for _, _, home in jobs}
    inside = {home: snapshot(home / "runs" / "run") for case, _, home in jobs if case in LINKS}
    commands = []
    for case, command, home in jobs:
        template = COMMANDS[command] if case != "images" else COMMANDS["report"]
        run, out = home / "runs" / "run", home / "runs"
        commands.append([a.format(run=run, out=out) for a in template])
    results = run_cli(commands, root)
    return {
        "results": {
            (case, command): r for (case, command, _), r in zip(jobs, results, strict=True)
        },
        "homes": {(case, command): home for case, command, home in jobs},
        "written_outside": {
            (case, command): before[home] != _around(home) for case, command, home in jobs
        },
        "run_changed": {
            (case, command): inside[home] != snapshot(home / "runs" / "run")
            for case, command, home in jobs
            if case in LINKS
        },
    }


def _around(home: Path) -> dict[str, Any]:
    """Everything in a case's folder but the run folder itself."""
    return snapshot(home, skip=(home / "runs" / "run",))


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_command_on_a_tampered_run_folder_ends_clearly(tampered, case):
    _, expected = CASES[case]
    for command in sorted(EVERY):
        code, says = expected[command]
        if command == "open":  # it reads no file: it opens screenplay.html or report.html
            code, says = (2, REFUSED) if case in LINKS else (0, ())
        assert_clean(tampered["results"][(case, command)], code, *says)


@pytest.mark.parametrize("case", sorted(CASES))
def test_nothing_is_written_outside_a_tampered_run_folder(tampered, case):
    for command in sorted(EVERY):
        assert not tampered["written_outside"][(case, command)], f"{case}: {command}"
        outside = tampered["homes"][(case, command)] / "outside"
        assert (outside / "keep.txt").read_text() == "not the run's"


@pytest.mark.parametrize("case", ["record_6gb", "record_not_json", "record_a_list"])
def test_checkout_repairs_a_damaged_record(tampered, source, case):
    """The hint of a damaged record: a checkout of one of its versions writes it again."""
    result = tampered["results"][(case, "history")]
    assert f"dramaturg checkout {tampered['homes'][(case, 'history')] / 'runs' / 'run'}" in (
        result["output"].replace("\n", " ")
    )
    run = tampered["homes"][(case, "checkout")] / "runs" / "run"
    record = json.loads((run / "steps/title.json").read_text())
    first = json.loads((source / "versions/steps/title/1.json").read_text())
    assert record["output"] == first["output"] and record["version"] == 1


@pytest.mark.parametrize("case", sorted(LINKS))
def test_a_folder_holding_links_or_fifos_is_left_as_it_was(tampered, case):
    """Refused before anything is read or written: the run folder is unchanged too."""
    for command in sorted(EVERY):
        assert not tampered["run_changed"][(case, command)], f"{case}: {command}"


@pytest.mark.parametrize("k", range(len(HOSTILE_IMAGES)))
def test_a_hostile_image_path_is_never_linked_nor_inlined(tampered, k):
    from html.parser import HTMLParser

    result = tampered["results"][("images", str(k))]
    assert_clean(result, 0)
    run = tampered["homes"][("images", str(k))] / "runs" / "run"
    page = (run / "report.html").read_text()
    links: list[tuple[str, str]] = []
    tags: set[str] = set()
    attributes: set[str] = set()

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.add(tag)
            attributes.update(name for name, _ in attrs)
            links.extend((name, value or "") for name, value in attrs if name in ("href", "src"))

    Links().feed(page)
    assert links, "the report has no links at all"
    for name, value in links:
        if name == "src":
            assert value.startswith("data:image/"), value
        elif not value.startswith("#"):  # a file of the run folder, by a relative plain path
            assert ":" not in value and not value.startswith("/"), value
            assert ".." not in value.split("/") and "\\" not in value, value
            assert (run / value).is_file() and not (run / value).is_symlink(), value
    assert not tags & {"script", "iframe", "object", "embed"}, tags
    assert not [a for a in attributes if a.startswith("on")], attributes
