"""Step cache and reruns: what a cold run, an unchanged rerun and a one-scene edit cost.

The Dramatron chain (``chains/dramatron.yaml``) runs with ``num_scenes=20`` on fake models: a
:class:`~dramaturg.providers.fakes.FakeChatModel` answering each call after ``--latency`` seconds
(0.1 by default) for ``default`` and a :class:`~dramaturg.providers.fakes.FakeImageModel` (instant)
for ``images``, so wall times are mostly model latency, as with a hosted model. Each row is a fresh
model pair; the calls column is what those models were asked (text calls + images).

Rows, all on the same run folder and a step cache in a temporary folder:

* **cold run**: ``chain.run`` on an empty step cache;
* **unchanged rerun**: ``dramaturg.rerun`` of that run folder (0 calls: every call is kept);
* **unchanged rerun, no step cache**: the same with ``cache=False`` (kept from the run folder's
  own call log);
* **edit last scene + rerun**: ``dramaturg.edit_step`` of the last scene's beat, then a rerun:
  exactly that scene's dialogue is asked again;
* **edit middle scene + rerun**: the same for scene 10: its dialogue and the next scene's
  (whose prompt shows the previous beat, as in Dramatron).

Every operation also rebuilds the chain's exports (Fountain, FDX, PDF, HTML, illustrated PDF,
log); ``--no-export`` leaves them out of the runs and reruns (an edit always rebuilds them).

Usage::

    .venv/bin/python benchmarks/cache.py
    .venv/bin/python benchmarks/cache.py --scenes 40 --latency 0.2 --no-export
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOGLINE = "A lighthouse keeper who collects storms in jars discovers one of them is alive."


def _models(latency: float) -> tuple[Any, Any]:
    from dramaturg import FakeChatModel, FakeImageModel

    return FakeChatModel(latency=latency), FakeImageModel()


def _edit_beat(run_dir: Path, scene: int) -> None:
    import dramaturg

    plot = copy.deepcopy(dramaturg.load_run(run_dir)["plot"])
    plot[scene]["beat"] = f"Wren smashes jar {scene} and the storm fills the lamp room."
    dramaturg.edit_step(run_dir, "plot", plot)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scenes", type=int, default=20, help="num_scenes (default 20)")
    ap.add_argument("--latency", type=float, default=0.1, help="seconds per text call (0.1)")
    ap.add_argument("--concurrency", type=int, default=8, help="calls in flight (default 8)")
    ap.add_argument("--no-export", action="store_true", help="runs and reruns export nothing")
    args = ap.parse_args(argv)
    if args.scenes < 2:
        ap.error("--scenes must be at least 2")

    import dramaturg

    chain = dramaturg.load_chain(ROOT / "chains" / "dramatron.yaml")
    export = not args.no_export
    rows: list[tuple[str, float, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="dramaturg-bench-cache-") as tmp:
        cache = Path(tmp) / "cache"

        def measure(label: str, fn: Any) -> Any:
            text, images = _models(args.latency)
            models = {"default": text, "images": images}
            t0 = time.perf_counter()
            result = fn(models)
            rows.append((label, time.perf_counter() - t0, len(text.calls), len(images.requests)))
            if result is not None and not result.ok:
                raise RuntimeError(f"{label}: {[(s.id, s.error) for s in result.failed_steps()]}")
            return result

        inputs = {"logline": LOGLINE, "num_scenes": args.scenes}
        first = measure(
            "cold run",
            lambda m: chain.run(
                inputs,
                models=m,
                out=Path(tmp) / "out",
                cache=cache,
                concurrency=args.concurrency,
                export=export,
            ),
        )
        run_dir = first.run_dir
        scenes = len(first["plot"])

        def rerun(m: dict[str, Any], **kw: Any) -> Any:
            return dramaturg.rerun(run_dir, models=m, export=export, **kw)

        measure("unchanged rerun", rerun)
        measure("unchanged rerun, no step cache", lambda m: rerun(m, cache=False))

        def edit_then_rerun(scene: int) -> Any:
            def go(m: dict[str, Any]) -> Any:
                _edit_beat(run_dir, scene)
                return rerun(m)

            return go

        measure(f"edit last scene ({scenes - 1}) + rerun", edit_then_rerun(scenes - 1))
        middle = scenes // 2
        measure(f"edit middle scene ({middle}) + rerun", edit_then_rerun(middle))

    print(
        f"python {sys.version.split()[0]}; Dramatron chain, {scenes} scenes; text model: "
        f"FakeChatModel(latency={args.latency}); images: FakeImageModel(); "
        f"concurrency={args.concurrency}; exports {'on' if export else 'off'}"
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'wall s':>7}  {'text calls':>10}  {'images':>6}")
    for label, wall, calls, images in rows:
        print(f"{label:{width}}  {wall:7.2f}  {calls:10d}  {images:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
