"""Special files as the files a user names: ``/dev/zero``, ``/dev/urandom``, a FIFO, a folder, a
symbolic link to one of those and a 6 GB sparse file, as the chain file (``validate``, ``run``,
``templates``), as ``run --inputs``, as ``edit --file`` and as a template. Each is refused with
exit code 2 and a message naming the file and what it is, in a subprocess under a 1 GiB memory
cap and a 30 s alarm per command, and nothing is written anywhere (tests/hostile_cli.py)."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from hostile_cli import assert_clean, run_cli, snapshot

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")

CHAIN = """name: ok
prompts: ../prompts
inputs:
  topic: {type: string, default: tides}
models:
  default: {provider: fake}
steps:
  title: {prompt: {text: "A title about {{ topic }}"}}
"""
#: the special file -> what the message says it is
SAYS = {
    "dev_zero": "it is a device",
    "dev_urandom": "it is a device",
    "fifo": "it is a FIFO (named pipe), not a regular file",
    "folder": "it is a folder, not a regular file",
    "link_zero": "it is a device",
    "link_fifo": "it is a FIFO",
    "link_folder": "it is a folder",
    "sparse": "it is 6,442,450,944 bytes; the limit is 5,242,880",
}


def make_special(root: Path) -> dict[str, Path]:
    """The special files of the corpus, under ``root/special``."""
    folder = root / "special"
    folder.mkdir()
    os.mkfifo(folder / "fifo")
    (folder / "folder").mkdir()
    sparse = folder / "sparse.yaml"
    with sparse.open("wb") as fh:
        fh.truncate(6 * 1024**3)  # a hole: no disk used, 6 GB to whoever reads it whole
    found = {
        "fifo": folder / "fifo",
        "folder": folder / "folder",
        "sparse": sparse,
        "dev_zero": Path("/dev/zero"),
        "dev_urandom": Path("/dev/urandom"),
    }
    for name, target in (("zero", "/dev/zero"), ("fifo", "fifo"), ("folder", "folder")):
        (folder / f"link_{name}").symlink_to(target)
        found[f"link_{name}"] = folder / f"link_{name}"
    return {k: v for k, v in found.items() if v.is_symlink() or v.exists()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project with a finished run, the special files, and every command on each of them."""
    root = tmp_path_factory.mktemp("special")
    (root / "chains").mkdir()
    (root / "prompts").mkdir()
    (root / "chains" / "ok.yaml").write_text(CHAIN)
    (made,) = run_cli([["run", "chains/ok.yaml", "--out", "runs", "--no-cache", "-q"]], root)
    assert made["code"] == 0, made["output"]
    (run,) = (root / "runs").iterdir()
    special = make_special(root)
    for name in ("fifo", "zero", "sparse"):  # templates: a FIFO, a link to a device, 6 GB
        target = {"fifo": "fifo", "zero": "/dev/zero", "sparse": "sparse.yaml"}[name]
        link = root / "prompts" / f"{name}.j2"
        if name == "fifo":
            os.mkfifo(link)
        elif name == "sparse":
            with link.open("wb") as fh:
                fh.truncate(6 * 1024**3)
        else:
            link.symlink_to(target)
        (root / "chains" / f"tpl_{name}.yaml").write_text(
            CHAIN.replace('{text: "A title about {{ topic }}"}', f"{name}.j2")
        )
    before = snapshot(root, skip=(root / "cache",))
    cases: list[list[str]] = []
    for path in special.values():
        cases += [
            ["validate", path],
            ["run", path, "--out", "out"],
            ["templates", path],
            ["run", "chains/ok.yaml", "--inputs", path, "--out", "out"],
            ["edit", run, "title", "--file", path],
        ]
    cases += [["validate", f"chains/tpl_{name}.yaml"] for name in ("fifo", "zero", "sparse")]
    cases += [["run", f"chains/tpl_{name}.yaml", "--out", "out"] for name in ("fifo", "zero")]
    results = run_cli(cases, root)
    return {
        "root": root,
        "special": special,
        "results": {tuple(r["args"]): r for r in results},
        "before": before,
        "after": snapshot(root, skip=(root / "cache",)),
    }


def _result(corpus: dict[str, Any], *args: Any) -> dict[str, Any]:
    return corpus["results"][tuple(str(a) for a in args)]


