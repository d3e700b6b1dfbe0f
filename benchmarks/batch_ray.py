"""Batches on Ray, measured on one machine with real Ray nodes on loopback (127.0.0.2; the
cluster helper of the tests, tests/batch/ray_cluster.py). The fake model answers after
``--latency`` seconds.

3. **1 -> 2 nodes**: the same rows on a one-node cluster, then with a second node joined:
   latency-bound rows (a 3-step chain on the fake at ``--latency``) and CPU-bound rows (the
   Dramatron chain on instant fakes, 3 scenes, exports on). Speed-up = wall(1) / wall(2).
4. **Overhead per row**: instant-model rows on Ray against the same rows run locally with the
   same rows in flight: ``(ray wall - local wall) / rows``; and the time to the first finished
   row of a job (the runners start, load the chain, run one row).
5. **Faults** (``--faults``): the same rows fault-free, with a row runner SIGKILLed mid-batch,
   with a third node SIGKILLed (raylet and workers), and with the driver SIGKILLed after its
   first row and the batch resumed: every row done, outputs equal to the fault-free ones, and
   rows recorded before the kill cost 0 calls on resume.
6. **A cluster-wide rate limit** R: the most calls that started in any one second; the wall
   against N / R (the job's start, about a second, included: it weighs less as N grows, see
   ``--rate-rows``); and the first to the last call's start against (N - 1) / R, the pacing.

    .venv/bin/python benchmarks/batch_ray.py [--rows 48] [--latency 0.1] [--rate 10] [--rate-rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "batch"))

from ray_cluster import TOKEN, Cluster, below, kill_when, ray_env  # noqa: E402

os.environ.update(ray_env(TOKEN))

SMALL = """
name: small
models:
  default: {provider: fake, seed: 1, extra: {latency: LATENCY}RATE}
inputs:
  topic: {type: string}
steps:
  title: {prompt: {text: "A title about {{ topic }}"}}
  ideas: {prompt: {text: "Two ideas for {{ title }}"}, parse: lines}
  expand: {for_each: ideas, as: idea, prompt: {text: "Expand {{ idea }}"}}
