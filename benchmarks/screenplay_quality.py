"""How good are the screenplays the Dramatron chain writes on the embedded model?

Runs ``chains/dramatron.yaml`` on the default (embedded SmolLM2-135M) model for several loglines
and prints, per run:

- ``complete``: every level parsed (title, characters, plot, places, dialogue of every scene);
- ``scenes``: scenes in the plot;
- ``known cues``: share of dialogue cues that are characters of the run (full or first name);
- ``repeats``: repeated paragraphs: within each scene, every speech or action line that
  appears again (after normalising case and spaces) counts once per extra occurrence;
- ``4-gram``: distinct word 4-grams / all 4-grams over the run's dialogue (1.0 = no phrase
  repeated; looping text scores low);
- ``calls``, ``resamples`` (answers that failed to parse or looped and were asked again), and
  minutes taken (with the exports). The step cache is off: every call is made.

    .venv/bin/python benchmarks/screenplay_quality.py [--runs 5] [--num-scenes 6] [--seed 1]
        [--out DIR]   # keep the run folders (default: a temporary folder)
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHAIN = ROOT / "chains" / "dramatron.yaml"

LOGLINES = [
    "A lighthouse keeper who bottles storms must free the last one before it drowns her town.",
    "Two rival bakers are snowed in together the night before the village's bread contest.",
    "A retired astronaut teaches her grandson to sail, and learns he is afraid of the sea.",
    "A forger of old maps is hired to draw a country that does not exist, then finds it.",
    "A night-shift nurse discovers that one of her patients has been dead for forty years.",
    "A boy who can hear the thoughts of trees tries to stop the logging of his grandfather's wood.",
    "A chess prodigy and her estranged father must play as partners in a prison tournament.",
]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip(" .!?")


def cue_name(character: str) -> str:
    return re.sub(r"\s*\(.*?\)\s*", " ", character).strip().upper()


def measure(result: Any) -> dict[str, Any]:
    """The quality figures of one finished (or failed) run."""
    steps = result.steps
    complete = all(s.status == "done" for s in steps.values())
    plot = result.outputs.get("plot") or []
    characters = result.outputs.get("characters") or []
    known: set[str] = set()
    for c in characters:
        name = str(c.get("name", "")).upper()
        known |= {name, name.split(" ")[0]} if name else set()
    scenes = result.outputs.get("dialogue") or []
    cues = known_cues = repeats = 0
    words: list[str] = []
    for elements in scenes:
        seen: dict[str, int] = {}
        for e in elements or []:
            text = e.get("line") or e.get("text") or ""
            if e.get("type") == "dialogue":
                cues += 1
                known_cues += cue_name(str(e.get("character", ""))) in known
                words += re.findall(r"[\w']+", text.casefold())
            key = _norm(text)
            if key:
                seen[key] = seen.get(key, 0) + 1
        repeats += sum(n - 1 for n in seen.values() if n > 1)
    grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    usage = result.usage
    return {
        "complete": complete,
        "scenes": len(plot),
        "cues": cues,
        "known_cues": known_cues / cues if cues else 0.0,
        "repeats": repeats,
        "distinct4": len(set(grams)) / len(grams) if grams else 0.0,
        "calls": usage.calls,
        "resamples": sum(max(0, s.attempts - max(1, s.items_total or 1)) for s in steps.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--num-scenes", type=int, default=None, help="default: the chain's")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from dramaturg import load_chain

    chain = load_chain(CHAIN)
    out = args.out or Path(tempfile.mkdtemp(prefix="dramaturg-quality-"))
    rows = []
    header = (
        f"| # | logline | complete | scenes | known cues | repeats | 4-gram | calls "
        f"| resamples | minutes |\n|{'---|' * 10}"
    )
    print(header, flush=True)
    for i, logline in enumerate(LOGLINES[: args.runs], 1):
        inputs: dict[str, Any] = {"logline": logline, "seed": args.seed}
        if args.num_scenes is not None:
            inputs["num_scenes"] = args.num_scenes
        started = time.perf_counter()
        result = chain.run(inputs, out=out, cache=False)  # every call made for real
        minutes = (time.perf_counter() - started) / 60
        m = measure(result)
        m["minutes"] = minutes
        rows.append(m)
        short = logline if len(logline) <= 40 else logline[:37] + "..."
        print(
            f"| {i} | {short} | {'yes' if m['complete'] else 'NO'} | {m['scenes']} "
            f"| {m['known_cues']:.0%} ({m['cues']}) | {m['repeats']} | {m['distinct4']:.2f} "
            f"| {m['calls']} | {m['resamples']} | {minutes:.1f} |",
            flush=True,
        )
    if rows:
        done = sum(r["complete"] for r in rows)
        print(
            f"\n{done}/{len(rows)} complete; median scenes "
            f"{statistics.median(r['scenes'] for r in rows)}, known cues "
            f"{statistics.median(r['known_cues'] for r in rows):.0%}, repeats "
            f"{statistics.median(r['repeats'] for r in rows)}, distinct 4-grams "
            f"{statistics.median(r['distinct4'] for r in rows):.2f}, minutes "
            f"{statistics.median(r['minutes'] for r in rows):.1f} per run"
        )
        print(f"runs in {out}")


if __name__ == "__main__":
    main()
