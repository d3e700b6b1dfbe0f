"""Fault injection: the ``flaky`` provider fails a share of calls as web APIs do (429 with
Retry-After, timeouts, 5xx, dropped connections; permanent errors on demand), deterministically
from a seed. Runs meeting transient faults finish with the outputs of a fault-free run; a
permanent fault fails its step and skips its descendants only, and ``resume`` finishes the run
once the fault is gone.

The Dramatron chain (20 scenes) runs ``DRAMATURG_FAULT_RUNS`` times (default 20) at 30 %
transient failures; ``benchmarks/faults.py`` runs the same experiment and reports figures.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import dramaturg
from dramaturg import load_chain, resume_run
from dramaturg.cli import app
from dramaturg.providers.faults import FaultPlan

ROOT = Path(__file__).resolve().parents[2]
DRAMATRON = ROOT / "chains" / "dramatron.yaml"
INPUTS = {"logline": "A lighthouse keeper who bottles storms frees the last one.", "num_scenes": 20}
FAULT_RUNS = int(os.environ.get("DRAMATURG_FAULT_RUNS", "20"))

CHAIN = """
name: flaky
inputs:
  topic: {type: string, default: tides}
models:
  default:
    provider: flaky
    seed: 5
    retries: 12
    extra: {failure_rate: RATE, fault_seed: 3, faults: FAULTS, retry_after: AFTER, hang: 5}
    timeout: 0.2
steps:
  ideas: {prompt: {text: "Ideas about {{ topic }}"}, parse: lines}
  expand:
    for_each: ideas
    as: idea
    prompt: {text: "Expand: {{ idea }}"}
  title: {prompt: {text: "Title for {{ expand | join(' ') }}"}}
