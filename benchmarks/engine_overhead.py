"""Engine overhead: how much time and memory the engine itself costs per step and per model call.

A synthetic chain of ``--steps`` steps is written to a temporary folder and run on an *instant*
:class:`~dramaturg.providers.fakes.FakeChatModel` (no latency), so everything measured is engine
work: loading and validating the YAML, rendering templates, scheduling, calling the (LangChain)
model interface, parsing, and (by default) writing the run folder to disk, the path a user hits.

The chain is built from blocks of 10 steps (block ``k``; ids ``b<k>_<role>``)::

    root   independent branch: reads the input ``topic`` only
    s1     sequential: reads root
    s2     sequential: reads s1
    s3     sequential: reads s2
    s4     sequential: reads s3
    list   reads s4, ``parse: lines``; the fake is scripted to answer ``--fan-items`` lines (5)
    fan    ``for_each: list`` (``as: item``): one model call per line, reads item and root
    ind1   independent branch: reads ``topic`` only
    ind2   independent branch: reads ``topic`` only
    join   reads fan (the whole list) and ind1

So per block: independent branches root, ind1, ind2 (30 % of steps); sequential steps s1..s4
and list (50 %), making root -> s1 -> s2 -> s3 -> s4 -> list -> fan -> join a dependency chain
of depth 8; one fan-out step (10 %) and one join (10 %) reading both branches. Blocks are
independent of each other, so 3 steps per block are ready at once at the start. A block has 10
steps and 14 model calls (9 plain steps + 5 fan-out items; the fan step itself makes none).
When ``--steps`` is not a multiple of 10, the last block is cut short (every prefix of a block
is a valid chain). Every run's result is checked (status done, and the fake saw exactly the
expected number of calls).

Each size runs in a fresh process (so the max RSS reported is that size's own), which first
makes one untimed 10-step warm-up run (lazy imports). Each repeat then loads the chain (timed:
YAML parsing and full validation) and makes two runs on a new fake model: a timed run
(tracemalloc off, since tracing slows allocation-heavy code several-fold; wall and CPU time)
and then a run under tracemalloc for the peak of Python allocations during the run (its wall
time is shown too: anything that scales with elapsed time, such as the periodic manifest
rewrite, is amplified there). Max RSS is the process high-water mark (``getrusage``) after the
repeat, so it is cumulative over the repeats of one size. Per-step overhead is the timed run's
wall time / steps, per-call overhead its wall time / model calls. With run files on disk the
tracemalloc runs dominate the benchmark's own duration (minutes at 1000 steps); ``--no-trace``
skips them.

Usage::

    .venv/bin/python benchmarks/engine_overhead.py                 # 1000 steps, run files on disk
    .venv/bin/python benchmarks/engine_overhead.py --no-disk       # out=None: nothing on disk
    .venv/bin/python benchmarks/engine_overhead.py --steps 2000 --repeat 5 --compare 100 500
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import multiprocessing
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

BLOCK = ("root", "s1", "s2", "s3", "s4", "list", "fan", "ind1", "ind2", "join")


# -- the synthetic chain ---------------------------------------------------------------------
def _step_yaml(block: int, role: str) -> list[str]:
    def sid(r: str) -> str:
        return f"b{block}_{r}"

    prev = {"s1": "root", "s2": "s1", "s3": "s2", "s4": "s3", "list": "s4"}
    head = f"  {sid(role)}:"
    if role in ("root", "ind1", "ind2"):
        text = f"Write one line about {{{{ topic }}}} ({role} of block {block})."
        return [head, f'    prompt: {{text: "{text}"}}']
    if role in ("s1", "s2", "s3", "s4"):
        text = f"Continue this ({role}): {{{{ {sid(prev[role])} }}}}"
        return [head, f'    prompt: {{text: "{text}"}}']
    if role == "list":
        text = f"List ideas following: {{{{ {sid('s4')} }}}}"
        return [head, f'    prompt: {{text: "{text}"}}', "    parse: lines"]
    if role == "fan":
        text = f"Expand idea {{{{ index }}}}: {{{{ item }}}} (context: {{{{ {sid('root')} }}}})"
        return [
            head,
            f"    for_each: {sid('list')}",
            "    as: item",
            f'    prompt: {{text: "{text}"}}',
        ]
    if role == "join":
        text = f"Join these: {{{{ {sid('fan')} | join('; ') }}}} and {{{{ {sid('ind1')} }}}}"
        return [head, f'    prompt: {{text: "{text}"}}']
    raise ValueError(role)


def chain_layout(steps: int) -> list[tuple[int, str]]:
    """(block, role) of each step, in file order."""
    return [(i // len(BLOCK), BLOCK[i % len(BLOCK)]) for i in range(steps)]


def write_chain(folder: Path, steps: int) -> Path:
    lines = [
        f"name: overhead-{steps}",
        "description: Synthetic chain for benchmarks/engine_overhead.py.",
        "inputs:",
        "  topic: {type: string, default: a lighthouse}",
        "models:",
        "  default: {provider: fake}",
        "steps:",
    ]
    for block, role in chain_layout(steps):
        lines += _step_yaml(block, role)
    path = folder / f"overhead_{steps}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def expected_calls(steps: int, fan_items: int) -> int:
    """Plain steps make one call; a fan step makes one per item (and none itself)."""
    layout = chain_layout(steps)
    fans = [b for b, r in layout if r == "fan"]
    return len(layout) - len(fans) + fan_items * len(fans)


def scripted_lists(steps: int, fan_items: int) -> dict[str, str]:
    """The fake's answers for the ``list`` steps: exactly ``fan_items`` lines each."""
    return {
        f"b{b}_list": "\n".join(f"{i + 1}. idea {i + 1} of block {b}" for i in range(fan_items))
        for b, r in chain_layout(steps)
        if r == "list"
    }


