"""The studio in a real browser (Debian's chromium through playwright), on a 10-scene run of the
Dramatron chain made with the streaming fake (tests/studio/studio_site.py): answers at once,
a word every ``--stream`` seconds.

- **Page load**: the run's page, from navigation to its load event (Navigation Timing), and the
  server's time to the first byte; median of ``--repeat`` loads.
- **Click to first token**: from the click on "Regenerate this one" (one scene's dialogue) to
  its first streamed word on the page; the first regenerate after the studio started (cold),
  then ``--repeat`` more (warm).
- **Static assets**: the bytes of the scripts and the stylesheet a page loads.
- **Other hosts**: requests the pages made to any other address (must be 0).
- **Start**: ``dramaturg studio RUN --port 0 --no-browser`` from its launch to its first page
  served (median of ``--repeat``).

    .venv/bin/python benchmarks/studio.py [--scenes 10] [--repeat 5] [--stream 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "studio"))

from browser import Guard, browser, served  # noqa: E402
from studio_site import streaming_fake  # noqa: E402

FIRST_TOKEN = """(item) => new Promise((resolve) => {
  const t0 = performance.now();
  const seen = new MutationObserver(() => {
    const box = document.getElementById('stream-dialogue-' + item);
    if (box && box.textContent.length > 0) { seen.disconnect(); resolve(performance.now() - t0); }
  });
  // the body: a job's start replaces the live area itself
  seen.observe(document.body, {subtree: true, childList: true, characterData: true});
  [...document.querySelectorAll('button')]
    .find((b) => b.textContent.trim() === 'Regenerate this one').click();
})"""

JOB_ENDED = """() => { const job = document.querySelector('#job');
  return !job.classList.contains('job-running') && job.textContent.includes('regenerating'); }"""

LOAD = """() => { const t = performance.getEntriesByType('navigation')[0];
  return [t.loadEventEnd - t.startTime, t.responseStart - t.requestStart]; }"""


async def measure(args: Any, run: Path) -> None:
    from dramaturg.studio.app import Studio
    from dramaturg.studio.workspace import Workspace

    workspace, _ = Workspace.at(run.parent)
    studio = Studio(workspace, models={"default": streaming_fake(0.0, args.stream)})
    with served(studio) as site:
        async with browser() as b:
            context = await b.new_context(viewport={"width": 1400, "height": 900})
            page = await context.new_page()
            guard = Guard(site.base)
            page.on("request", guard.request)
            sizes: dict[str, int] = {}

            async def size(response: Any) -> None:
                if "/static/" in response.url and response.url.endswith((".js", ".css")):
                    sizes[response.url] = len(await response.body())

            page.on("response", size)
            await page.goto(site.url)  # the token, then the cookie
            url = f"{site.base}/runs/{run.name}"
            loads, firsts = [], []
            for _ in range(args.repeat):
                await page.goto(url)
                await page.wait_for_load_state("load")
                total, ttfb = await page.evaluate(LOAD)
                loads.append(total)
                firsts.append(ttfb)
            clicks = []
            for i in range(args.repeat + 1):
                item = i % args.scenes
                await page.goto(f"{url}?step=dialogue&item={item}")
                await page.wait_for_selector(f".step-panel[data-item='{item}']")
                await page.wait_for_function(
                    "() => !document.querySelector('.htmx-request, .htmx-settling')"
                )
                clicks.append(await page.evaluate(FIRST_TOKEN, item))
                await page.wait_for_function(JOB_ENDED, timeout=60_000)
            await context.close()
    print(f"python {sys.version.split()[0]}; {args.scenes} scenes; a word every {args.stream}s")
    print("\n| measure | value | goal |")
    print("|---|---|---|")
    print(f"| page load, median of {args.repeat} (ms) | {statistics.median(loads):.0f} | <= 500 |")
    print(f"| server's first byte, median (ms) | {statistics.median(firsts):.0f} | |")
    print(f"| click to first token, first after start (ms) | {clicks[0]:.0f} | <= 300 |")
    warm = statistics.median(clicks[1:])
    print(f"| click to first token, warm, median of {args.repeat} (ms) | {warm:.0f} | <= 300 |")
    print(f"| static assets loaded (KB) | {sum(sizes.values()) / 1024:.1f} | <= 100 |")
    print(f"| requests to other hosts | {len(guard.foreign)} | 0 |")


def start_time(run: Path, repeat: int) -> float:
    """Seconds from launching ``dramaturg studio`` to its first page served (median)."""
    import re
    import signal
    import subprocess

    import httpx

    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "dramaturg", "studio", str(run), "--port", "0", "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        found = re.search(r"http://\S+", proc.stdout.readline())
        assert found, "no URL printed"
        answer = httpx.get(found.group(0), follow_redirects=True, timeout=10)
        assert answer.status_code == 200
        times.append(time.perf_counter() - began)
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--stream", type=float, default=0.02, help="seconds between streamed words")
    args = ap.parse_args()
    from dramaturg import load_chain

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = load_chain(ROOT / "chains" / "dramatron.yaml").run(
            {
                "logline": "A keeper who bottles storms must free the last one.",
                "num_scenes": args.scenes,
            },
            models={"default": streaming_fake()},
            out=Path(tmp),
            cache=False,
        )
        assert result.ok and result.run_dir is not None
        print(f"(the {args.scenes}-scene run was made in {time.perf_counter() - start:.1f} s)")
        asyncio.run(measure(args, result.run_dir))
        start = start_time(result.run_dir, args.repeat)
        print(f"| dramaturg studio: launch to first page, median (s) | {start:.2f} | <= 2 |")


if __name__ == "__main__":
    main()
