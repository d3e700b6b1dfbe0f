"""The shipped chains and prompts work from an installed wheel, not only from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import dramaturg

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_chains_and_prompts_and_runs_them(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next((tmp_path / "dist").glob("dramaturg-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "dramaturg/_shipped/chains/hello.yaml" in names
    assert "dramaturg/_shipped/prompts/hello/title.j2" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = tmp_path / "runs"
    code = (
        "import dramaturg, sys; print(dramaturg.__file__);"
        "from dramaturg.cli import main; sys.argv = sys.argv[1:]; main()"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "dramaturg",
            "run",
            "hello",
            "--set",
            "topic=tides",
            "--dry-run",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(str(site))  # the wheel's copy ran
    assert str(ROOT) not in r.stdout.splitlines()[0]
    assert len(list(out.glob("*/steps/paragraphs.json"))) == 1
    assert dramaturg.__version__ in (site / "dramaturg" / "_version.py").read_text()
