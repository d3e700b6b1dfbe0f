"""Batches on a real two-node Ray cluster on loopback (tests/batch/ray_cluster.py): the same
outputs as a local batch, a killed row runner, cluster-wide model limits, resume from disk."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ray_cluster import TOKEN, Cluster, below, kill_when, ray_env

# Ray reads its authentication settings when it is imported: the driver (this process) gets
# the cluster's token before that
os.environ.update(ray_env(TOKEN))
pytest.importorskip("ray")

from dramaturg import load_chain
from dramaturg.batch.folder import ROWS_FILE, BatchFolder

pytestmark = pytest.mark.ray

CHAIN = """
name: pitch
prompts: ../prompts
inputs:
  logline: {type: string}
models:
  default: {provider: fake, seed: 3, extra: {latency: LATENCY}}
steps:
  title: {prompt: {text: "Title for {{ logline }}"}}
  ideas: {prompt: {text: "Two ideas for {{ title }}"}, parse: lines}
  expand: {for_each: ideas, as: idea, prompt: {text: "Expand {{ idea }}"}}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("ray"))
    try:
        c.start()
        yield c
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        c.stop()


def chain_file(project: Any, latency: float = 0.0, extra: str = "") -> Path:
    text = CHAIN.replace("LATENCY", str(latency)).replace(
        "{provider: fake,", "{provider: fake," + extra
    )
    return project(text)


def outputs(result: Any) -> list[Any]:
    return [None if r.run is None else r.run.outputs for r in result.rows]


ROWS = [{"logline": f"story {i}"} for i in range(6)]


def batch_while(
    kill: Any, chain: Any, out: Path, cluster: Cluster, **kw: Any
) -> tuple[Any, list[int]]:
    """The batch of ROWS on ``cluster`` while a thread runs ``kill()`` (the pids it killed)."""
    import threading

    killed: list[int] = []
    killer = threading.Thread(target=lambda: killed.extend(kill()))
    killer.start()
    result = chain.batch(ROWS, out=out, cache=False, executor="ray", address=cluster.address, **kw)
    killer.join()
    return result, killed


def test_a_batch_on_two_nodes_gives_the_local_outputs(project, tmp_path, cluster):
    chain = load_chain(chain_file(project))
    local = chain.batch(ROWS, out=tmp_path / "local", cache=False)
    on_ray = chain.batch(
        ROWS, out=tmp_path / "ray", cache=False, executor="ray", address=cluster.address
    )
    assert on_ray.ok, [r.error for r in on_ray.rows]
    assert outputs(on_ray) == outputs(local)
    # every row's run folder came back to the driver's batch folder
    root = on_ray.batch_dir
    assert root is not None
    for row in on_ray.rows:
        assert row.run_dir == root / "runs" / row.id
        assert (row.run_dir / "manifest.json").is_file()
    lines = [json.loads(x) for x in (root / ROWS_FILE).read_text().splitlines()]
    assert sorted(x["index"] for x in lines) == list(range(6))


def test_a_killed_row_runner_loses_nothing(project, tmp_path, cluster):
    """SIGKILL a row runner mid-batch: its rows run again elsewhere, outputs unchanged."""

    chain = load_chain(chain_file(project, latency=0.3))
    expected = outputs(chain.batch(ROWS, out=None, cache=False))
    result, killed = batch_while(
        lambda: kill_when(cluster.pids, b"RowRunner"),
        chain,
        tmp_path / "o",
        cluster,
        rows_in_flight=3,
    )
    assert killed, "no row runner was seen to kill"
    assert result.ok, [r.error for r in result.rows]
    assert outputs(result) == expected


def call_starts(run_dir: Path) -> list[float]:
    """When each model call of a run got its slot: plain steps' ``began`` in the manifest, each
    fan-out item's ``started`` in its record."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    starts = []
    for sid, entry in manifest["steps"].items():
        if "items" in entry:
            for f in sorted((run_dir / "steps" / sid).glob("*.json")):
                starts.append(json.loads(f.read_text())["started"])
        else:
            starts.append(entry["began"])
    return starts


def test_model_limits_hold_across_the_cluster(project, tmp_path, cluster):
    """A model limited to 5 calls a second gets at most R + 1 in any second from both nodes."""
    chain = load_chain(chain_file(project, extra=" rate_limit: 5,"))
    result = chain.batch(
        ROWS,
        out=tmp_path / "o",
        cache=False,
        executor="ray",
        address=cluster.address,
        rows_in_flight=3,
    )
    assert result.ok, [r.error for r in result.rows]
    starts = sorted(t for r in result.rows if r.run_dir for t in call_starts(r.run_dir))
    assert len(starts) == sum(r.calls for r in result.rows) >= 6 * 3
    in_a_second = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert in_a_second <= 6
    assert starts[-1] - starts[0] >= (len(starts) - 1) / 5 - 0.05  # spaced, not bunched


def test_a_batch_stopped_on_ray_resumes_from_disk(project, tmp_path, cluster):
    """The driver's folder is the truth: a row recorded done is kept; the rest run again."""
    chain = load_chain(chain_file(project))
    first = chain.batch(
        ROWS, out=tmp_path / "o", cache=False, executor="ray", address=cluster.address
    )
    root = first.batch_dir
    assert root is not None and first.ok
    lines = (root / ROWS_FILE).read_text().splitlines()
    (root / ROWS_FILE).write_text("\n".join(lines[:2]) + "\n")  # the driver died after 2 rows
    import asyncio

    from dramaturg.batch.start import aresume_batch

    again = asyncio.run(aresume_batch(root, executor="ray", address=cluster.address))
    assert again.ok and sum(r.kept for r in again.rows) == 2
    assert outputs(again) == outputs(first)