"""


def flaky_chain(project: Any, rate: float = 0.5, faults: str = "[rate_limit]", after: float = 0):
    text = CHAIN.replace("RATE", str(rate)).replace("FAULTS", faults)
    return project(text.replace("AFTER", str(after)))


def run(chain: Any, tmp_path: Path, events: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
    on_event = events.append if events is not None else None
    kw.setdefault("cache", False)  # every run meets the model (and its faults)
    return chain.run({}, out=tmp_path / "out", backoff=0.001, on_event=on_event, **kw)


def retries(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (e["step"], str(e["item"]), e["attempt"]) for e in events if e["event"] == "retry"
    )


# -- the provider --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("rate_limit", "rate limit (429)"),
        ("server_error", "error (50"),
        ("timeout", "ReadTimeout"),
        ("disconnect", "Server disconnected"),
        ("hang", "timed out"),
    ],
)
def test_every_fault_is_transient_retried_and_the_run_finishes(project, tmp_path, fault, says):
    chain = load_chain(flaky_chain(project, rate=0.5, faults=f"[{fault}]"))
    events: list[dict[str, Any]] = []
    result = run(chain, tmp_path, events)
    assert result.ok, {s: r.error for s, r in result.steps.items()}
    seen = [e for e in events if e["event"] == "retry"]
    assert seen, "a 50 % failure rate injected no fault"
    assert all(says in e["error"] for e in seen), seen[0]["error"]
    clean = load_chain(flaky_chain(project, rate=0)).run({}, out=None, backoff=0)
    assert result.outputs == clean.outputs


def test_faults_are_deterministic_from_the_seed(project, tmp_path):
    chain = load_chain(flaky_chain(project, rate=0.4, faults="[rate_limit, server_error]"))
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    a = run(chain, tmp_path, first, concurrency=8)
    b = run(chain, tmp_path, second, concurrency=1)  # another schedule, the same faults
    assert retries(first) == retries(second) and retries(first)
    assert a.outputs == b.outputs
    other = load_chain(
        project(
            CHAIN.replace("fault_seed: 3", "fault_seed: 4")
            .replace("RATE", "0.4")
            .replace("FAULTS", "[rate_limit]")
            .replace("AFTER", "0"),
            name="other",
        )
    )
    third: list[dict[str, Any]] = []
    run(other, tmp_path, third)
    assert retries(third) != retries(first)


def test_retry_after_is_honoured(project, tmp_path):
    chain = load_chain(flaky_chain(project, rate=0.5, after=0.25))
    events: list[dict[str, Any]] = []
    assert run(chain, tmp_path, events).ok
    delays = [e["delay"] for e in events if e["event"] == "retry"]
    assert delays and min(delays) >= 0.25  # the backoff alone is 0.001


def test_the_share_of_failing_calls_is_the_rate():
    plan = FaultPlan(failure_rate=0.3, fault_seed=1)
    failed = sum(plan.decide(f"call {i}", []) is not None for i in range(2000))
    assert 0.26 < failed / 2000 < 0.34
    assert set(plan.injected) == {"rate_limit", "timeout", "server_error", "disconnect"}


def test_bad_options_are_refused_before_the_run(project, tmp_path):
    path = project(
        CHAIN.replace("failure_rate: RATE", "failure_rat: 0.3")
        .replace("FAULTS", "[rate_limit]")
        .replace("AFTER", "0")
    )
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert "unknown option(s) 'failure_rat'" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()
    for rate, faults, says in [
        ("1.5", "[timeout]", "'failure_rate' must be a number from 0 to 1, got 1.5"),
        ("0.1", "[typhoon]", "'faults' must list some of rate_limit, timeout"),
    ]:
        path = project(CHAIN.replace("RATE", rate).replace("FAULTS", faults).replace("AFTER", "0"))
        r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
        assert r.exit_code == 2 and says in r.output, r.output


@pytest.mark.parametrize(
    ("provider", "extra", "says"),
    [
        ("fake", "{latency: null}", "option 'latency' must be seconds >= 0, got None"),
        ("fake", "{latency: soon}", "option 'latency' must be seconds >= 0, got 'soon'"),
        ("fake", "{fail: {a: often}}", "option 'fail' must map steps to a number"),
        ("fake", "{fail: [a]}", "option 'fail' must map steps to a number"),
        ("fake", "{responses: [a]}", "option 'responses' must map steps to answers"),
        ("flaky", "{latency: -1}", "option 'latency' must be seconds >= 0"),
        ("flaky", "{fault_seed: x}", "option 'fault_seed' must be an integer"),
        ("flaky", "{permanent: {a: 1}}", "option 'permanent' must list steps"),
    ],
)
def test_bad_fake_options_are_refused_before_the_run(project, tmp_path, provider, extra, says):
    path = project(
        f"name: bad\nmodels:\n  default: {{provider: {provider}, extra: {extra}}}\n"
        "steps:\n  a: {prompt: {text: hi}}\n"
    )
    for dry in ([], ["--dry-run"]) if provider == "fake" else ([],):
        r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), *dry])
        assert r.exit_code == 2, r.output
        assert says in r.output and "internal error" not in r.output
        assert not (tmp_path / "out").exists()


def test_a_transient_fault_on_every_try_gives_up_clearly(project, tmp_path):
    path = flaky_chain(project, rate=1.0, faults="[server_error]")
    path.write_text(path.read_text().replace("retries: 12", "retries: 2"))
    result = run(load_chain(path), tmp_path)
    assert result.status == "failed"
    assert "gave up after 3 tries" in (result.steps["ideas"].error or "")
    assert [s for s, r in result.steps.items() if r.status == "skipped"] == ["expand", "title"]


# -- the Dramatron chain -------------------------------------------------------------------------
def dramatron_models(rate: float, fault_seed: int, **extra: Any) -> dict[str, Any]:
    options = {"failure_rate": rate, "fault_seed": fault_seed, **extra}
    model = {"provider": "flaky", "seed": 1, "retries": 10, "extra": options}
    return {"default": model, "images": {**model, "extra": dict(options)}}


def images_of(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("steps/**/*.png")}


@pytest.fixture(scope="module")
def clean_dramatron(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("clean")
    result = load_chain(DRAMATRON).run(
        INPUTS, models=dramatron_models(0.0, 0), out=out, cache=False, backoff=0.001
    )
    assert result.ok and len(result["plot"]) == 20
    return result


def test_dramatron_runs_finish_under_30_percent_transient_faults(clean_dramatron, tmp_path):
    chain = load_chain(DRAMATRON)
    injected = 0
    for fault_seed in range(1, FAULT_RUNS + 1):
        events: list[dict[str, Any]] = []
        result = chain.run(
            INPUTS,
            models=dramatron_models(0.3, fault_seed),
            out=tmp_path / str(fault_seed),
            cache=False,
            backoff=0.001,
            on_event=events.append,
            export=fault_seed == 1,  # the exports once: the same files as the clean run's
        )
        failed = {s: r.error for s, r in result.steps.items() if r.status != "done"}
        assert result.ok, f"run with fault_seed {fault_seed}: {failed}"
        assert result.outputs == clean_dramatron.outputs, f"fault_seed {fault_seed}"
        assert images_of(result.run_dir) == images_of(clean_dramatron.run_dir)
        injected += len(retries(events))
        if fault_seed == 1:
            for name in ("screenplay.fountain", "screenplay.fdx"):
                text = (result.run_dir / name).read_text()
                assert text == (clean_dramatron.run_dir / name).read_text()
    calls = FAULT_RUNS * (3 + 20 + 20 + 2 + 20)  # title, characters, plot, places, dialogue,
    # portraits and illustrations
    assert 0.2 < injected / (calls + injected) < 0.4, injected


def test_permanent_fault_fails_its_step_and_descendants_and_resume_finishes(
    clean_dramatron, tmp_path
):
    chain = load_chain(DRAMATRON)
    failed = chain.run(
        INPUTS,
        models=dramatron_models(0.3, 7, permanent=["places/2"]),
        out=tmp_path,
        cache=False,
        backoff=0.001,
    )
    status = {s: r.status for s, r in failed.steps.items()}
    assert status == {
        "title": "done",
        "characters": "done",
        "plot": "done",
        "portraits": "done",
        "places": "failed",
        "dialogue": "skipped",
        "illustrations": "skipped",
    }
    assert "item 2" in (failed.steps["places"].error or "")
    assert "(400)" in (failed.steps["places"].error or "")
    assert failed.steps["dialogue"].skipped_because == "places"
    manifest = json.loads((failed.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert not (failed.run_dir / "screenplay.fountain").exists()  # no exports of a failed run
    # 19 of the 20 places finished and are kept
    assert len(list((failed.run_dir / "steps" / "places").glob("*.json"))) == 19

    # the fault is gone: resume keeps what finished and runs the rest
    events: list[dict[str, Any]] = []
    done = resume_run(
        failed.run_dir,
        models=dramatron_models(0.3, 7),
        cache=False,
        backoff=0.001,
        on_event=events.append,
    )
    assert done.ok and done.run_dir == failed.run_dir
    assert done.outputs == clean_dramatron.outputs
    assert images_of(done.run_dir) == images_of(clean_dramatron.run_dir)
    kept = {(e["step"], e["item"]) for e in events if e["event"] == "resumed"}
    assert ("plot", None) in kept and ("places", 5) in kept and ("places", 2) not in kept
    assert (done.run_dir / "screenplay.fountain").read_text() == (
        clean_dramatron.run_dir / "screenplay.fountain"
    ).read_text()


PERMANENT = """
name: permanent
models:
  default:
    provider: flaky
    extra:
      permanent_rate: 0.3
      failure_rate: 0.2
      fault_seed: 2
      responses: {ideas: "one\\ntwo\\nthree\\nfour\\nfive\\nsix\\nseven\\neight"}
steps:
  ideas: {prompt: {text: "Ideas"}, parse: lines}
  expand: {for_each: ideas, prompt: {text: "Expand: {{ item }}"}}
  title: {prompt: {text: "Title for {{ expand | join(' ') }}"}}
  tagline: {prompt: {text: "A tagline for {{ ideas | first }}"}}
"""


def test_a_share_of_permanent_faults_fails_only_what_depends_on_them(project, tmp_path):
    result = run(load_chain(project(PERMANENT)), tmp_path)
    expand = result.steps["expand"]
    assert expand.status == "failed" and "(400)" in (expand.error or "")
    assert 0 < expand.items_failed < expand.items_total == 8
    assert result.steps["title"].status == "skipped"
    assert result.steps["ideas"].status == result.steps["tagline"].status == "done"
    with pytest.raises(dramaturg.RunFailedError):
        result.raise_for_status()
