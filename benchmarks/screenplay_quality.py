"""How good are the screenplays the Dramatron chain writes on the embedded model?

Runs ``chains/dramatron.yaml`` on the default (embedded SmolLM2-135M) model for several loglines,
with the step cache off (every call is made), and prints per run:

- ``done``: every level parsed (title, characters, plot, places, dialogue of every scene);
- ``scenes``: scenes written / asked;
- ``lines``: dialogue lines (speeches; action lines are not counted);
- ``rep in``: dialogue or action lines that repeat another line of the same scene, and ``rep
  across``: lines that repeat a line of an earlier scene (case, punctuation and spacing aside;
  each extra occurrence counts once);
- ``copied``: lines that copy 8 or more consecutive words of the context the chain gave the
  model (logline, character and place descriptions, beats);
- ``known``: share of speeches whose cue is a character of the run (full or first name);
- ``4-gram``: distinct word 4-grams / all 4-grams of the dialogue (1.0: no phrase repeated);
- ``calls``, ``repairs`` (loop-guard resamples and drops), generated tokens per second of wall
  and minutes (with the exports).

Then the medians, and the issue's goals: 0 repeated lines, 0 copied lines, 100 % known speakers,
>= 4 scenes each when 6 are asked, distinct 4-grams >= 0.8, every run complete.

    .venv/bin/python benchmarks/screenplay_quality.py [--runs 5] [--num-scenes 6] [--seed 1]
        [--out DIR]   # keep the run folders (default: a temporary folder)
        [--show N]    # print run N's screenplay.fountain at the end
        [--chain FILE]  # measure a variant of the chain (its prompts beside it, as in chains/)
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


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
COPY_WORDS = 8


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("\u2019", "'"))


def _norm(text: str) -> str:
    return " ".join(_words(text))


def cue_name(character: str) -> str:
    return re.sub(r"\s*\(.*?\)\s*", " ", character).strip().upper()


def _grams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def measure(result: Any, asked: int) -> dict[str, Any]:
    """The quality figures of one finished (or failed) run."""
    steps = result.steps
    out = result.outputs
    plot = out.get("plot") or []
    characters = out.get("characters") or []
    known: set[str] = set()
    for c in characters:
        name = str(c.get("name", "")).upper()
        known |= {name, name.split(" ")[0]} if name else set()
    context = [str(result.inputs.get("logline", ""))]
    context += [str(c.get("description", "")) for c in characters]
    context += [str(p) for p in out.get("places") or []]
    context += [str(s.get("beat", "")) for s in plot]
    context_grams: set[tuple[str, ...]] = set()
    for text in context:
        context_grams |= _grams(_words(text), COPY_WORDS)
    cues = known_cues = rep_in = rep_across = copied = 0
    words: list[str] = []
    script: set[str] = set()
    for elements in out.get("dialogue") or []:
        scene: set[str] = set()
        for e in elements or []:
            text = str(e.get("line") or e.get("text") or "")
            if e.get("type") == "dialogue":
                cues += 1
                known_cues += cue_name(str(e.get("character", ""))) in known
                words += _words(text)
            key = _norm(text)
            if not key:
                continue
            if key in scene:
                rep_in += 1
            elif key in script:
                rep_across += 1
            scene.add(key)
            if _grams(_words(text), COPY_WORDS) & context_grams:
                copied += 1
        script |= scene
    grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    usage = result.usage
    return {
        "complete": all(s.status == "done" for s in steps.values()),
        "scenes": len(plot),
        "asked": asked,
        "lines": cues,
        "rep_in": rep_in,
        "rep_across": rep_across,
        "copied": copied,
        "known": known_cues / cues if cues else 0.0,
        "distinct4": len(set(grams)) / len(grams) if grams else 0.0,
        "calls": usage.calls,
        "tokens": usage.output_tokens,
        "repairs": sum(s.repairs for s in steps.values()),
    }


GOALS = [
    ("0 repeated lines", lambda r: r["rep_in"] + r["rep_across"] == 0),
    ("0 copied lines", lambda r: r["copied"] == 0),
    ("100% known speakers", lambda r: r["known"] == 1.0),
    (">= 4 scenes of 6", lambda r: r["scenes"] >= min(4, r["asked"])),
    ("distinct 4-grams >= 0.8", lambda r: r["distinct4"] >= 0.8),
    ("complete", lambda r: r["complete"]),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--num-scenes", type=int, default=None, help="default: the chain's")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--show", type=int, default=0, help="print run N's Fountain at the end")
    ap.add_argument("--chain", type=Path, default=CHAIN, help="a variant of the chain to measure")
    args = ap.parse_args()

    from dramaturg import load_chain

    chain = load_chain(args.chain)
    asked = args.num_scenes or int(chain.spec.inputs["num_scenes"].default)
    out = args.out or Path(tempfile.mkdtemp(prefix="dramaturg-quality-"))
    rows = []
    cols = "# | logline | done | scenes | lines | rep in | rep across | copied | known | 4-gram"
    cols += " | calls | repairs | tok/s | minutes"
    print(f"| {cols} |\n|{'---|' * (cols.count('|') + 1)}", flush=True)
    folders = []
    for i, logline in enumerate(LOGLINES[: args.runs], 1):
        inputs: dict[str, Any] = {"logline": logline, "seed": args.seed}
        if args.num_scenes is not None:
            inputs["num_scenes"] = args.num_scenes
        started = time.perf_counter()
        result = chain.run(inputs, out=out, cache=False)  # every call made for real
        wall = time.perf_counter() - started
        folders.append(result.run_dir)
        m = measure(result, asked)
        m["minutes"], m["rate"] = wall / 60, m["tokens"] / wall
        rows.append(m)
        short = logline if len(logline) <= 40 else logline[:37] + "..."
        print(
            f"| {i} | {short} | {'yes' if m['complete'] else 'NO'} | {m['scenes']}/{asked} "
            f"| {m['lines']} | {m['rep_in']} | {m['rep_across']} | {m['copied']} "
            f"| {m['known']:.0%} | {m['distinct4']:.2f} | {m['calls']} | {m['repairs']} "
            f"| {m['rate']:.1f} | {m['minutes']:.1f} |",
            flush=True,
        )
    if not rows:
        return
    med = statistics.median
    print(
        f"\nmedians: scenes {med(r['scenes'] for r in rows)}, lines {med(r['lines'] for r in rows)}"
        f", known {med(r['known'] for r in rows):.0%}, distinct 4-grams "
        f"{med(r['distinct4'] for r in rows):.2f}, {med(r['rate'] for r in rows):.1f} tokens/s, "
        f"{med(r['minutes'] for r in rows):.1f} minutes per run"
    )
    for goal, ok in GOALS:
        met = sum(1 for r in rows if ok(r))
        print(f"goal {goal}: {met}/{len(rows)} runs {'MET' if met == len(rows) else 'missed'}")
    print(f"runs in {out}")
    if 0 < args.show <= len(folders) and folders[args.show - 1] is not None:
        print("\n" + (folders[args.show - 1] / "screenplay.fountain").read_text())


if __name__ == "__main__":
    main()
