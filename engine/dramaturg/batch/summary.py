"""A batch's summary: ``summary.csv`` (one line a row) and ``summary.html`` (the same table, with
links to each row's screenplay and report). Model text is data in both: escaped in the page,
and a CSV cell that a spreadsheet would run as a formula gets a leading apostrophe."""

from __future__ import annotations

import csv
import html
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .folder import BatchFolder
    from .runner import BatchResult, RowResult

SUMMARY_CSV = "summary.csv"
SUMMARY_HTML = "summary.html"
COLUMNS = ("row", "id", "status", "title", "calls", "tokens", "cost", "seconds", "run", "error")
#: what the title column shows: the chain's ``title`` step, else its first output's text
SHOWN = 120


def _title(row: RowResult) -> str:
    run = row.run
    if run is None:
        return ""
    steps = ["title", *run.output_steps, *run.steps]
    for sid in steps:
        step = run.steps.get(sid)
        if step is not None and step.status == "done" and isinstance(step.output, str):
            text = " ".join(step.output.split())
            return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
    return ""


def _cells(row: RowResult, batch: BatchFolder) -> dict[str, Any]:
    run = "" if row.run_dir is None else str(row.run_dir.relative_to(batch.root))
    cost = "" if row.cost is None else f"{row.cost:.6f}"
    return {
        "row": row.index,
        "id": row.id,
        "status": row.status,
        "title": _title(row),
        "calls": row.calls,
        "tokens": row.tokens,
        "cost": cost,
        "seconds": f"{row.wall:.2f}",
        "run": run,
        "error": (row.error or "")[:500],
    }


def _csv_safe(value: Any) -> Any:
    """A cell a spreadsheet would evaluate (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_summary(batch: BatchFolder, result: BatchResult) -> None:
    rows = [_cells(r, batch) for r in result.rows]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for cells in rows:
        writer.writerow({k: _csv_safe(v) for k, v in cells.items()})
    batch.rundir.write_text(SUMMARY_CSV, out.getvalue())
    batch.rundir.write_text(SUMMARY_HTML, _page(batch, result, rows))


def _links(batch: BatchFolder, run: str) -> str:
    if not run:
        return ""
    links = []
    for rel, label in (("screenplay.pdf", "PDF"), ("screenplay.fountain", "Fountain")):
        if (batch.root / run / rel).is_file():
            links.append(f'<a href="{html.escape(run + "/" + rel)}">{label}</a>')
    if (batch.root / run / "report.html").is_file():
        links.append(f'<a href="{html.escape(run + "/report.html")}">report</a>')
    return " · ".join(links)


def _page(batch: BatchFolder, result: BatchResult, rows: list[dict[str, Any]]) -> str:
    e = html.escape
    done, failed = result.count("done"), result.count("failed")
    stopped = result.count("stopped")
    tokens = sum(r.tokens for r in result.rows)
    body = "".join(
        f'<tr class="{e(c["status"])}"><td>{c["row"]}</td><td>{e(c["status"])}</td>'
        f"<td>{e(c['title'])}</td><td>{c['calls']}</td><td>{c['tokens']:,}</td>"
        f"<td>{e(c['cost'])}</td><td>{e(c['seconds'])}</td>"
        f"<td>{_links(batch, c['run'])}</td><td>{e(c['error'])}</td></tr>"
        for c in rows
    )
    style = (
        "body{font:14px/1.4 system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
        "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
        "tr.failed td{background:#fdecea}tr.stopped td{background:#fff8e1}"
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>batch {e(batch.root.name)}</title><style>{style}</style></head><body>"
        f"<h1>Batch {e(batch.root.name)}</h1>"
        f"<p>{len(result.rows)} rows: {done} done, {failed} failed, {stopped} stopped; "
        f"{tokens:,} tokens.</p>"
        "<table><thead><tr><th>row</th><th>status</th><th>title</th><th>calls</th>"
        "<th>tokens</th><th>cost</th><th>s</th><th>files</th><th>error</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>\n"
    )
