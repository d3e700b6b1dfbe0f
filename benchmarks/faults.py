"""Fault injection on the Dramatron chain: does every run finish with the fault-free outputs?

The Dramatron chain (``chains/dramatron.yaml``, ``--scenes`` scenes, 20 by default) runs once
without faults, then ``--runs`` times (20) on the ``flaky`` provider (text and images) failing
``--rate`` (30 %) of calls with transient errors: HTTP 429 with Retry-After, 500/502/503, read
timeouts and dropped connections, a different ``fault_seed`` per run. Each run must finish
(status done) with outputs, images and exported screenplay equal to the fault-free run's, in its
own run folder. With ``--permanent STEP[/ITEM]`` one more run meets a permanent fault there: it
must fail that step, skip its descendants only, and ``resume`` (fault gone) must finish it with
the fault-free outputs.

The retries' backoff is ``--backoff`` seconds (1 ms), so the figures measure the engine, not
sleeping. The test suite runs the same experiment (tests/providers/test_faults.py;
``DRAMATURG_FAULT_RUNS`` sets its number of runs).

Usage::

    .venv/bin/python benchmarks/faults.py
    .venv/bin/python benchmarks/faults.py --runs 50 --rate 0.5 --permanent places/2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from dramaturg import load_chain, resume_run

ROOT = Path(__file__).resolve().parents[1]
LOGLINE = "A lighthouse keeper who bottles storms must free the last one before it drowns her town."


def models(rate: float, fault_seed: int, **extra: Any) -> dict[str, Any]:
    options = {"failure_rate": rate, "fault_seed": fault_seed, **extra}
    model = {"provider": "flaky", "seed": 1, "retries": 10, "extra": options}
    return {"default": model, "images": {**model, "extra": dict(options)}}


def files(run_dir: Path) -> dict[str, bytes]:
    """The images and the exported screenplay of a run."""
    found = [*run_dir.rglob("steps/**/*.png"), *run_dir.glob("screenplay.f*")]
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in found}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rate", type=float, default=0.3, help="share of calls failing (0.3)")
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--backoff", type=float, default=0.001)
    ap.add_argument("--permanent", default="places/2", help="step[/item] of the permanent run")
    args = ap.parse_args()
    chain = load_chain(ROOT / "chains" / "dramatron.yaml")
    inputs = {"logline": LOGLINE, "num_scenes": args.scenes}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        common = {"cache": False, "backoff": args.backoff}
        clean = chain.run(inputs, models=models(0.0, 0), out=out / "clean", **common)
        assert clean.ok, clean.status
        calls = sum(r.usage.calls for r in clean.steps.values())
        print(f"fault-free run: {calls} model calls, {len(clean['plot'])} scenes")
        faults: Counter[str] = Counter()
        times = []
        finished = 0
        for seed in range(1, args.runs + 1):
            events: list[dict[str, Any]] = []
            start = time.perf_counter()
            result = chain.run(
                inputs,
                models=models(args.rate, seed),
                out=out / f"run{seed}",
                on_event=events.append,
                **common,
            )
            times.append(time.perf_counter() - start)
            finished += result.ok
            retried = [e["error"] for e in events if e["event"] == "retry"]
            for error in retried:
                kind = next(
                    (k for k in ("429", "50", "ReadTimeout", "disconnected") if k in error), "?"
                )
                faults[kind] += 1
            same = result.ok and result.outputs == clean.outputs
            same = same and files(result.run_dir) == files(clean.run_dir)
            ok = ok and same
            print(
                f"run {seed:2d}: {result.status}, {len(retried):3d} faults met and retried, "
                f"outputs {'equal to' if same else 'DIFFERENT from'} the fault-free run, "
                f"{times[-1]:.2f} s"
            )
        total = sum(faults.values())
        share = total / (total + calls * args.runs)
        print(
            f"\n{args.runs} runs at {args.rate:.0%}: {finished} finished, "
            f"{total} faults injected ({share:.1%} of {total + calls * args.runs} calls: "
            f"429 {faults['429']}, 5xx {faults['50']}, timeout {faults['ReadTimeout']}, "
            f"dropped {faults['disconnected']}); mean {sum(times) / len(times):.2f} s per run"
        )
        if args.permanent:
            failed = chain.run(
                inputs,
                models=models(args.rate, 99, permanent=[args.permanent]),
                out=out / "permanent",
                **common,
            )
            status = {s: r.status for s, r in failed.steps.items()}
            print(f"\npermanent fault at {args.permanent}: {failed.status}; {status}")
            resumed = resume_run(failed.run_dir, models=models(args.rate, 99), **common)
            same = resumed.ok and resumed.outputs == clean.outputs
            same = same and files(resumed.run_dir) == files(clean.run_dir)
            ok = ok and failed.status == "failed" and same
            print(
                f"resumed with the fault gone: {resumed.status}, outputs "
                f"{'equal to' if same else 'DIFFERENT from'} the fault-free run"
            )
    print("\nOK" if ok else "\nFAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
