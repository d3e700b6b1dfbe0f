"""``report.html``: one self-contained page about a run.

The run at a glance (status, time, tokens, cost, inputs), the DAG and the timeline as inline SVG,
a token and cost table per step and per model, the images the run made (thumbnails inlined,
full-size files linked relative to the run folder), then every step's prompts and outputs in
collapsible sections. CSS is inline, images are data URIs, there is no script; a
Content-Security-Policy forbids the page to load anything. Every text from the run is escaped.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from typing import Any

from ..._version import __version__
from .. import units as figures
from .colours import attr, colours
from .dag import dag_svg, is_cached
from .data import Item, RunData, Step
from .images import Thumbs
from .repairs import repairs_html, summary
from .timeline import timeline_svg

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CLIP = 20_000  # characters of one prompt or output shown; the rest is in the run folder
MAX_ITEMS = 200  # items listed per step
EXPORT_NAMES = {
    "screenplay.html": "Illustrated screenplay (HTML)",
    "screenplay-illustrated.pdf": "Illustrated screenplay (PDF)",
    "screenplay.pdf": "Screenplay (PDF)",
    "screenplay.fountain": "Fountain",
    "screenplay.fdx": "Final Draft",
    "log.md": "Run log",
}


def _css() -> str:
    css = resources.files("dramaturg.observe.report") / "assets" / "report.css"
    return css.read_text("utf-8")


def _clip(text: str, where: str) -> str:
    if len(text) <= CLIP:
        return attr(text)
    rest = len(text) - CLIP
    return (
        attr(text[:CLIP])
        + f'\n<span class="clip">… {rest:,} more characters in {attr(where)}</span>'
    )


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _badge(status: str) -> str:
    fill, stroke = colours(status)
    return (
        f'<span class="badge" style="background:{fill};color:{stroke};border-color:{stroke}">'
        f"{attr(status)}</span>"
    )


def _facts(run: RunData) -> str:
    m = run.manifest
    usage, cost, priced = m.usage, m.cost, "cost" in m.model_fields_set
    started, ended = run.started, run.ended
    took = figures.duration(ended - started) if started and ended else "-"
    counts: dict[str, int] = {}
    for s in run.steps.values():
        counts[s.status] = counts.get(s.status, 0) + 1
    steps = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    money = figures.money(cost.total, cost.currency) if priced else "-"
    if priced and not cost.complete:
        money += " + unknown"
    cached = sum(s.entry.cached for s in run.steps.values())
    facts = [
        ("Started", figures.when(started)),
        ("Took", took),
        ("Steps", steps or "-"),
        ("Model calls", f"{usage.calls:,}" + (f" (+{cached} cached)" if cached else "")),
        (
            "Tokens",
            f"{usage.total_tokens:,} <small>({usage.input_tokens:,} in / "
            f"{usage.output_tokens:,} out)</small>",
        ),
        ("Cost", attr(money)),
    ]
    return "".join(
        f'<div class="fact"><dt>{k}</dt><dd>{v if k in ("Tokens", "Cost") else attr(v)}</dd></div>'
        for k, v in facts
    )


def _inputs(run: RunData) -> str:
    inputs = run.manifest.inputs
    if not inputs:
        return ""
    rows = "".join(
        f"<tr><th>{attr(k)}</th><td>{attr(_show(v))}</td></tr>" for k, v in inputs.items()
    )
    return f'<table class="inputs">{rows}</table>'


def _header(run: RunData) -> str:
    m = run.manifest
    return (
        '<header class="masthead">'
        '<p class="eyebrow">Dramaturg run report</p>'
        f"<h1>{attr(m.chain.name)} {_badge(m.status)}</h1>"
        f'<p class="run-id">{attr(m.run_id or run.root.name)}</p>'
        f'<dl class="facts">{_facts(run)}</dl>'
        f"{_inputs(run)}"
        "</header>"
    )


def _cost_tables(run: RunData, order: list[str]) -> str:
    m = run.manifest
    cost, priced = m.cost, "cost" in m.model_fields_set
    currency = cost.currency
    rows = []
    for sid in order:
        s = run.steps[sid]
        u = s.usage
        images = s.kind == "image"
        step_cost = (
            figures.money(s.entry.cost, currency) if "cost" in s.entry.model_fields_set else "-"
        )
        rows.append(
            "<tr>"
            f'<th><a href="#step-{attr(sid)}">{attr(sid)}</a></th>'
            f"<td>{_badge(s.status)}</td>"
            f"<td>{attr(s.entry.model_ref or s.entry.model or '-')}</td>"
            f'<td class="n">{u.calls:,}{" img" if images and u.calls else ""}</td>'
            f'<td class="n">{s.entry.cached:,}</td>'
            f'<td class="n">{u.input_tokens:,}</td>'
            f'<td class="n">{u.output_tokens:,}</td>'
            f'<td class="n">{u.total_tokens:,}</td>'
            f'<td class="n">{attr(step_cost)}</td>'
            "</tr>"
        )
    u = m.usage
    total = figures.money(cost.total, currency) if priced else "-"
    if priced and not cost.complete:
        total += " + unknown"
    rows.append(
        '<tr class="total"><th>Total</th><td></td><td></td>'
        f'<td class="n">{u.calls:,}</td>'
        f'<td class="n">{sum(s.entry.cached for s in run.steps.values()):,}</td>'
        f'<td class="n">{u.input_tokens:,}</td>'
        f'<td class="n">{u.output_tokens:,}</td>'
        f'<td class="n">{u.total_tokens:,}</td>'
        f'<td class="n">{attr(total)}</td></tr>'
    )
    head = (
        "<tr><th>Step</th><th>Status</th><th>Model</th><th>Calls</th><th>Cached</th>"
        "<th>Tokens in</th><th>Tokens out</th><th>Total</th><th>Cost</th></tr>"
    )
    out = [f'<table class="figures"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>']
    by_model = m.by_model
    if by_model:
        mrows = "".join(
            f"<tr><th>{attr(ref)}</th>"
            f'<td class="n">{e.calls - e.images:,}</td>'
            f'<td class="n">{e.images:,}</td>'
            f'<td class="n">{e.input_tokens:,}</td>'
            f'<td class="n">{e.output_tokens:,}</td>'
            f'<td class="n">{attr(figures.money(e.cost, currency))}</td></tr>'
            for ref, e in by_model.items()
        )
        out.append(
            '<table class="figures by-model"><thead><tr><th>Model</th><th>Text calls</th>'
            "<th>Images</th><th>Tokens in</th><th>Tokens out</th><th>Cost</th></tr></thead>"
            f"<tbody>{mrows}</tbody></table>"
        )
    prices = cost.prices
    if "prices" in cost.model_fields_set:
        files = ", ".join(prices.files)
        out.append(
            f'<p class="note">Costs from the price table ({attr(files)}; prices noted '
            f"{attr(prices.checked or '?')}). The shipped prices are examples: check them "
            "against each provider's price page (<code>dramaturg prices</code> shows the table "
            "in force). “?” is a model without a price; calls answered from the step cache "
            "cost nothing.</p>"
        )
    return "".join(out)


def _gallery(run: RunData, thumbs: Thumbs, order: list[str]) -> str:
    figures_ = []
    for sid in order:
        for rel, caption in run.steps[sid].images:
            figures_.append(
                f"<figure>{thumbs.tag(rel, caption)}"
                f"<figcaption>{attr(caption)}</figcaption></figure>"
            )
    if not figures_:
        return ""
    return (
        '<section id="images"><h2>Images</h2><div class="gallery">'
        + "".join(figures_)
        + '</div><p class="note">Thumbnails; click one for the full image in the run folder.</p>'
        "</section>"
    )


def _block(title: str, text: str | None, where: str, cls: str = "") -> str:
    if text is None:
        return ""
    return f'<h4>{attr(title)}</h4><pre class="{cls}">{_clip(text, where)}</pre>'


def _preview(output: Any) -> str:
    """A glimpse of an item's output for its one-line summary."""
    if isinstance(output, dict):
        output = next((v for v in output.values() if isinstance(v, str) and v), "")
    elif isinstance(output, list):
        output = next((v for v in output if isinstance(v, str) and v), "")
    return figures.shorten(output, 70) if isinstance(output, str) else ""


