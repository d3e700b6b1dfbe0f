"""Where the time goes on the Dramatron-shaped DAG of ``vs_peers.py``, engine by engine.

1. **CPU per run**: the DAG on an instant model, median of 50 runs after 10 warm-up runs; the
   engine's own work plus the fake model's and LangChain's (the "bare" row is those alone).
2. **Level gaps** at 100 ms per call (median of 38 runs): from the end of the previous level's
   last call to the first and last start of this level's calls, and the worst overshoot of a
   100 ms sleep (the event loop's timer granularity, plus a busy loop).
3. **Dramaturg's run on disk, phase by phase** (median of 15 runs): before the first call, the
   span of the calls, then the end: the last records, waiting for the writer thread, the final
   manifest and report.html.

    .venv/bin/python benchmarks/dag_breakdown.py [--engines bare lcel langgraph memory disk]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import inspect
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import vs_peers as vp

ENGINES = {
    "bare": vp.dag_bare,
    "lcel": vp.dag_lcel,
    "langgraph": vp.dag_langgraph,
    "memory": lambda runs: vp.dag_dramaturg(disk=False, runs=runs),
    "disk": lambda runs: vp.dag_dramaturg(disk=True, runs=runs),
}
LEVELS = ("plot", "place", "dialogue")


def cpu_per_run(engine: str) -> float:
    latency, vp.LATENCY = vp.LATENCY, 0.0
    try:
        walls = ENGINES[engine](runs=60)
    finally:
        vp.LATENCY = latency
    return statistics.median(walls[10:]) * 1000


def level_gaps(engine: str, runs: int = 40) -> dict[str, float]:
    models: list[Any] = []
    make = vp._model
    vp._model = lambda latency: models.append(make(latency)) or models[-1]
    try:
        ENGINES[engine](runs=runs)
    finally:
        vp._model = make
    calls = sorted((c for m in models for c in m.calls), key=lambda c: c.started)
    found: dict[str, list[float]] = collections.defaultdict(list)
    for i in range(2 * vp.CALLS, len(calls), vp.CALLS):  # the first two runs warm up
        by: dict[str, list[Any]] = collections.defaultdict(list)
        for c in calls[i : i + vp.CALLS]:
            by[c.prompt.split()[0]].append(c)
        prev = max(c.ended for c in by["characters"])
        for level in LEVELS:
            starts = [c.started for c in by[level]]
            found[f"{level}: first start"].append((min(starts) - prev) * 1000)
            found[f"{level}: last start"].append((max(starts) - prev) * 1000)
            prev = max(c.ended for c in by[level])
        over = max(c.ended - c.started - vp.LATENCY for c in calls[i : i + vp.CALLS])
        found["sleep overshoot"].append(over * 1000)
    return {k: statistics.median(v) for k, v in found.items()}


def disk_phases(runs: int = 16) -> dict[str, float]:
    import dramaturg.observe.report as report
    from dramaturg import load_chain
    from dramaturg.run.runner import Runner
    from dramaturg.store.writer import Writer

    marks: dict[str, float] = {}

    @contextlib.contextmanager
    def span(label: str) -> Iterator[None]:
        marks[label + " start"] = time.monotonic()
        try:
            yield
        finally:
            marks[label + " end"] = time.monotonic()

    def timed(owner: Any, name: str, label: str) -> None:
        fn = getattr(owner, name)
        if inspect.iscoroutinefunction(fn):

            async def timed_async(*a: Any, **k: Any) -> Any:
                with span(label):
                    return await fn(*a, **k)

            setattr(owner, name, timed_async)
        else:

            def timed_sync(*a: Any, **k: Any) -> Any:
                with span(label):
                    return fn(*a, **k)

            setattr(owner, name, timed_sync)

    timed(Runner, "run", "runner")
    timed(Writer, "drain", "drain")
    timed(report, "write_report_quietly", "report")
    rows: dict[str, list[float]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.yaml"
        path.write_text(vp.DRAMATRON)
        chain = load_chain(path)
        for i in range(runs):
            model = vp._model(vp.LATENCY)
            t0 = time.monotonic()
            chain.run(
                {},
                models={"default": model},
                out=Path(tmp) / f"o{i}",
                concurrency=64,
                cache=False,
                export=False,
            )
            t1 = time.monotonic()
            if i == 0:
                continue  # first-use imports
            first = min(c.started for c in model.calls)
            last = max(c.ended for c in model.calls)
            m = marks
            rows["before the first call"].append(first - t0)
            rows["span of the calls"].append(last - first)
            rows["last records (main thread)"].append(m["drain start"] - last)
            rows["waiting for the writer"].append(m["drain end"] - m["drain start"])
            rows["final manifest"].append(m["runner end"] - m["drain end"])
            rows["report.html"].append(m["report end"] - m["report start"])
            rows["total"].append(t1 - t0)
    return {k: statistics.median(v) * 1000 for k, v in rows.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    args = ap.parse_args()
    print("## 1. CPU per DAG run, instant model (ms)\n")
    print("| engine | ms |\n|---|---|")
    for engine in args.engines:
        print(f"| {engine} | {cpu_per_run(engine):.2f} |", flush=True)
    print(f"\n## 2. Level gaps at {vp.LATENCY * 1000:.0f} ms per call (ms)\n")
    gaps = {engine: level_gaps(engine) for engine in args.engines}
    keys = list(next(iter(gaps.values())))
    print("| | " + " | ".join(args.engines) + " |")
    print("|---|" + "---|" * len(args.engines))
    for k in keys:
        print(f"| {k} | " + " | ".join(f"{gaps[e][k]:.2f}" for e in args.engines) + " |")
    if "disk" in args.engines:
        print("\n## 3. Dramaturg on disk, phase by phase (ms)\n")
        print("| phase | ms |\n|---|---|")
        for k, v in disk_phases().items():
            print(f"| {k} | {v:.1f} |")


if __name__ == "__main__":
    main()