# -- one size, in its own process --------------------------------------------------------------
def _max_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes vs KiB


def _count_files(root: Path | None) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file()) if root else 0


def bench_size(
    steps: int, repeat: int, out: str | None, fan_items: int, concurrency: int, trace: bool
) -> list[dict[str, Any]]:
    from dramaturg import FakeChatModel, load_chain

    rows: list[dict[str, Any]] = []
    calls = expected_calls(steps, fan_items)
    responses = scripted_lists(steps, fan_items)
    with tempfile.TemporaryDirectory(prefix="dramaturg-bench-chain-") as tmp:
        path = write_chain(Path(tmp), steps)

        def one_run(chain: Any, run_out: str | None = out) -> tuple[float, float, Any, Any]:
            fake = FakeChatModel(responses=responses)
            t0, c0 = time.perf_counter(), time.process_time()
            result = chain.run(  # no step cache: it would answer the repeats' calls
                {}, models={"default": fake}, out=run_out, concurrency=concurrency, cache=False
            )
            return time.perf_counter() - t0, time.process_time() - c0, result, fake

        one_run(load_chain(write_chain(Path(tmp), 10)), None)  # warm-up: lazy imports

        for i in range(repeat):
            t0 = time.perf_counter()
            chain = load_chain(path)
            load_s = time.perf_counter() - t0

            run_s, cpu_s, result, fake = one_run(chain)
            if not result.ok:
                failed = {s: r.error for s, r in result.steps.items() if r.status != "done"}
                raise RuntimeError(f"run {i} failed: {list(failed.items())[:3]}")
            made = len(fake.calls)
            if made != calls:
                raise RuntimeError(f"expected {calls} model calls, the fake saw {made}")
            files = _count_files(result.run_dir)

            peak_mb = traced_s = float("nan")
            if trace:
                tracemalloc.start()
                traced_s, _, traced, _ = one_run(chain)
                peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                if not traced.ok:
                    raise RuntimeError(f"traced run {i} failed")
            rows.append(
                {
                    "steps": steps,
                    "calls": calls,
                    "files": files,
                    "load_s": load_s,
                    "run_s": run_s,
                    "cpu_s": cpu_s,
                    "ms_step": 1000 * run_s / steps,
                    "ms_call": 1000 * run_s / calls,
                    "traced_s": traced_s,
                    "peak_mb": peak_mb,
                    "rss_mb": _max_rss_mb(),
                }
            )
    return rows