"""


def small_chain(tmp: Path, latency: float, rate: float | None = None) -> Any:
    from dramaturg import load_chain

    text = SMALL.replace("LATENCY", str(latency))
    text = text.replace("RATE", f", rate_limit: {rate}" if rate else "")
    path = tmp / f"small-{latency}-{rate}.yaml"
    path.write_text(text)
    return load_chain(path)


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=48)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--rate-rows", type=int, help="rows of 6. (default: --rows; 5 calls a row)")
    ap.add_argument("--in-flight", type=int, default=4, help="rows in flight per node")
    ap.add_argument("--faults", action="store_true", help="measure 5 (faults) as well")
    args = ap.parse_args()
    from dramaturg import load_chain

    rows = [{"topic": f"story {i}"} for i in range(args.rows)]
    drows = [{"logline": f"Keeper {i} bottles storms.", "num_scenes": 3} for i in range(args.rows)]
    k = args.in_flight
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cluster = Cluster(tmp / "ray")
        cluster.temp.mkdir()
        try:
            cluster.start_head_only()
            lat = small_chain(tmp, args.latency)
            dram = load_chain(ROOT / "chains" / "dramatron.yaml")
            # calls in flight over the whole batch: more than 8 rows can ask at once, so that the
            # batch's own limit does not cap the second node (its share is concurrency / nodes)
            on = {"executor": "ray", "address": cluster.address, "cache": False, "concurrency": 64}

            def run(chain: Any, data: list[Any], name: str, **kw: Any) -> float:
                wall, result = timed(lambda: chain.batch(data, out=tmp / name, **kw))
                assert result.ok, [r.error for r in result.rows if not r.ok][:3]
                return wall

            def steady(chain: Any, data: list[Any], name: str, **kw: Any) -> tuple[float, float]:
                """(seconds a row once rows flow: first to last finished row / rows - 1,
                seconds to the first finished row)."""
                done: list[float] = []
                start = time.perf_counter()

                def note(event: Any) -> None:
                    if event.kind == "row_finished":
                        done.append(time.perf_counter() - start)

                run(chain, data, name, on_event=note, **kw)
                return (done[-1] - done[0]) / (len(done) - 1), done[0]

            one_lat, _ = steady(lat, rows, "l1", rows_in_flight=k, **on)
            one_cpu, _ = steady(dram, drows, "c1", rows_in_flight=k, dry_run=True, **on)
            cluster.add_node()
            two_lat, _ = steady(lat, rows, "l2", rows_in_flight=k, **on)
            two_cpu, _ = steady(dram, drows, "c2", rows_in_flight=k, dry_run=True, **on)
            print(f"python {sys.version.split()[0]}; {args.rows} rows; {k} rows in flight a node")
            print("\n## 3. One node, then two (same machine, 2 cores), once rows flow\n")
            print("| rows | 1 node s/row | 2 nodes s/row | speed-up |")
            print("|---|---|---|---|")
            print(
                f"| latency-bound ({args.latency * 1000:.0f} ms calls) | {one_lat:.3f} | "
                f"{two_lat:.3f} | {one_lat / two_lat:.2f}x |"
            )
            print(
                f"| CPU-bound (Dramatron, exports) | {one_cpu:.3f} | {two_cpu:.3f} | "
                f"{one_cpu / two_cpu:.2f}x |"
            )

            instant = small_chain(tmp, 0.0)
            local, _ = steady(
                instant, rows, "i0", rows_in_flight=2 * k, cache=False, concurrency=64
            )
            on_ray, first = steady(instant, rows, "i1", rows_in_flight=k, **on)
            print("\n## 4. Overhead on Ray, instant model, once rows flow\n")
            print("| local s/row | Ray s/row | overhead ms/row | first row of a job s |")
            print("|---|---|---|---|")
            print(f"| {local:.4f} | {on_ray:.4f} | {(on_ray - local) * 1000:.1f} | {first:.2f} |")

            limited = small_chain(tmp, 0.0, args.rate)
            paced = [{"topic": f"story {i}"} for i in range(args.rate_rows or args.rows)]
            wall, result = timed(
                lambda: limited.batch(paced, out=tmp / "r", rows_in_flight=k, **on)
            )
            starts = sorted(t for r in result.rows if r.run_dir for t in _starts(r.run_dir))
            most = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
            print(f"\n## 6. Rate limit {args.rate:g}/s across both nodes\n")
            print(
                "| calls | most in any second | wall s | N / R s | wall / (N / R) "
                "| first to last call s | that / ((N - 1) / R) |"
            )
            print("|---|---|---|---|---|---|---|")
            bound = len(starts) / args.rate
            spread = starts[-1] - starts[0]
            pacing = spread / ((len(starts) - 1) / args.rate)
            print(
                f"| {len(starts)} | {most} | {wall:.2f} | {bound:.2f} | {wall / bound:.3f} "
                f"| {spread:.2f} | {pacing:.3f} |"
            )
            if args.faults:
                faults(cluster, tmp, args)
        finally:
            import ray

            if ray.is_initialized():
                ray.shutdown()
            cluster.stop()


def faults(cluster: Cluster, tmp: Path, args: Any) -> None:
    import subprocess
    import threading

    from dramaturg.batch.folder import BatchFolder
    from dramaturg.batch.start import aresume_batch

    rows = [{"topic": f"story {i}"} for i in range(args.rows)]
    chain = small_chain(tmp, 0.2)
    on = {"executor": "ray", "address": cluster.address, "cache": False, "rows_in_flight": 2}

    def outs(result: Any) -> list[Any]:
        return [None if r.run is None else r.run.outputs for r in result.rows]

    clean = outs(chain.batch(rows, out=tmp / "f0", **on))
    table = []

    def with_killer(name: str, kill: Any) -> None:
        killed: list[int] = []
        thread = threading.Thread(target=lambda: killed.extend(kill()))
        thread.start()
        result = chain.batch(rows, out=tmp / name, **on)
        thread.join()
        done = sum(r.ok for r in result.rows)
        table.append((name, len(killed) > 0, done, outs(result) == clean, "-", "-"))

    with_killer("a row runner SIGKILLed", lambda: kill_when(cluster.pids, b"RowRunner"))
    before = cluster.raylets()
    cluster.add_node()
    (third,) = cluster.raylets() - before
    with_killer(
        "a third node SIGKILLed",
        lambda: kill_when(lambda: below({third}), b"RowRunner", also=True),
    )
    data = tmp / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp / "small-0.2-None.yaml"
    cmd = [
        sys.executable,
        "-m",
        "dramaturg",
        "batch",
        str(path),
        "--data",
        str(data),
        "--out",
        str(tmp / "f3"),
        "--executor",
        "ray",
        "--address",
        cluster.address,
        "--no-cache",
        "--rows-in-flight",
        "2",
        "--json",
    ]
    batch_dir = None
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as driver:
        assert driver.stdout is not None
        for line in driver.stdout:
            event = json.loads(line)
            batch_dir = batch_dir or event.get("batch_dir")
            if event["event"] == "row_finished":
                driver.kill()
                break
        driver.wait(30)
    root = Path(str(batch_dir))
    recorded = len(BatchFolder(root).records())
    again = asyncio.run(aresume_batch(root, executor="ray", address=cluster.address))
    kept_calls = sum(r.calls for r in again.rows if r.kept)
    table.append(
        (
            "the driver SIGKILLed, then batch resume",
            True,
            sum(r.ok for r in again.rows),
            outs(again) == clean,
            f"{sum(r.kept for r in again.rows)} of {recorded}",
            kept_calls,
        )
    )
    print(f"\n## 5. Faults ({len(rows)} rows, 200 ms calls, 2 rows in flight a node)\n")
    print("| fault | it happened | rows done | outputs = fault-free | rows kept | their calls |")
    print("|---|---|---|---|---|---|")
    for name, hit, done, same, kept, calls in table:
        print(f"| {name} | {hit} | {done}/{len(rows)} | {same} | {kept} | {calls} |")


def _starts(run_dir: Path) -> list[float]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    out = []
    for sid, entry in manifest["steps"].items():
        if "items" in entry:
            out += [
                json.loads(f.read_text())["started"]
                for f in (run_dir / "steps" / sid).glob("*.json")
            ]
        else:
            out.append(entry["began"])
    return out


if __name__ == "__main__":
    main()