def _item(step: Step, it: Item, thumbs: Thumbs) -> str:
    bits = [] if it.status == "done" else [it.status]
    if it.cached:
        bits.append("from the step cache")
    elif it.started is not None and it.ended is not None:
        bits.append(figures.duration(it.ended - it.started))
    tokens = int(it.usage.get("total_tokens") or 0)
    if tokens and not it.cached:
        bits.append(f"{tokens:,} tokens")
    if it.repairs:
        bits.append(f"loop guard: {summary(it.repairs)}")
    if not it.image:
        bits.append(_preview(it.output))
    body = _block("Prompt", it.prompt, f"prompts/{step.id}/{it.index}.txt", "prompt")
    body += repairs_html(it.repairs)
    if it.image:
        body += f'<div class="item-image">{thumbs.tag(it.image, f"{step.id} {it.index}")}</div>'
    elif it.output is not None:
        body += _block("Output", _show(it.output), f"steps/{step.id}/{it.index}.json", "output")
    if it.raw is not None and (it.status != "done" or not isinstance(it.output, str)):
        body += _block("Raw model text", it.raw, f"steps/{step.id}/{it.index}.json", "raw")
    return (
        f'<details class="item"><summary><span class="item-no">{it.index}</span> '
        f"{attr(' · '.join(b for b in bits if b))}</summary>{body}</details>"
    )