# -- reporting ---------------------------------------------------------------------------------
COLUMNS = (  # key, header, format
    ("steps", "steps", "{:>6d}"),
    ("calls", "calls", "{:>6d}"),
    ("files", "files", "{:>6d}"),
    ("load_s", "load+validate s", "{:>15.3f}"),
    ("run_s", "run s", "{:>8.3f}"),
    ("cpu_s", "run CPU s", "{:>9.3f}"),
    ("ms_step", "ms/step", "{:>8.2f}"),
    ("ms_call", "ms/call", "{:>8.2f}"),
    ("traced_s", "traced run s", "{:>12.3f}"),
    ("peak_mb", "tracemalloc peak MiB", "{:>20.1f}"),
    ("rss_mb", "max RSS MiB", "{:>11.1f}"),
)


def _cell(fmt: str, value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-".rjust(len(fmt.format(0)))
    return fmt.format(value)


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    header = "  ".join(["run   "] + [h.rjust(len(f.format(0))) for _, h, f in COLUMNS])
    print(header)
    print("-" * len(header))
    median = {k: statistics.median(r[k] for r in rows) for k, _, _ in COLUMNS}
    for k, _, f in COLUMNS:
        if "d}" in f:
            median[k] = int(median[k])
    for label, row in [*((f"#{i + 1}", r) for i, r in enumerate(rows)), ("median", median)]:
        print("  ".join([label.ljust(6)] + [_cell(f, row[k]) for k, _, f in COLUMNS]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=1000, help="steps in the chain (default 1000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per size (default 3)")
    ap.add_argument(
        "--out",
        default=None,
        help="folder receiving the run folders (default: a temporary folder, deleted afterwards)",
    )
    ap.add_argument("--no-disk", action="store_true", help="run with out=None (nothing on disk)")
    ap.add_argument(
        "--compare",
        type=int,
        nargs="*",
        default=[100],
        help="other sizes also measured, to see growth (default: 100)",
    )
    ap.add_argument("--fan-items", type=int, default=5, help="items per fan-out (default 5)")
    ap.add_argument("--concurrency", type=int, default=8, help="Chain.run concurrency (default 8)")
    ap.add_argument(
        "--no-trace", action="store_true", help="skip the tracemalloc runs (no peak memory column)"
    )
    args = ap.parse_args(argv)
    if args.steps < 1 or args.repeat < 1 or args.fan_items < 1:
        ap.error("--steps, --repeat and --fan-items must be at least 1")

    tmp_out = None
    if args.no_disk:
        out = None
    elif args.out:
        out = str(Path(args.out).resolve())
    else:
        tmp_out = tempfile.mkdtemp(prefix="dramaturg-bench-out-")
        out = tmp_out
    sizes = sorted({s for s in args.compare if s >= 1} | {args.steps})
    print(
        f"python {sys.version.split()[0]}; out={out!r}; concurrency={args.concurrency}; "
        f"fan-out items={args.fan_items}; repeat={args.repeat}; "
        "model: instant FakeChatModel; each size in a fresh process"
    )
    results: dict[int, list[dict[str, Any]]] = {}
    try:
        ctx = multiprocessing.get_context("spawn")
        for n in sizes:
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
                results[n] = pool.submit(
                    bench_size,
                    n,
                    args.repeat,
                    out,
                    args.fan_items,
                    args.concurrency,
                    not args.no_trace,
                ).result()
            print_table(f"{n} steps", results[n])
    finally:
        if tmp_out is not None:
            shutil.rmtree(tmp_out, ignore_errors=True)

    if len(sizes) > 1:
        print("\ngrowth (medians)")
        base = sizes[0]
        b = statistics.median(r["ms_step"] for r in results[base])
        for n in sizes:
            m = statistics.median(r["ms_step"] for r in results[n])
            print(f"  {n:>6d} steps: {m:8.2f} ms/step  ({m / b:5.2f}x the {base}-step figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
