"""Running dramaturg commands on hostile files and folders, as an attacker's corpus needs.

The commands run in a subprocess (the CLI app, as the ``dramaturg`` script runs it), all of a
batch in one process to keep it quick, under a memory cap (``RLIMIT_AS``, 1 GiB: a command that
reads a 6 GB file whole dies of MemoryError instead of swapping the machine), each under a 30 s
alarm (a command that hangs, on a FIFO say, is reported as hung and the next one runs). A case
missing from the answer is one the process crashed on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MEMORY_CAP = 1 << 30
CASE_SECONDS = 30

DRIVER = r"""
import contextlib, io, json, signal, sys
seconds = int(sys.argv[1])
from dramaturg.cli import app

def alarm(*_):
    raise TimeoutError(f"the command hung for {seconds} s")

signal.signal(signal.SIGALRM, alarm)
for line in sys.stdin:
    args = json.loads(line)
    buf = io.StringIO()
    code = None
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                app(args, prog_name="dramaturg")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        buf.write(f"\nDRIVER: {type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
    print(json.dumps({"args": args, "code": code, "output": buf.getvalue()}), flush=True)
"""


def _cap() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(cases: list[list[str]], cwd: Path, env: dict[str, str] | None = None) -> list[Any]:
    """Each case's ``{"args", "code", "output"}``, in order; None for a case never answered."""
    lines = "".join(json.dumps([str(a) for a in case]) + "\n" for case in cases)
    full_env = {**os.environ, "DRAMATURG_CACHE_DIR": str(cwd / "cache"), **(env or {})}
    for name in ("VISUAL", "EDITOR", "DISPLAY", "WAYLAND_DISPLAY"):  # no editor, no browser
        full_env.pop(name, None)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", DRIVER, str(CASE_SECONDS)],
            input=lines,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60 + CASE_SECONDS * len(cases),
            check=False,
            env=full_env,
            preexec_fn=_cap,
        )
        stdout, died = proc.stdout, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        stdout = out.decode() if isinstance(out, bytes) else out
        died = "the process hung"
    answers = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    answers += [None] * (len(cases) - len(answers))
    for k, answer in enumerate(answers):
        if answer is None:
            answers[k] = {"args": cases[k], "code": None, "output": f"no answer: {died}"}
    return answers


def assert_clean(result: dict[str, Any], code: int, *says: str) -> None:
    """Exit ``code``, each of ``says`` in the output, no internal error, traceback or hang."""
    shown = f"dramaturg {' '.join(result['args'])}: exit {result['code']}\n{result['output']}"
    assert result["code"] == code, shown
    flat = result["output"].replace("\n", " ")
    for text in says:
        assert text in flat, shown
    for bad in ("internal error", "Traceback", "DRIVER:", "MemoryError"):
        assert bad not in result["output"], shown
    if code == 2:
        assert result["output"].lstrip().startswith("error: "), shown


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``root`` (links not followed, ``skip`` folders left out): its mode,
    size and modification time."""
    found = {}
    todo = [root]
    while todo:
        folder = todo.pop()
        for entry in os.scandir(folder):
            path = Path(entry.path)
            if path in skip:
                continue
            st = entry.stat(follow_symlinks=False)
            found[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
            if entry.is_dir(follow_symlinks=False):
                todo.append(path)
    return found
