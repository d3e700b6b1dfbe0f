"""``dramaturg runs list | show``, ``open``, ``report`` and ``prices``: looking at finished runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import app, fail, print_error

if TYPE_CHECKING:
    from rich.console import Console

    from ..store.history import RunInfo
    from ..store.manifest import Manifest

runs_app = typer.Typer(
    help="The runs in an output folder: a table of them, or everything about one.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(runs_app, name="runs")

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="The folder holding the run folders.")]
RunArg = Annotated[
    str,
    typer.Argument(
        help="A run folder, a run id in --out (or part of one, e.g. its hash), or 'last'.",
        show_default=False,
    ),
]


def _console() -> Console:
    """stdout; when it is not a terminal (a pipe, a file) tables are not squeezed to 80
    columns: $COLUMNS or 200."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=int(os.environ.get("COLUMNS") or 200))
    return console


def _money(amount: float | None, currency: str, complete: bool = True) -> str:
    from ..observe.units import money

    return money(amount, currency) + ("" if complete else "+?")


@runs_app.command("list")
def runs_list(
    out: OutOpt = Path("outputs"),
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Show at most this many (0: all).")
    ] = 20,
) -> None:
    """The runs in a folder, newest first.

    Columns: id, chain, logline (or first input), status, scenes (when the chain has a plot
    step), tokens, cost and duration. A killed run shows as 'stopped' (dramaturg resume).

    [dim]Examples:[/dim]
      dramaturg runs list
      dramaturg runs list --out runs -n 0
    """
    from rich.table import Table
    from rich.text import Text

    from ..batch.folder import list_batches
    from ..observe import units as figures
    from ..store.history import list_runs

    runs = list_runs(out)
    batches = list_batches(out)
    if not runs and not batches:
        print_error(
            f"no runs in {out}\n  hint: `dramaturg run CHAIN` makes one; --out picks the folder"
        )
        raise typer.Exit(0)
    if batches:
        from .batch_cmds import print_batches

        print_batches(batches)
    if not runs:
        return
    shown = runs[:limit] if limit else runs
    rows = [
        [
            r.id,
            r.chain,
            figures.shorten(r.subject, 60),
            _status(r),
            "-" if r.scenes is None else str(r.scenes),
            figures.tokens(r.tokens),
            _money(r.cost, r.currency, r.cost_complete) if r.cost is not None else "-",
            figures.duration(r.duration),
        ]
        for r in shown
    ]
    names = ["id", "chain", "logline / input", "status", "scenes", "tokens", "cost", "duration"]
    widths = [
        max(len(n), *(len(Text.from_markup(row[k])) for row in rows)) for k, n in enumerate(names)
    ]
    console = _console()

    def room() -> int:  # what is left for the logline on this terminal
        fixed = sum(w for n, w in zip(names, widths, strict=True) if n != "logline / input")
        return console.width - fixed - 2 * (len(names) - 1)

    if room() < 16:  # narrow: the chain's name is in the run id already
        k = names.index("chain")
        del names[k], widths[k]
        for row in rows:
            del row[k]
    table = Table(box=None, pad_edge=False, header_style="bold")
    for k, name in enumerate(names):
        if name == "logline / input":  # the column that gives way on a narrow terminal
            width = max(min(room(), widths[k]), 10)
            table.add_column(name, overflow="ellipsis", no_wrap=True, width=width)
        else:
            justify = "left" if name in ("id", "chain", "status") else "right"
            table.add_column(name, justify=justify, no_wrap=True, width=widths[k])  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if len(shown) < len(runs):
        console.print(f"[dim]{len(runs) - len(shown)} older runs not shown (-n 0 shows all)[/dim]")


def _status(r: RunInfo) -> str:
    colour = {"done": "green", "failed": "red", "running": "cyan", "stopped": "yellow"}
    c = colour.get(r.status, "magenta")
    return f"[{c}]{r.status}[/{c}]"


