"""Hostile input: every chain file in tests/hostile/chains (and a few generated ones, too large
to keep) is refused by ``dramaturg validate`` and ``dramaturg run`` alike with exit code 2, a
message naming the problem and its location, no traceback, and no file written anywhere.
Templates that try to exhaust the machine at render time fail their step cleanly; input files
are read with the same bounds as chain files.

The cases run in a subprocess (the CLI app, as the ``dramaturg`` script runs it; every case in one
process, which reports each as it goes), so that a crash or a hang fails the cases instead of the
test session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HOSTILE = Path(__file__).resolve().parent / "hostile"
CASES = sorted(p.stem for p in (HOSTILE / "chains").glob("*.yaml"))
HEAD = (
    "name: hostile\nprompts: ../prompts\ninputs:\n  topic: {type: string, default: storms}\n"
    "models:\n  default: {provider: fake}\n"
)

# for each chain file given: `validate CHAIN`, then `run CHAIN --out out/<case> ARGS...`; one
# JSON line per case, printed as soon as it is done
DRIVER = r"""
import contextlib, io, json, sys
from pathlib import Path
from dramaturg.cli import app
extra = sys.argv[1].split() if sys.argv[1] else []
for chain in sys.argv[2:]:
    results = []
    for args in (["validate", chain], ["run", chain, "--out", f"out/{Path(chain).stem}", *extra]):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                app(args, prog_name="dramaturg")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        results.append({"code": code, "output": buf.getvalue()})
    print(json.dumps({"chain": chain, "results": results}), flush=True)
"""


def cli_batch(cwd: Path, chains: list[str], extra: str = "") -> dict[str, list[dict[str, Any]]]:
    """chain -> [validate's, run's] exit code and output. A chain missing from the answer is
    one the process crashed or hung on (or did not reach)."""
    env = {**os.environ, "DRAMATURG_CACHE_DIR": str(cwd / "cache")}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", DRIVER, extra, *chains],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60 + 5 * len(chains),
            check=False,
            env=env,
        )
        stdout, died = proc.stdout, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        stdout = out.decode() if isinstance(out, bytes) else out
        died = "it hung"
    answers = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    found = {a["chain"]: a["results"] for a in answers}
    for chain in chains:
        found.setdefault(chain, [{"code": None, "output": f"no answer: {died}"}] * 2)
    return found


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
    }


def expectation(path: Path) -> tuple[str, str]:
    head = path.read_bytes().decode("utf-8", "replace").splitlines()[:2]
    expect = head[0].removeprefix("# expect: ")
    at = head[1].removeprefix("# at: ")
    return expect, at


def generated(case: str) -> bytes:
    """The chain file of a generated case (too large to keep in the corpus)."""
    if case == "huge_value":  # a 10 MB value: refused before it is parsed
        return (HEAD + "description: '" + "x" * 10_000_000 + "'\nsteps: {}\n").encode()
    if case == "deep_flow":  # libyaml's composer would overflow the C stack: a segfault
        return (HEAD + "description: " + "[" * 100_000 + "]" * 100_000 + "\n").encode()
    if case == "deep_block":
        return (HEAD + "x:\n" + "".join("  " * i + "- \n" for i in range(1, 400))).encode()
    if case == "wide":  # 150,000 keys in one flow mapping
        return (HEAD + "x: {" + ", ".join(f"k{i}: {i}" for i in range(150_000)) + "}\n").encode()
    assert case == "huge_template"  # a template file of 10 MB
    return (HEAD + "steps:\n  a: {prompt: big.j2}\n").encode()


GENERATED = {
    "huge_value": ("bytes; the limit is 5,242,880", ":1:1"),
    "deep_flow": ("nesting deeper than 64 levels", ":7:"),
    "deep_block": ("nesting deeper than 64 levels", ":71:"),
    "wide": ("expands to more than 100,000 values", ":7:"),
    "huge_template": ("characters; the limit is 5,242,880 bytes", "prompts/big.j2:1"),
}


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case of the corpus and every generated one through the CLI, in a copy of
    tests/hostile (symlinks as symlinks) watched for any file written."""
    root = tmp_path_factory.mktemp("hostile") / "hostile"
    shutil.copytree(HOSTILE, root, symlinks=True)
    for case in GENERATED:
        (root / "chains" / f"gen_{case}.yaml").write_bytes(generated(case))
    (root / "prompts" / "big.j2").write_text("{{ topic }} " + "lorem ipsum " * 900_000)
    before = snapshot(root.parent)
    chains = sorted(f"chains/{p.name}" for p in (root / "chains").glob("*.yaml"))
    results = cli_batch(root, chains)
    return {"root": root, "results": results, "written": snapshot(root.parent) != before}