def test_a_lost_node_loses_no_row(project, tmp_path, cluster):
    """A third node joins, takes rows, and dies (its raylet and workers SIGKILLed): its rows
    run again on the others, and the outputs are the fault-free ones."""

    chain = load_chain(chain_file(project, latency=0.3))
    expected = outputs(chain.batch(ROWS, out=None, cache=False))
    before = cluster.raylets()
    cluster.add_node()
    (third,) = cluster.raylets() - before
    result, killed = batch_while(
        lambda: kill_when(lambda: below({third}), b"RowRunner", also=True),
        chain,
        tmp_path / "o",
        cluster,
        rows_in_flight=2,
    )
    assert third in killed, "the third node never took a row"
    assert result.ok, [r.error for r in result.rows]
    assert outputs(result) == expected


def test_a_killed_driver_is_finished_by_batch_resume(project, tmp_path, cluster):
    """SIGKILL the `dramaturg batch` process after its first row: `batch resume` keeps the rows
    it recorded (0 calls for them) and finishes the rest with the fault-free outputs."""
    import subprocess
    import sys

    path = chain_file(project, latency=0.2)
    expected = outputs(load_chain(path).batch(ROWS, out=None, cache=False))
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    cmd = [
        sys.executable,
        "-m",
        "dramaturg",
        "batch",
        str(path),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "o"),
        "--executor",
        "ray",
        "--address",
        cluster.address,
        "--rows-in-flight",
        "1",
        "--no-cache",
        "--json",
    ]
    batch_dir = None
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ}) as driver:
        assert driver.stdout is not None
        for line in driver.stdout:
            assert line.startswith("{"), f"--json printed {line!r}"
            event = json.loads(line)
            batch_dir = batch_dir or event.get("batch_dir")
            if event["event"] == "row_finished":
                driver.send_signal(signal.SIGKILL)
                break
        driver.wait(30)
    assert batch_dir is not None
    root = Path(batch_dir)
    # read as resume reads it: a line the kill tore is not a row
    done = BatchFolder(root).records()
    assert 1 <= len(done) < len(ROWS)
    import asyncio

    from dramaturg.batch.start import aresume_batch

    again = asyncio.run(aresume_batch(root, executor="ray", address=cluster.address))
    assert again.ok, [r.error for r in again.rows]
    assert sum(r.kept for r in again.rows) >= 1
    assert outputs(again) == expected


def test_rows_on_ray_share_the_drivers_step_cache(project, tmp_path, cluster):
    """The step cache stays one folder on the driver's machine: a second batch of the same rows
    is answered from it, whichever node runs each row."""
    chain = load_chain(chain_file(project))
    cache = tmp_path / "cache"
    first = chain.batch(
        ROWS, out=tmp_path / "a", cache=cache, executor="ray", address=cluster.address
    )
    assert first.ok and sum(r.calls for r in first.rows) > 0
    assert (cache / "index.sqlite").exists() or any(cache.iterdir())
    again = chain.batch(
        ROWS, out=tmp_path / "b", cache=cache, executor="ray", address=cluster.address
    )
    assert again.ok and sum(r.calls for r in again.rows) == 0
    assert outputs(again) == outputs(first)
    for row in again.rows:
        assert row.run_dir is not None
        manifest = json.loads((row.run_dir / "manifest.json").read_text())
        assert all(s["cached"] >= 1 for s in manifest["steps"].values())


async def test_a_stopped_batch_on_ray_marks_its_rows_and_resumes(project, tmp_path, cluster):
    """Cancelling the batch (what Ctrl-C does) cancels the rows running on the nodes: they
    are recorded as stopped, and resume finishes them with the fault-free outputs."""
    import asyncio

    from dramaturg.batch.start import aresume_batch

    path = chain_file(project, latency=0.3)
    expected = outputs(await load_chain(path).abatch(ROWS, out=None, cache=False))
    finished = asyncio.Event()

    def on_event(event: Any) -> None:
        if event.kind == "row_finished":
            finished.set()

    task = asyncio.ensure_future(
        load_chain(path).abatch(
            ROWS,
            out=tmp_path / "o",
            cache=False,
            executor="ray",
            address=cluster.address,
            rows_in_flight=1,
            on_event=on_event,
        )
    )
    await asyncio.wait_for(finished.wait(), 120)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (root,) = (tmp_path / "o").iterdir()
    statuses = {r.status for r in BatchFolder(root).records().values()}
    assert "stopped" in statuses
    again = await aresume_batch(root, executor="ray", address=cluster.address)
    assert again.ok and outputs(again) == expected
