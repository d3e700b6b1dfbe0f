"""report.html, written at the end of every run: a self-contained page with the DAG and the
timeline drawn as inline SVG, coloured by status and cache hits, the token and cost table, the
images, and each step's prompts and outputs; nothing loaded from the network, every text
escaped, no secret written."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dramaturg import load_chain
from dramaturg.observe.report.colours import STATUS
from dramaturg.observe.report.layout import crossings, is_dummy, layered

CHAIN = """
name: reported
models:
  default:
    provider: fake
    extra:
      responses:
        ideas: "one\\ntwo\\nthree"
        title: "<script>alert(1)</script> Salt"
steps:
  title: {prompt: {text: "Name a story about {{ subject }}"}, description: The title.}
  ideas: {prompt: {text: "Ideas for {{ title }}"}, parse: lines}
  para: {for_each: ideas, as: idea, prompt: {text: "About {{ idea }}"}}
  art: {kind: image, for_each: ideas, as: idea, prompt: {text: "{{ idea }}"}}
  bad: {prompt: {text: "x {{ title }}"}, attempts: 1,
        parse: {type: regex, pattern: "(?P<n>never-\\\\d{9})"}}
  after: {prompt: {text: "{{ bad }} {{ para }}"}}
inputs: {subject: {type: string}}
"""
SECRET = "sk-live-0123456789abcdef"


def report_of(result) -> str:  # type: ignore[no-untyped-def]
    path = result.run_dir / "report.html"
    assert path.is_file()
    return path.read_text()


def svg(page: str, cls: str) -> str:
    found = re.search(rf'<svg [^>]*class="{cls}".*?</svg>', page, re.S)
    assert found, f"no {cls} svg"
    return found.group(0)


def test_every_run_writes_a_self_contained_report(project, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_API_KEY", SECRET)
    result = load_chain(project(CHAIN)).run({"subject": f"tides {SECRET}"}, out=tmp_path)
    assert result.status == "failed"  # a failed run gets its report too
    assert result.report == "report.html"
    page = report_of(result)
    manifest = json.loads((result.run_dir / "manifest.json").read_text())

    # offline: nothing to fetch, no script; a CSP forbids loading anything
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<script" not in page  # the model's "<script>" answer is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Salt" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert SECRET not in page and "***" in page

    # the DAG: a box per step linking to its details, coloured by status
    dag = svg(page, "dag")
    for step in ("title", "ideas", "para", "art", "bad", "after"):
        assert f'<a href="#step-{step}">' in dag
    assert dag.count("<path d=") == 7  # one per dependency
    assert f'stroke="{STATUS["failed"][1]}" stroke-width="1.4"' in dag
    assert 'stroke-dasharray="4 3"' in dag  # the skipped step
    assert "3/3 items" in dag

    # the timeline: a row per step, a bar per fan-out item
    timeline = svg(page, "timeline")
    for i in range(3):
        assert f"<title>para {i}: ran " in timeline
    assert "para (3)" in timeline

    # tokens and cost, with the manifest's totals
    usage = manifest["usage"]
    total = re.search(r'<tr class="total">.*?</tr>', page, re.S).group(0)
    assert f'<td class="n">{usage["input_tokens"]:,}</td>' in total
    assert f'<td class="n">{usage["total_tokens"]:,}</td>' in total
    assert "fake:fake" in page

    # the images: inlined thumbnails linking to the files in the run folder
    for i in range(3):
        assert f'<a href="steps/art/{i}.png"><img src="data:image/jpeg;base64,' in page

    # each step's prompts and outputs, in collapsible sections
    for step in ("title", "ideas", "para", "art", "bad", "after"):
        assert f'<details class="step" id="step-{step}">' in page
    assert "About two" in page  # an item's prompt
    assert "The title." in page  # the step's description from the chain
    assert "could not be parsed" in page  # the failure, in full
    assert "Skipped: bad failed." in page
    assert '<a href="manifest.json">' in page


def test_cache_hits_are_drawn_as_such(project, tmp_path):
    chain = load_chain(project(CHAIN))
    chain.run({"subject": "tides"}, out=tmp_path)
    again = chain.run({"subject": "tides"}, out=tmp_path)
    page = report_of(again)
    dag = svg(page, "dag")
    cached_stroke = STATUS["cached"][1]
    assert f'fill="{STATUS["cached"][0]}" stroke="{cached_stroke}" stroke-width="1.4"' in dag
    assert "cached · 3/3 items" in dag
    assert "<title>para 0: from the step cache</title>" in svg(page, "timeline")


def test_layout_orders_layers_to_avoid_crossings():
    # a -> d and b -> c cross when each layer keeps its given order
    layout = layered([["a", "b"], ["c", "d"]], [("a", "d"), ("b", "c")])
    assert crossings(layout) == 0
    # an edge over two layers passes through a point in the middle layer
    layout = layered([["a"], ["b"], ["c"]], [("a", "b"), ("b", "c"), ("a", "c")])
    route = layout.routes[("a", "c")]
    assert [layer for layer, _ in route] == [0, 1, 2]
    assert any(is_dummy(n) for n in layout.layers[1])


def test_report_of_the_dramatron_chain_draws_its_shape(tmp_path):
    root = Path(__file__).resolve().parents[2]
    result = load_chain(root / "chains" / "dramatron.yaml").run(
        {"logline": "A keeper bottles storms.", "num_scenes": 3}, dry_run=True, out=tmp_path
    )
    page = report_of(result)
    dag = svg(page, "dag")
    for step in ("title", "characters", "plot", "places", "dialogue", "portraits", "illustrations"):
        assert f'<a href="#step-{step}">' in dag
    assert '<a href="screenplay.html">' in page  # the exports are linked
