"""Dramaturg vs LangGraph vs plain LangChain (LCEL) on the same DAGs and the same fake model.

Every engine calls the same LangChain chat model (``dramaturg.FakeChatModel``, a
``BaseChatModel``) with ``ainvoke``, one call per step or fan-out item, prompts built from the
upstream outputs. Each measurement runs in its own process (fresh imports, its own peak RSS).

1. **Overhead per step** on an instant model: a sequence of N steps, each reading the previous
   output (N = 1,000 and 10,000). ``(wall - time inside the model) / N``. Dramaturg is measured
   twice: with its run folder on disk (every prompt, item and step record written atomically,
   fsynced where a crash could lose work) and with ``out=None`` (nothing on disk), the setting
   comparable to the peers, which keep everything in memory. Load + validation of the chain
   file is reported apart.
2. **Dramatron-shaped DAG**, 20 scenes, 100 ms per call: title and characters, then plot,
   portraits per character; one call per unique place (5); dialogue per scene (20) after the
   places; an illustration per place. All calls are chat calls so that the engines do the same
   work. The bound is the sum of latencies along the longest path (characters -> plot ->
   places -> dialogue = 4 x 100 ms); the table shows wall / bound (goal <= 1.05), for the first
   run in a fresh process (what a CLI run pays: first-call imports in LangChain and the engine)
   and for later runs in the same process (the Python API, a server), with the overhead in ms.
3. **Peak memory** (max RSS of the process) for the 1,000-step sequence.
4. **Import time**: ``dramaturg --help`` as a user runs it, and ``import`` of each library,
   median of 5 fresh processes, every library from bytecode (Dramaturg's is compiled first,
   as installing a wheel does).

Install the peers with ``pip install -e '.[bench]'``, then:

    .venv/bin/python benchmarks/vs_peers.py [--sizes 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SCENES = 20
PLACES = 5
CHARACTERS = 4
LATENCY = 0.1
CALLS = 3 + CHARACTERS + 2 * PLACES + SCENES
#: runs of the DAG per process: the first pays first-call imports (as a CLI run does), the
#: others show a long-lived process (the Python API, a server)
DAG_RUNS = 4


# -- the shared fake model ------------------------------------------------------------------
def _model(latency: float) -> Any:
    from dramaturg import FakeChatModel

    return FakeChatModel(latency=latency, responses={})


async def _ask(model: Any, prompt: str) -> str:
    from langchain_core.messages import HumanMessage

    msg = await model.ainvoke([HumanMessage(prompt)])
    return str(msg.content)[:60]


# LangGraph reads these annotations at graph-build time: they live at module level
class SeqState(TypedDict):
    last: str


class DagState(TypedDict, total=False):
    title: str
    characters: str
    plot: str
    portraits: Annotated[list[str], operator.add]
    places: Annotated[list[str], operator.add]
    dialogue: Annotated[list[str], operator.add]
    illustrations: Annotated[list[str], operator.add]


# -- 1. a sequence of N steps ---------------------------------------------------------------
def sequence_yaml(n: int) -> str:
    lines = ["name: seq", "models:", "  default: {provider: fake}", "steps:"]
    lines.append('  s0:\n    prompt: {text: "start"}')
    for i in range(1, n):
        lines.append(f'  s{i}:\n    prompt: {{text: "next after {{{{ s{i - 1} }}}}"}}')
    return "\n".join(lines) + "\n"


def seq_dramaturg(n: int, disk: bool) -> dict[str, float]:
    from dramaturg import load_chain

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seq.yaml"
        path.write_text(sequence_yaml(n))
        t0 = time.perf_counter()
        chain = load_chain(path)
        load = time.perf_counter() - t0
        model = _model(0.0)
        t0 = time.perf_counter()
        result = chain.run(
            {},
            models={"default": model},
            out=Path(tmp) / "out" if disk else None,
            cache=False,
            export=False,
        )
        wall = time.perf_counter() - t0
        assert result.ok and len(model.calls) == n
        inside = sum(c.ended - c.started for c in model.calls)
    return {"wall": wall, "inside": inside, "load": load}


def seq_langgraph(n: int) -> dict[str, float]:
    from langgraph.graph import END, START, StateGraph

    model = _model(0.0)
    State = SeqState

    def node(i: int) -> Any:
        async def run(state: SeqState) -> dict[str, str]:
            return {"last": await _ask(model, f"next after {state['last']}")}

        return run

    t0 = time.perf_counter()
    g = StateGraph(State)
    for i in range(n):
        g.add_node(f"s{i}", node(i))
    g.add_edge(START, "s0")
    for i in range(1, n):
        g.add_edge(f"s{i - 1}", f"s{i}")
    g.add_edge(f"s{n - 1}", END)
    app = g.compile()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    asyncio.run(app.ainvoke({"last": "start"}, {"recursion_limit": n + 10}))
    wall = time.perf_counter() - t0
    assert len(model.calls) == n
    return {"wall": wall, "inside": sum(c.ended - c.started for c in model.calls), "load": load}


def seq_lcel(n: int) -> dict[str, float]:
    from langchain_core.runnables import RunnableLambda, RunnableSequence

    model = _model(0.0)

    async def step(prev: str) -> str:
        return await _ask(model, f"next after {prev}")

    t0 = time.perf_counter()
    chain = RunnableSequence(*[RunnableLambda(step) for _ in range(n)])
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    asyncio.run(chain.ainvoke("start"))
    wall = time.perf_counter() - t0
    assert len(model.calls) == n
    return {"wall": wall, "inside": sum(c.ended - c.started for c in model.calls), "load": load}


# -- 2. the Dramatron-shaped DAG ------------------------------------------------------------
DRAMATRON = f"""
name: dramatron-shape
models:
  default: {{provider: fake}}