@pytest.mark.parametrize("name", sorted(SAYS))
def test_a_special_file_as_the_chain_file_is_refused(corpus, name):
    path = corpus["special"].get(name)
    if path is None:
        pytest.skip(f"no {name} here")
    for command in ("validate", "run", "templates"):
        args = [command, path, *(["--out", "out"] if command == "run" else [])]
        assert_clean(_result(corpus, *args), 2, f"{path}:1:1: cannot read the file", SAYS[name])


@pytest.mark.parametrize("name", sorted(SAYS))
def test_a_special_file_as_the_inputs_file_is_refused(corpus, name):
    path = corpus["special"].get(name)
    if path is None:
        pytest.skip(f"no {name} here")
    result = _result(corpus, "run", "chains/ok.yaml", "--inputs", path, "--out", "out")
    assert_clean(result, 2, f"inputs file {path} cannot be used", SAYS[name])


@pytest.mark.parametrize("name", sorted(SAYS))
def test_a_special_file_as_edit_file_is_refused(corpus, name):
    path = corpus["special"].get(name)
    if path is None:
        pytest.skip(f"no {name} here")
    (run,) = (corpus["root"] / "runs").iterdir()
    result = _result(corpus, "edit", run, "title", "--file", path)
    assert_clean(result, 2, f"cannot read --file {path}", SAYS[name].replace("5,242,880", ""))


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("fifo", "template 'fifo.j2' not found"),
        ("zero", "template 'zero.j2' not found"),
        ("sparse", "the template is more than 5,242,880 characters"),
    ],
)
def test_a_special_file_as_a_template_is_refused(corpus, name, says):
    for command in ("validate", "run"):
        if command == "run" and name == "sparse":
            continue
        args = [command, f"chains/tpl_{name}.yaml", *(["--out", "out"] if command == "run" else [])]
        assert_clean(_result(corpus, *args), 2, says)


def test_nothing_is_written_for_any_special_file(corpus):
    assert not (corpus["root"] / "out").exists()
    assert corpus["after"] == corpus["before"]


# -- the helper itself -----------------------------------------------------------------------
def test_read_bytes_reads_a_regular_file_whole_and_bounds_it(tmp_path):
    from dramaturg.safeio import FileRefused, read_bytes

    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 1000)
    assert read_bytes(path, 1000) == b"x" * 1000
    with pytest.raises(FileRefused, match="it is 1,000 bytes; the limit is 999") as err:
        read_bytes(path, 999)
    assert err.value.errno == errno.EFBIG and isinstance(err.value, OSError)
    assert read_bytes(tmp_path / "a.txt", 10_000) == b"x" * 1000
    (tmp_path / "empty").write_bytes(b"")
    assert read_bytes(tmp_path / "empty", 10) == b""


def test_read_bytes_refuses_a_file_larger_than_it_claims(tmp_path):
    """/proc files claim a size of 0 and hold more: the bound holds on what is read."""
    from dramaturg.safeio import FileRefused, read_bytes

    status = Path("/proc/self/status")
    if not status.is_file():
        pytest.skip("no /proc")
    with pytest.raises(FileRefused, match="holds more than 10 bytes"):
        read_bytes(status, 10)


def test_read_bytes_opens_a_fifo_without_waiting_for_a_writer(tmp_path):
    from dramaturg.safeio import FileRefused, read_bytes

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done: list[BaseException] = []

    def read() -> None:
        try:
            read_bytes(fifo, 100)
        except BaseException as exc:
            done.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "read_bytes waited on the FIFO"
    assert isinstance(done[0], FileRefused) and "FIFO" in str(done[0])


def test_read_bytes_checks_the_file_it_opened_not_only_the_name(tmp_path, monkeypatch):
    """A FIFO swapped in between the check and the open: the open does not wait (O_NONBLOCK),
    and what was opened is refused."""
    from dramaturg.safeio import FileRefused, read_bytes

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    real_stat = os.stat
    regular = real_stat(Path(__file__))
    monkeypatch.setattr(os, "stat", lambda *a, **k: regular)  # the check sees a regular file
    with pytest.raises(FileRefused, match="FIFO"):
        read_bytes(fifo, 10**6)
    monkeypatch.setattr(os, "stat", real_stat)


def test_read_bytes_without_following_refuses_a_link(tmp_path):
    from dramaturg.safeio import FileRefused, read_bytes

    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert read_bytes(tmp_path / "link", 10) == b"x"
    with pytest.raises(FileRefused, match="symbolic link"):
        read_bytes(tmp_path / "link", 10, follow=False)
