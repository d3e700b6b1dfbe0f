"""Batches on one machine: what a batch costs over running the rows yourself, and a slate of
Dramatron rows. The fake model answers each call after ``--latency`` seconds (0.1 by default),
so what is measured is the engine's work. Each measurement runs in its own process (fresh
imports, its own peak RSS).

1. **Overhead per row**: N rows of a 3-step chain (title -> 2 fan-out items -> summary: 4
   calls a row) run by ``chain.abatch`` (run folders, ``rows.jsonl``, summaries) against
   ``asyncio.gather`` of plain ``chain.arun`` calls into the same kind of folders, with the same
   rows in flight and the same limits. ``(batch wall - gather wall) / N``; peak RSS at 100 and
   1,000 rows (goal: <= 5 ms a row, memory flat).
2. **Dramatron rows**: ``--dramatron`` rows of chains/dramatron.yaml (``num_scenes=3``) on the
   fakes, exports on, against the bounds: latency (rows / rows in flight x the chain's
   longest path of calls x latency) and CPU (the process's own CPU time). Goal: wall <= 1.1 x
   the larger bound.

    .venv/bin/python benchmarks/batch.py [--rows 100 1000] [--dramatron 1000] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SMALL = """
name: small
models:
  default: {provider: fake}
inputs:
  topic: {type: string}
steps:
  title: {prompt: {text: "A title about {{ topic }}"}}
  ideas: {prompt: {text: "Two ideas for {{ title }}"}, parse: lines}
  expand: {for_each: ideas, as: idea, prompt: {text: "Expand {{ idea }}"}}
  summary: {prompt: {text: "Sum up {{ expand | join(' ') }}"}}
"""


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_small(rows: int, how: str, latency: float, in_flight: int) -> dict[str, Any]:
    from dramaturg import FakeChatModel, load_chain

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "small.yaml"
        path.write_text(SMALL)
        chain = load_chain(path)
        model = FakeChatModel(latency=latency, responses={"ideas": "one\ntwo"})
        data = [{"topic": f"story {i}"} for i in range(rows)]
        out = Path(tmp) / "out"
        start = time.perf_counter()
        if how == "batch":
            result = asyncio.run(
                chain.abatch(
                    data,
                    out=out,
                    models={"default": model},
                    rows_in_flight=in_flight,
                    concurrency=in_flight * 4,
                    cache=False,
                )
            )
            ok = result.ok
        else:

            async def gather() -> bool:
                gate = asyncio.Semaphore(in_flight)

                async def one(inputs: dict[str, Any]) -> bool:
                    async with gate:
                        r = await chain.arun(
                            inputs, models={"default": model}, out=out, cache=False, concurrency=4
                        )
                        return r.ok

                return all(await asyncio.gather(*(one(d) for d in data)))

            ok = asyncio.run(gather())
        wall = time.perf_counter() - start
    return {"wall": wall, "ok": ok, "rss": _peak_mib(), "calls": len(model.calls)}


def child_dramatron(rows: int, latency: float, in_flight: int) -> dict[str, Any]:
    from dramaturg import FakeChatModel, load_chain

    chain = load_chain(ROOT / "chains" / "dramatron.yaml")
    model = FakeChatModel(latency=latency)
    data = [
        {"logline": f"A keeper of lighthouse {i} bottles storms.", "num_scenes": 3}
        for i in range(rows)
    ]
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = asyncio.run(
            chain.abatch(
                data,
                out=Path(tmp),
                models={"default": model},
                dry_run=True,
                rows_in_flight=in_flight,
                concurrency=in_flight * 8,
                cache=False,
            )
        )
        wall = time.perf_counter() - start
    calls = sum(r.calls for r in result.rows)
    return {
        "wall": wall,
        "cpu": time.process_time() - cpu0,
        "ok": result.ok,
        "rows": rows,
        "calls": calls,
        "rss": _peak_mib(),
        "failed": [r.error for r in result.rows if not r.ok][:3],
    }


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--dramatron", type=int, default=1000, help="Dramatron rows (0: skip)")
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--in-flight", type=int, default=8)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "small":
            r = child_small(int(rest[0]), rest[1], args.latency, args.in_flight)
        else:
            r = child_dramatron(int(rest[0]), args.latency, args.in_flight)
        print(json.dumps(r))
        return
    lat, k = str(args.latency), str(args.in_flight)
    print(
        f"python {sys.version.split()[0]}; fake model at {args.latency * 1000:.0f} ms a call; "
        f"{args.in_flight} rows in flight\n"
    )
    print("## 1. Overhead per row (4 calls a row), batch vs asyncio.gather of chain.arun\n")
    print(
        "| rows | gather wall s | batch wall s | overhead ms/row | gather RSS MiB | batch RSS MiB |"
    )
    print("|---|---|---|---|---|---|")
    for n in args.rows:
        g = _child("small", str(n), "gather", "--latency", lat, "--in-flight", k)
        b = _child("small", str(n), "batch", "--latency", lat, "--in-flight", k)
        assert g["ok"] and b["ok"], (g, b)
        over = (b["wall"] - g["wall"]) / n * 1000
        walls = f"{g['wall']:.2f} | {b['wall']:.2f}"
        print(f"| {n:,} | {walls} | {over:.2f} | {g['rss']:.0f} | {b['rss']:.0f} |")
    if args.dramatron:
        n = args.dramatron
        d = _child("dramatron", str(n), "--latency", lat, "--in-flight", k)
        calls_per_row = d["calls"] / n
        # the chain's longest path of calls: title, characters, the plot's scenes, places,
        # dialogue, illustrations (6 deep)
        latency_bound = n / args.in_flight * 6 * args.latency
        bound = max(latency_bound, d["cpu"])
        print(f"\n## 2. {n:,} Dramatron rows (3 scenes, exports on), fakes\n")
        print("| rows ok | calls/row | wall s | CPU s | latency bound s | wall / bound | RSS MiB |")
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {d['ok']} | {calls_per_row:.0f} | {d['wall']:.1f} | {d['cpu']:.1f} | "
            f"{latency_bound:.1f} | {d['wall'] / bound:.2f} | {d['rss']:.0f} |"
        )
        if d["failed"]:
            print("failed rows:", d["failed"])


if __name__ == "__main__":
    main()