def assert_refused(refused: dict[str, Any], chain: str, expect: str, at: str) -> None:
    for command, result in zip(("validate", "run"), refused["results"][chain], strict=True):
        output = result["output"]
        assert result["code"] == 2, f"{command} {chain}: exit {result['code']}\n{output}"
        assert expect in output, f"{command} {chain}:\n{output}"
        assert at in output.replace("\n", ""), f"{command} {chain}: no {at} in\n{output}"
        assert "Traceback" not in output and "internal error" not in output, output
    # nothing written: no run folder, no step cache, no file anywhere around
    root = refused["root"]
    assert not (root / "out").exists() and not (root / "cache").exists()
    assert not refused["written"], "a file was written or changed around the corpus"


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_chain_file_is_refused_with_a_location(refused, case):
    chain = f"chains/{case}.yaml"
    expect, at = expectation(HOSTILE / chain)
    assert_refused(refused, chain, expect, at)


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_generated_hostile_files_are_refused(refused, case):
    expect, at = GENERATED[case]
    assert_refused(refused, f"chains/gen_{case}.yaml", expect, at)


def test_no_hostile_file_ran_code(refused):
    assert refused["results"]["chains/python_tag.yaml"][0]["code"] == 2
    assert not (refused["root"] / "pwned").exists() and not Path("pwned").exists()


# -- bombs that only go off when a template renders ----------------------------------------------
BOMBS = {
    "power": ("{{ 9 ** 999999999 }}", "too large to compute"),
    "repeat": ("{{ 'a' * 10 ** 12 }}", "would hold 1,000,000,000,000"),
    "doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "a joined string would hold",
    ),
    "loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "range() gave more than 1,000,000 items",
    ),
    "padding": ("{{ topic | center(999999999) }}", "a width 999,999,999 is too large"),
    "format": ("{{ '%0999999999d' % 1 }}", "a format width 999,999,999 is too large"),
    "output": ("{% for i in range(1000) %}{{ 'x' * 100000 }}{% endfor %}", "exceeds 10,000,000"),
    "macro": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursed too deeply"),
    "include": ('{% include "self.j2" %}', "self.j2:1: the template recursed too deeply"),
    "lipsum": ("{{ lipsum(10 ** 6) }}", "lipsum's size"),
}


@pytest.fixture(scope="module")
def exploded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Every bomb's chain through the CLI (validate, then run), in one process."""
    root = tmp_path_factory.mktemp("bombs")
    (root / "chains").mkdir()
    (root / "prompts").mkdir()
    (root / "prompts" / "self.j2").write_text('{% include "self.j2" %}')
    for bomb, (template, _) in BOMBS.items():
        (root / "prompts" / f"{bomb}.j2").write_text(template)
        steps = f'steps:\n  a: {{prompt: {bomb}.j2}}\n  b: {{prompt: {{text: "{{{{ a }}}}"}}}}\n'
        (root / "chains" / f"{bomb}.yaml").write_text(HEAD + steps)
    chains = [f"chains/{bomb}.yaml" for bomb in BOMBS]
    return root, cli_batch(root, chains, extra="--no-cache --quiet")


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_a_template_bomb_fails_its_step_cleanly(exploded, bomb):
    root, results = exploded
    _, says = BOMBS[bomb]
    validate, run = results[f"chains/{bomb}.yaml"]
    assert validate["code"] == 0, validate["output"]
    assert run["code"] == 1, run["output"]
    output = run["output"].replace("\n", "")
    assert says in output and (f"{bomb}.j2" in output or bomb == "include"), output
    assert "Traceback" not in output and "internal error" not in output
    (run_dir,) = (root / "out" / bomb).iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["steps"]["a"]["status"] == "failed"
    assert manifest["steps"]["b"]["status"] == "skipped"
    assert manifest["usage"].get("calls", 0) == 0  # no model was called