@runs_app.command("show")
def runs_show(run: RunArg, out: OutOpt = Path("outputs")) -> None:
    """Everything about one run, step by step.

    Inputs, each step's status, model, items, calls, cache hits, tokens, cost and time, the
    totals per model, errors, and the files it wrote.

    [dim]Examples:[/dim]
      dramaturg runs show last
      dramaturg runs show outputs/20261122-143005-dramatron-3fa9c2
      dramaturg runs show 3fa9c2
    """
    try:
        from ..store.history import find_run, run_info
        from ..store.readback import read_manifest

        path = find_run(run, out)
        manifest = read_manifest(path)
    except Exception as exc:
        raise fail(exc) from None
    _show(path, manifest, run_info(path, manifest))


def _show(path: Path, m: Manifest, info: RunInfo) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..observe import units as figures

    console = _console()
    usage, cost, steps = m.usage, m.cost, m.steps
    currency = cost.currency
    cached = sum(s.cached for s in steps.values())
    head = [
        ("run", f"[bold]{escape(info.id)}[/bold]  {escape(str(path))}"),
        ("chain", escape(f"{m.chain.name} ({m.chain.file or '?'})")),
        ("status", _status(info)),
        ("started", f"{figures.when(info.started)}, took {figures.duration(info.duration)}"),
    ]
    for k, v in m.inputs.items():
        head.append((f"  {k}", escape(figures.shorten(str(v), 100))))
    head.append(
        (
            "tokens",
            f"{usage.total_tokens:,} ({usage.input_tokens:,} in / "
            f"{usage.output_tokens:,} out), {usage.calls:,} calls"
            + (f", {cached} from the step cache" if cached else ""),
        )
    )
    if "cost" in m.model_fields_set:
        note = "" if cost.complete else f" + unknown ({', '.join(cost.unpriced)})"
        checked = cost.prices.checked or "?"
        head.append(
            (
                "cost",
                f"{_money(cost.total, currency)}{escape(note)}  "
                f"[dim](price table: example prices noted {escape(str(checked))}; "
                "`dramaturg prices`)[/dim]",
            )
        )
    else:
        head.append(("cost", "- (run made before costs were recorded)"))
    width = max(len(k) for k, _ in head)
    for k, v in head:
        console.print(f"[dim]{k:<{width}}[/dim]  {v}")

    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    for name in (
        "step",
        "status",
        "model",
        "items",
        "calls",
        "cached",
        "in",
        "out",
        "cost",
        "time",
    ):
        table.add_column(name, justify="left" if name in ("step", "status", "model") else "right")
    for sid, s in steps.items():
        u, items = s.usage, s.items
        started, ended = s.started, s.ended
        status = s.status
        if s.error is not None:
            status = f"[red]{status}[/red]"
        table.add_row(
            sid,
            status,
            escape(str(s.model_ref or s.model or "-")),
            f"{items.done or 0}/{items.total}"
            if items is not None and items.total is not None
            else "",
            str(u.calls),
            str(s.cached),
            f"{u.input_tokens:,}",
            f"{u.output_tokens:,}",
            _money(s.cost, currency) if "cost" in s.model_fields_set else "-",
            figures.duration(ended - started) if started and ended else "-",
        )
    console.print()
    console.print(table)
    by_model = m.by_model
    if by_model:
        models = Table(box=None, pad_edge=False, header_style="bold")
        for name in ("model", "text calls", "images", "in", "out", "cost"):
            models.add_column(name, justify="left" if name == "model" else "right")
        for ref, e in by_model.items():
            models.add_row(
                escape(ref),
                str(e.calls - e.images),
                str(e.images),
                f"{e.input_tokens:,}",
                f"{e.output_tokens:,}",
                _money(e.cost, currency),
            )
        console.print()
        console.print(models)
    for sid, s in steps.items():
        if s.error is not None:
            why = escape(str(s.error.message))
            console.print(f"\n[red]error[/red] in step {escape(sid)}: {why}")
    files = [f for fs in m.exports.values() for f in fs]
    if (path / "report.html").is_file():
        files.append("report.html")
    if files:
        console.print(f"\n[dim]files in[/dim] {escape(str(path))}/")
        console.print("  " + "  ".join(escape(f) for f in files))


