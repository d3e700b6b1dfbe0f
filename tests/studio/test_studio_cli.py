"""``dramaturg studio`` as a writer starts it: its URL printed, answering at once, Ctrl-C
stopping it cleanly; a port in use is a clear error."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BROWSER": "false"}  # never a real browser, even if asked
    return subprocess.Popen(
        [sys.executable, "-m", "dramaturg", "studio", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_the_studio_prints_its_url_answers_and_stops_on_ctrl_c(
    runs: Callable[[], Path],
) -> None:
    run = runs()
    proc = start(str(run), "--port", "0", "--no-browser")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=[\w-]+", line)
        assert found, line
        with httpx.Client(follow_redirects=True, timeout=10) as client:
            page = client.get(found.group(0))
        assert page.status_code == 200
        assert run.name in page.text  # a run folder given: the studio opens on it
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err  # Ctrl-C, as for every command
    assert "studio stopped" in out
    assert "Traceback" not in err


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = str(taken.getsockname()[1])
        proc = start(str(tmp_path), "--port", port, "--no-browser")
        _out, err = proc.communicate(timeout=30)
    finally:
        taken.close()
    assert proc.returncode == 2
    assert f"127.0.0.1:{port}" in err and "--port" in err
    assert "Traceback" not in err


def test_another_address_warns_that_other_machines_can_reach_it(tmp_path: Path) -> None:
    proc = start(str(tmp_path), "--host", "127.0.0.3", "--port", "0", "--no-browser")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://127.0.0.3:" in line
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "warning" in err and "other machines" in err