steps:
  title:
    prompt: {{text: "title for the logline"}}
  characters:
    prompt: {{text: "characters for the logline"}}
    parse: lines
  portraits:
    for_each: "range({CHARACTERS}) | list"
    as: c
    prompt: {{text: "portrait {{{{ c }}}} from {{{{ characters | length }}}} characters"}}
  plot:
    prompt: {{text: "plot from {{{{ characters | length }}}} characters"}}
  places:
    for_each: "range({PLACES}) | list"
    as: p
    prompt: {{text: "place {{{{ p }}}} of {{{{ plot }}}}"}}
  dialogue:
    for_each: "range({SCENES}) | list"
    as: s
    prompt: {{text: "dialogue {{{{ s }}}} of {{{{ plot }}}} with {{{{ places | length }}}} places"}}
  illustrations:
    for_each: "range({PLACES}) | list"
    as: p
    prompt: {{text: "illustration {{{{ p }}}} from {{{{ places | length }}}} places"}}
"""


def dag_dramaturg(disk: bool = True, runs: int = 1) -> list[float]:
    from dramaturg import load_chain

    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.yaml"
        path.write_text(DRAMATRON)
        chain = load_chain(path)
        for i in range(runs):
            model = _model(LATENCY)
            t0 = time.perf_counter()
            result = chain.run(
                {},
                models={"default": model},
                out=Path(tmp) / f"out{i}" if disk else None,
                concurrency=64,
                cache=False,
                export=False,
            )
            walls.append(time.perf_counter() - t0)
            assert result.ok and len(model.calls) == CALLS
    return walls


def dag_langgraph(runs: int = 1) -> list[float]:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    model = _model(LATENCY)
    State = DagState

    async def title(s: DagState) -> dict[str, Any]:
        return {"title": await _ask(model, "title for the logline")}

    async def characters(s: DagState) -> dict[str, Any]:
        return {"characters": await _ask(model, "characters for the logline")}

    async def plot(s: DagState) -> dict[str, Any]:
        return {"plot": await _ask(model, f"plot from {s['characters']}")}

    async def portrait(s: dict[str, Any]) -> dict[str, Any]:
        return {"portraits": [await _ask(model, f"portrait {s['i']}")]}

    async def place(s: dict[str, Any]) -> dict[str, Any]:
        return {"places": [await _ask(model, f"place {s['i']} of {s['plot']}")]}

    async def scene(s: dict[str, Any]) -> dict[str, Any]:
        return {"dialogue": [await _ask(model, f"dialogue {s['i']} of {s['plot']}")]}

    async def illustration(s: dict[str, Any]) -> dict[str, Any]:
        return {"illustrations": [await _ask(model, f"illustration {s['i']}")]}

    def join(s: DagState) -> dict[str, Any]:  # every place done: dialogue and illustrations
        return {}

    g = StateGraph(State)
    for name, fn in [
        ("title", title),
        ("characters", characters),
        ("plot", plot),
        ("portrait", portrait),
        ("place", place),
        ("scene", scene),
        ("illustration", illustration),
        ("places_done", join),
    ]:
        g.add_node(name, fn)
    g.add_edge(START, "title")
    g.add_edge(START, "characters")
    g.add_edge("characters", "plot")
    g.add_conditional_edges(
        "characters", lambda s: [Send("portrait", {"i": i}) for i in range(CHARACTERS)]
    )
    g.add_conditional_edges(
        "plot", lambda s: [Send("place", {"i": i, "plot": s["plot"]}) for i in range(PLACES)]
    )
    g.add_edge("place", "places_done")

    def after_places(s: DagState) -> list[Any]:
        return [Send("scene", {"i": i, "plot": s["plot"]}) for i in range(SCENES)] + [
            Send("illustration", {"i": i}) for i in range(PLACES)
        ]

    g.add_conditional_edges("places_done", after_places)
    for end in ("title", "portrait", "scene", "illustration"):
        g.add_edge(end, END)
    app = g.compile()
    walls = []
    for i in range(runs):
        t0 = time.perf_counter()
        asyncio.run(app.ainvoke({}))
        walls.append(time.perf_counter() - t0)
        assert len(model.calls) == CALLS * (i + 1), len(model.calls)
    return walls


def dag_lcel(runs: int = 1) -> list[float]:
    from langchain_core.runnables import RunnableLambda, RunnableParallel

    model = _model(LATENCY)

    def ask(prompt: Any) -> RunnableLambda[Any, str]:
        async def run(x: Any) -> str:
            return await _ask(model, prompt(x))

        return RunnableLambda(run)

    def fan(n: int, prompt: Any) -> RunnableLambda[Any, list[str]]:
        async def run(x: Any) -> list[str]:
            return list(await asyncio.gather(*(_ask(model, prompt(x, i)) for i in range(n))))

        return RunnableLambda(run)

    after_places = RunnableParallel(
        dialogue=fan(SCENES, lambda x, i: f"dialogue {i} of {x['plot']}"),
        illustrations=fan(PLACES, lambda x, i: f"illustration {i}"),
    )
    story = (
        RunnableParallel(plot=ask(lambda c: f"plot from {c}"), characters=lambda c: c)
        | RunnableParallel(
            plot=lambda x: x["plot"],
            places=fan(PLACES, lambda x, i: f"place {i} of {x['plot']}"),
        )
        | after_places
    )
    chain = RunnableParallel(
        title=ask(lambda _: "title for the logline"),
        rest=ask(lambda _: "characters for the logline")
        | RunnableParallel(
            portraits=fan(CHARACTERS, lambda c, i: f"portrait {i}"),
            story=story,
        ),
    )
    walls = []
    for i in range(runs):
        t0 = time.perf_counter()
        asyncio.run(chain.ainvoke({}))
        walls.append(time.perf_counter() - t0)
        assert len(model.calls) == CALLS * (i + 1), len(model.calls)
    return walls


def dag_bare(runs: int = 1) -> list[float]:
    """No engine: the same calls by hand with asyncio.gather, the floor every engine sits on
    (the fake model's own work, LangChain's ainvoke and the event loop's timer granularity)."""
    model = _model(LATENCY)

    async def story() -> None:
        async def left() -> None:
            characters = await _ask(model, "characters for the logline")

            async def rest() -> None:
                plot = await _ask(model, f"plot from {characters}")
                await asyncio.gather(*(_ask(model, f"place {i} of {plot}") for i in range(PLACES)))
                await asyncio.gather(
                    *(_ask(model, f"dialogue {i} of {plot}") for i in range(SCENES)),
                    *(_ask(model, f"illustration {i}") for i in range(PLACES)),
                )

            await asyncio.gather(rest(), *(_ask(model, f"portrait {i}") for i in range(CHARACTERS)))

        await asyncio.gather(_ask(model, "title for the logline"), left())

    walls = []
    for i in range(runs):
        t0 = time.perf_counter()
        asyncio.run(story())
        walls.append(time.perf_counter() - t0)
        assert len(model.calls) == CALLS * (i + 1), len(model.calls)
    return walls


# -- driver ---------------------------------------------------------------------------------
def _child(kind: str, arg: str) -> None:
    """Run one measurement in this (fresh) process and print it as JSON."""
    n = int(arg) if arg.isdigit() else 0
    out: dict[str, Any]
    if kind == "seq-dramaturg-disk":
        out = seq_dramaturg(n, disk=True)
    elif kind == "seq-dramaturg-memory":
        out = seq_dramaturg(n, disk=False)
    elif kind == "seq-langgraph":
        out = seq_langgraph(n)
    elif kind == "seq-lcel":
        out = seq_lcel(n)
    elif kind == "dag-dramaturg":
        out = {"walls": dag_dramaturg(runs=DAG_RUNS)}
    elif kind == "dag-dramaturg-memory":
        out = {"walls": dag_dramaturg(disk=False, runs=DAG_RUNS)}
    elif kind == "dag-langgraph":
        out = {"walls": dag_langgraph(runs=DAG_RUNS)}
    elif kind == "dag-lcel":
        out = {"walls": dag_lcel(runs=DAG_RUNS)}
    elif kind == "dag-bare":
        out = {"walls": dag_bare(runs=DAG_RUNS)}
    else:
        raise SystemExit(f"unknown measurement {kind}")
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


def measure(kind: str, arg: str = "") -> dict[str, Any]:
    proc = subprocess.run(
        [PY, __file__, "--child", kind, arg], capture_output=True, text=True, check=False
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{kind} {arg} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[7:])  # type: ignore[no-any-return]


def import_time(cmd: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return

    import compileall
    import importlib.metadata as md

    # the peers run from the bytecode pip compiled when it installed them; an editable install
    # of Dramaturg has none if PYTHONDONTWRITEBYTECODE is set (it is on some machines), and
    # would compile its sources in every process: compile them once, as a wheel install does
    import dramaturg

    compileall.compile_dir(str(Path(dramaturg.__file__).parent), quiet=1)

    versions = {p: md.version(p) for p in ("langgraph", "langchain-core")}
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
    )

    engines = [
        ("Dramaturg (run folder on disk)", "seq-dramaturg-disk"),
        ("Dramaturg (out=None, in memory)", "seq-dramaturg-memory"),
        ("LangGraph StateGraph", "seq-langgraph"),
        ("LangChain LCEL RunnableSequence", "seq-lcel"),
    ]
    print("\n## 1. Overhead per step, instant model (median of", args.repeat, "runs)\n")
    head = " | ".join(f"{n:,} steps: ms/step | build s" for n in args.sizes)
    print(f"| engine | {head} | peak RSS @ {args.sizes[0]:,} |")
    print("|---|" + "---|---|" * len(args.sizes) + "---|")
    for label, kind in engines:
        cells = []
        rss = 0.0
        for n in args.sizes:
            runs = [measure(kind, str(n)) for _ in range(args.repeat if n <= 2000 else 1)]
            per_step = statistics.median((r["wall"] - r["inside"]) / n * 1000 for r in runs)
            build = statistics.median(r["load"] for r in runs)
            cells.append(f"{per_step:.3f} | {build:.2f}")
            if n == args.sizes[0]:
                rss = statistics.median(r["rss_mb"] for r in runs)
        print(f"| {label} | {' | '.join(cells)} | {rss:.0f} MiB |", flush=True)

    bound = 4 * LATENCY
    print(
        f"\n## 2. Dramatron-shaped DAG, {SCENES} scenes, {LATENCY * 1000:.0f} ms per call "
        f"(bound {bound:.2f} s)\n"
    )
    print(
        "| engine | first run in a fresh process: wall s | wall / bound | "
        f"later runs (median of {args.repeat} x {DAG_RUNS - 1}): wall s | wall / bound | "
        "overhead ms | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, kind in [
        ("Dramaturg (run folder on disk)", "dag-dramaturg"),
        ("Dramaturg (out=None, in memory)", "dag-dramaturg-memory"),
        ("LangGraph (Send fan-out)", "dag-langgraph"),
        ("LangChain LCEL (RunnableParallel)", "dag-lcel"),
        ("no engine: asyncio.gather by hand (the floor)", "dag-bare"),
    ]:
        runs = [measure(kind) for _ in range(args.repeat)]
        first = statistics.median(r["walls"][0] for r in runs)
        warm = statistics.median(w for r in runs for w in r["walls"][1:])
        rss = statistics.median(r["rss_mb"] for r in runs)
        print(
            f"| {label} | {first:.3f} | {first / bound:.3f} | {warm:.3f} | {warm / bound:.3f} "
            f"| {(warm - bound) * 1000:.0f} | {rss:.0f} MiB |",
            flush=True,
        )

    print("\n## 4. Import / start-up time (median of 5 fresh processes)\n")
    print("| what | seconds |")
    print("|---|---|")
    exe = Path(PY).parent / "dramaturg"
    for label, cmd in [
        ("`dramaturg --help`", [str(exe), "--help"]),
        ("`import dramaturg`", [PY, "-c", "import dramaturg"]),
        ("`import langgraph.graph`", [PY, "-c", "import langgraph.graph"]),
        ("`import langchain_core.runnables`", [PY, "-c", "import langchain_core.runnables"]),
        ("`python -c pass` (interpreter alone)", [PY, "-c", "pass"]),
    ]:
        print(f"| {label} | {import_time(cmd):.3f} |", flush=True)


if __name__ == "__main__":
    main()