_DETACHED: list[subprocess.Popen[bytes]] = []


def _opener() -> list[str] | None:
    """The system's command that opens a file in its usual application (None: none here)."""
    if sys.platform == "darwin":
        return ["open"]
    if os.name == "nt":  # pragma: no cover - not tested on Windows
        return ["cmd", "/c", "start", ""]
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None  # no desktop to open it on (ssh, container, CI)
    found = shutil.which("xdg-open")
    return [found] if found else None


@app.command("open")
def open_run(run: RunArg, out: OutOpt = Path("outputs")) -> None:
    """Open a run's illustrated screenplay, else its report, in your browser.

    Opens screenplay.html (else report.html) with the system's opener (xdg-open, open) and
    prints the file's path; only prints it when there is no desktop session.

    [dim]Examples:[/dim]
      dramaturg open last
      dramaturg open outputs/20261122-143005-dramatron-3fa9c2
    """
    try:
        from ..observe.report import REPORT_FILE, write_report
        from ..store.history import find_run
        from ..store.rundir import RunDir

        path = find_run(run, out)
        RunDir(path).refuse_strange()  # a linked screenplay.html would open what it points to
        target = path / "screenplay.html"
        if not target.is_file():
            target = path / REPORT_FILE
            if not target.is_file():
                target = write_report(path)
    except Exception as exc:
        raise fail(exc) from None
    target = target.resolve()
    command = _opener()
    if command is None:
        print(target)
        print_error("no opener here (no desktop session); open that file in a browser")
        return
    try:
        proc = subprocess.Popen(
            [*command, str(target)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:  # openers hand the file over and return at once
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # this one stays: leave it running on its own
            _DETACHED.append(proc)
    except OSError as exc:
        print(target)
        print_error(f"could not start {command[0]}: {exc.strerror}; open that file in a browser")
        return
    print(target)


@app.command("report")
def report(run: RunArg, out: OutOpt = Path("outputs")) -> None:
    """Write a run's report.html again (every run writes one when it ends).

    One page that opens offline: the DAG and a timeline drawn as SVG, tokens and cost per step
    and model, the images, and every step's prompts and outputs.

    [dim]Examples:[/dim]
      dramaturg report last
      dramaturg report outputs/20261122-143005-dramatron-3fa9c2
    """
    try:
        from ..observe.report import write_report
        from ..store.history import find_run

        written = write_report(find_run(run, out))
    except Exception as exc:
        raise fail(exc) from None
    print(written)


@app.command("prices")
def prices() -> None:
    """The price table in force: the shipped example prices and your own file over them.

    Costs are computed from it (per 1M input and output tokens, per image). The shipped prices
    are examples noted on a date: check them against the providers' price pages, and put your
    own in $DRAMATURG_PRICES or ~/.config/dramaturg/prices.yaml (same format as the shipped
    engine/dramaturg/chain/prices.yaml).
    """
    from rich.table import Table

    from ..chain.pricing import PriceTable, user_prices_file

    table = PriceTable.load()
    console = _console()
    console.print(f"[dim]files[/dim]    {', '.join(table.files)}")
    console.print(f"[dim]yours[/dim]    {user_prices_file()}")
    console.print(f"[dim]noted[/dim]    {table.checked} (examples: check the providers' pages)")
    for problem in table.problems:
        console.print(f"[yellow]warning[/yellow]: {problem}")
    rows = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("provider", "model", "input /1M", "output /1M", "image"):
        rows.add_column(name, justify="left" if name in ("provider", "model") else "right")

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:g}"

    for provider, model, p in table.rows():
        rows.add_row(provider, model, num(p.input), num(p.output), num(p.image))
    console.print()
    console.print(rows)
    console.print(f"[dim]currency: {table.currency}[/dim]")
