"""The test install is locked: ``constraints.txt`` pins every package the test extras need, so a
fresh machine on any day tests the same versions (``.ci/lock`` refreshes it)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("local", "dev", "diffusers", "ray", "studio")  # the README's test command


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock() -> dict[str, str]:
    pins = {}
    for raw in (ROOT / "constraints.txt").read_text().splitlines():
        line = raw.split("#")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonical(name)] = pinned
    return pins


def needed() -> set[str]:
    """Every distribution that dramaturg[local,dev,diffusers] needs here, transitively."""
    seen: set[str] = set()
    todo = [(canonical("dramaturg"), frozenset(EXTRAS))]
    while todo:
        name, extras = todo.pop()
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:  # not for this platform: its marker kept it out
            continue
        for raw in requires:
            req = Requirement(raw)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker and not any(req.marker.evaluate(env) for env in envs):
                continue
            dep = canonical(req.name)
            if dep not in seen:
                seen.add(dep)
                todo.append((dep, frozenset(req.extras)))
    return seen


def test_the_lock_pins_everything_the_test_install_needs():
    missing = sorted(needed() - set(lock()) - {"pip"})
    assert not missing, f"not in constraints.txt (run .ci/lock): {missing}"


def test_the_installed_versions_are_the_locked_ones():
    wrong = []
    for name, pinned in lock().items():
        try:
            installed = version(name).split("+")[0]
        except PackageNotFoundError:
            continue  # e.g. a platform-specific package of another machine
        if installed != pinned:
            wrong.append(f"{name} {installed} (locked: {pinned})")
    assert not wrong, "install the tests with -c constraints.txt: " + ", ".join(wrong)


def test_the_user_install_keeps_ranges():
    text = (ROOT / "pyproject.toml").read_text()
    deps = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "==" not in deps  # the README's first command takes no lock