def _step(step: Step, thumbs: Thumbs) -> str:
    status = "cached" if step.status == "done" and is_cached(step) else step.status
    e = step.entry
    started, ended = e.started, e.ended
    u = step.usage
    meta = [
        f"model {e.model_ref or e.model or '-'}",
        figures.duration(ended - started) if started and ended else "",
        f"{u.total_tokens:,} tokens" if u.total_tokens else "",
        f"{len(step.items)} items" if step.items else "",
    ]
    summary = (
        f'<summary><span class="dot" style="background:{colours(status)[1]}"></span>'
        f"<strong>{attr(step.id)}</strong> {_badge(status)} "
        f'<span class="meta">{attr(" · ".join(m for m in meta if m))}</span></summary>'
    )
    parts = []
    if step.description:
        parts.append(f'<p class="desc">{attr(step.description)}</p>')
    facts = []
    if step.needs:
        facts.append(f"needs {', '.join(step.needs)}")
    if step.for_each:
        facts.append(f"for each: {step.for_each}")
    if e.attempts:
        facts.append(f"{e.attempts} model call attempt(s)")
    if e.cached:
        facts.append(f"{e.cached} from the step cache")
    if e.resumed:
        facts.append(f"{e.resumed} kept by resume")
    if e.repairs:
        facts.append(f"{e.repairs} loop-guard repair(s)")
    if facts:
        parts.append(f'<p class="step-facts">{attr(" · ".join(facts))}</p>')
    if e.error is not None:
        parts.append(f'<pre class="error">{attr(e.error.message or "")}</pre>')
    if e.skipped_because:
        parts.append(f'<p class="error-note">Skipped: {attr(e.skipped_because)} failed.</p>')
    if step.items:
        shown = step.items[:MAX_ITEMS]
        parts.append('<div class="items">' + "".join(_item(step, it, thumbs) for it in shown))
        if len(step.items) > MAX_ITEMS:
            parts.append(
                f'<p class="note">{len(step.items) - MAX_ITEMS} more items in '
                f"steps/{attr(step.id)}/.</p>"
            )
        parts.append("</div>")
    else:
        parts.append(_block("Prompt", step.prompt, f"prompts/{step.id}.txt", "prompt"))
        parts.append(repairs_html(step.repairs))
        if step.kind == "image" and step.images:
            parts.append("".join(thumbs.tag(rel, cap) for rel, cap in step.images))
        elif step.output is not None:
            parts.append(_block("Output", _show(step.output), f"steps/{step.id}.json", "output"))
        if step.raw is not None and step.status != "done":
            parts.append(_block("Raw model text", step.raw, f"steps/{step.id}.raw.txt", "raw"))
    return (
        f'<details class="step" id="step-{attr(step.id)}">{summary}'
        f'<div class="step-body">{"".join(parts)}</div></details>'
    )


def _files(run: RunData) -> str:
    links = []
    for name, label in EXPORT_NAMES.items():
        if (run.root / name).is_file():
            links.append(f'<li><a href="{name}">{attr(label)}</a> <code>{name}</code></li>')
    for name in ("manifest.json", "chain.yaml"):
        if (run.root / name).is_file():
            links.append(f'<li><a href="{name}">{name}</a></li>')
    return f'<section id="files"><h2>Files</h2><ul class="files">{"".join(links)}</ul></section>'


def render_report(run: RunData, order: list[str]) -> str:
    """The report page for a run (``order``: the steps in the order they can run)."""
    thumbs = Thumbs(run.root)
    m = run.manifest
    title = (
        f"{m.chain.name if 'chain' in m.model_fields_set else 'run'} · {m.run_id or run.root.name}"
    )
    gallery = _gallery(run, thumbs, order)
    nav = [("graph", "Graph"), ("timeline", "Timeline"), ("costs", "Tokens and cost")]
    if gallery:
        nav.append(("images", "Images"))
    nav += [("steps", "Steps"), ("files", "Files")]
    steps = "\n".join(_step(run.steps[sid], thumbs) for sid in order)
    made = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Dramaturg {__version__}">
<title>{attr(title)}</title>
<style>
{_css()}
</style>
</head>
<body>
<main class="report">
{_header(run)}
<nav class="toc">{"".join(f'<a href="#{k}">{v}</a>' for k, v in nav)}</nav>
<section id="graph"><h2>Graph</h2><div class="scroll">{dag_svg(run)}</div></section>
<section id="timeline"><h2>Timeline</h2>
<p class="note">Seconds since the run started. Pale: waiting for a free model slot; solid: the
model call; blue: answered from the step cache. Fan-out items stack when they ran together.</p>
<div class="scroll">{timeline_svg(run, order)}</div></section>
<section id="costs"><h2>Tokens and cost</h2>{_cost_tables(run, order)}</section>
{gallery}
<section id="steps"><h2>Steps</h2><p class="note">Open a step for the prompts sent and the
outputs parsed (fan-out: each item).</p>
{steps}
</section>
{_files(run)}
<footer>Written by Dramaturg {__version__} on {made} from <code>manifest.json</code>; rewrite it
with <code>dramaturg report {attr(run.root)}</code>.</footer>
</main>
</body>
</html>
"""