# -- fan-outs from data are bounded too ------------------------------------------------------------
def test_a_fan_out_over_too_many_items_fails_its_step(project, tmp_path):
    from dramaturg import FakeChatModel, load_chain

    text = """
    name: wide
    inputs:
      n: {type: integer, default: 5}
    models: {default: {provider: fake}}
    steps:
      each: {for_each: "range(n)", max_items: 4, prompt: {text: "{{ item }}"}}
      many: {for_each: "range(n * 100000)", prompt: {text: "{{ item }}"}}
    """
    fake = FakeChatModel()
    result = load_chain(project(text)).run({}, models={"default": fake}, out=None)
    assert "gave 5 items; the step allows 4 (max_items)" in (result.steps["each"].error or "")
    assert "gave 500,000 items; the step allows 1,000" in (result.steps["many"].error or "")
    assert fake.calls == []
    result = load_chain(project(text.replace("default: 5", "default: 4"), name="ok")).run(
        {}, models={"default": fake}, out=None
    )
    assert len(result["each"]) == 4


# -- input files are read as carefully as chain files ----------------------------------------------
INPUTS_CHAIN = """
name: inputs
inputs:
  names: {type: list, default: []}
models: {default: {provider: fake}}
steps:
  a: {prompt: {text: "{{ names | length }}"}}
"""


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        (
            "bomb.yaml",
            "names: [&a [x, x, x, x, x, x, x, x, x], &b [*a, *a, *a, *a, *a, *a, *a, *a, *a], "
            "&c [*b, *b, *b, *b, *b, *b, *b, *b, *b], &d [*c, *c, *c, *c, *c, *c, *c, *c, *c], "
            "&e [*d, *d, *d, *d, *d, *d, *d, *d, *d], &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]]\n",
            "expands to more than 100,000 values",
        ),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nests deeper"),
        ("deep.yaml", "names: " + "[" * 100_000 + "]" * 100_000, "nesting deeper than 64"),
        ("binary.yaml", "names: [caf\udce9]", "not valid UTF-8"),
    ],
)
def test_a_hostile_inputs_file_is_refused(tmp_path, name, content, says):
    from typer.testing import CliRunner

    from dramaturg.cli import app

    (tmp_path / "chains").mkdir()
    (tmp_path / "prompts").mkdir()
    chain = tmp_path / "chains" / "inputs.yaml"
    chain.write_text(INPUTS_CHAIN)
    inputs = tmp_path / name
    inputs.write_bytes(content.encode("utf-8", "surrogateescape"))
    for args in (["--inputs", str(inputs)], ["--set", "names=" + content.partition(": ")[2]]):
        if name != "bomb.yaml" and args[0] == "--set":
            continue
        r = CliRunner().invoke(app, ["run", str(chain), "--out", str(tmp_path / "out"), *args])
        assert r.exit_code == 2, r.output
        assert says in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


def test_every_corpus_file_says_what_it_expects():
    for case in CASES:
        expect, at = expectation(HOSTILE / "chains" / f"{case}.yaml")
        assert expect and re.match(r"^[\w./-]+:\d+$", at), case
    assert len(CASES) >= 45
    assert (HOSTILE / "prompts" / "link_out.j2").is_symlink()
