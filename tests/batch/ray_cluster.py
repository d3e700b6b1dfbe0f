"""A real two-node Ray cluster on loopback for the tests: ``ray start --head`` and a second
``ray start`` joining it, both on 127.0.0.2 (Ray keeps that address on loopback; it rewrites
127.0.0.1), token authentication on, usage stats off, a temp dir of its own. Stopped by the
PIDs of every process it started, ``ray::`` workers included."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

IP = "127.0.0.2"
#: the cluster's authentication token (one per test session)
TOKEN = secrets.token_hex(32)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((IP, 0))
        return int(s.getsockname()[1])


def ray_env(token: str) -> dict[str, str]:
    return {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
    }


class Cluster:
    def __init__(self, temp: Path) -> None:
        self.temp = temp
        self.port = _free_port()
        self.address = f"{IP}:{self.port}"
        self.env = ray_env(TOKEN)
        self.ray = str(Path(sys.executable).with_name("ray"))

    def _run(self, *args: str) -> None:
        env = {**os.environ, **self.env}
        done = subprocess.run(
            [self.ray, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"ray {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        """A head node and a second node."""
        self.start_head_only()
        self.add_node()

    def start_head_only(self) -> None:
        self._run(
            "start",
            "--head",
            f"--node-ip-address={IP}",
            f"--port={self.port}",
            "--num-cpus=1",
            f"--temp-dir={self.temp}",
            "--include-dashboard=false",
            "--disable-usage-stats",
        )

    def add_node(self) -> None:
        self._run(
            "start",
            f"--address={self.address}",
            f"--node-ip-address={IP}",
            "--num-cpus=1",
            "--disable-usage-stats",
        )

    def pids(self) -> list[int]:
        """This cluster's processes: those naming its temp dir or port, and their children
        (the ``ray::`` workers)."""
        roots = {
            pid
            for pid, cmd in commands().items()
            if pid != os.getpid() and (str(self.temp) in cmd or f":{self.port}" in cmd)
        }
        return below(roots)

    def raylets(self) -> set[int]:
        return {p for p in self.pids() if commands().get(p, "").split(" ")[0].endswith("raylet")}

    def stop(self) -> None:
        for _ in range(3):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)


def commands() -> dict[int, str]:
    """Every process's command line."""
    out = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                raw = (proc / "cmdline").read_bytes()
                out[int(proc.name)] = raw.replace(b"\0", b" ").decode(errors="replace")
    return out


def below(roots: set[int]) -> list[int]:
    """``roots`` and every process under them."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (proc / "stat").read_text()
                parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return sorted(found)


def kill_when(pids: Any, wanted: bytes, *, also: bool = False, wait: float = 60) -> list[int]:
    """Wait until a process of ``pids()`` has ``wanted`` in its command line, give it 0.5 s to
    take work, then SIGKILL it (``also``: and every process of ``pids()``). The pids killed."""
    deadline = time.time() + wait
    while time.time() < deadline:
        listed = pids()
        cmds = commands()
        hits = [p for p in listed if wanted in cmds.get(p, "").encode()]
        if hits:
            time.sleep(0.5)
            victims = list(pids()) if also else hits[:1]
            for pid in victims:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            return victims
        time.sleep(0.1)
    return []
