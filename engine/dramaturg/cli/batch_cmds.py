"""``dramaturg batch``: a chain over a table of inputs (``batch CHAIN --data rows.csv``), a batch
finished in place (``batch resume BATCH``) and its table of rows (``batch show BATCH``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from ..batch.folder import BatchInfo

from .app import (
    CacheDirOpt,
    ChainArg,
    JsonOpt,
    ModelOpt,
    NoCacheOpt,
    QuietOpt,
    app,
    cache_setting,
    fail,
    load_chain_arg,
    print_error,
)


class _StartByDefault(TyperGroup):
    """``dramaturg batch CHAIN ...`` is ``dramaturg batch start CHAIN ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


batch_app = typer.Typer(
    cls=_StartByDefault,
    help="Run a chain over many rows of inputs (a CSV or JSON Lines table), each row a run.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(batch_app, name="batch")

BatchArg = Annotated[Path, typer.Argument(help="A batch folder (outputs/batch-...).")]
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        "-x",
        help="local (this process) or ray (a Ray cluster; pip install 'dramaturg[ray]').",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option("--address", help="The Ray cluster, HOST:PORT (default: start a local Ray)."),
]
RowsOpt = Annotated[
    int | None, typer.Option("--rows-in-flight", "-r", min=1, help="Rows running at once.")
]


def _assignments(values: list[str] | None, what: str) -> dict[str, str]:
    from ..errors import InputError

    out: dict[str, str] = {}
    for v in values or []:
        name, sep, value = v.partition("=")
        if not sep or not name.strip():
            raise InputError(f"{what} {v!r}: expected NAME=VALUE", hint=f"e.g. {what} logline=idea")
        out[name.strip()] = value
    return out


@batch_app.command()
def start(
    chain: ChainArg,
    data: Annotated[
        Path, typer.Option("--data", "-d", help="The rows: a CSV file (with a header) or .jsonl.")
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="INPUT=COLUMN: where an input's values are (repeatable)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="INPUT=VALUE for every row (repeatable)."),
    ] = None,
    rows_in_flight: RowsOpt = 4,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Model calls in flight, all rows.")
    ] = 8,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Run the first N rows only.")
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Leave out rows that are not inputs.")
    ] = False,
    model: ModelOpt = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder receiving the batch folder.")
    ] = Path("outputs"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run on the fake models.")] = False,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    quiet: QuietOpt = False,
    json_events: JsonOpt = False,
) -> None:
    """Run a chain once per row of a table.

    Every row is checked against the chain's inputs before anything runs; each row becomes an
    ordinary run folder (runs/<row-id>/ in the batch folder), and summary.csv and summary.html
    list them. One set of limits holds for the whole batch.

    [dim]Examples:[/dim]
      dramaturg batch chains/dramatron.yaml --data loglines.csv
      dramaturg batch dramatron --data slate.jsonl --map logline=pitch --set num_scenes=4
    """
    from ..observe.batchprogress import BatchProgress
    from ..run.models import parse_model_overrides

    printer = BatchProgress(json_events=json_events, quiet=quiet)
    try:
        loaded = load_chain_arg(chain)
        result = loaded.batch(
            data,
            out=out,
            mapping=_assignments(map_, "--map"),
            constants=_assignments(set_, "--set"),
            skip_bad_rows=skip_bad_rows,
            limit=limit,
            rows_in_flight=rows_in_flight,
            concurrency=concurrency,
            models=parse_model_overrides(model or []),
            dry_run=dry_run,
            cache=cache_setting(no_cache, cache_dir),
            on_event=printer,
            executor=executor,
            address=address,
        )
    except KeyboardInterrupt:
        _interrupted(printer)
    except Exception as exc:
        printer.close()
        raise fail(exc) from None
    _finished(printer, result, quiet=quiet or json_events)


@batch_app.command()
def resume(
    batch: BatchArg,
    model: ModelOpt = None,
    rows_in_flight: RowsOpt = None,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    quiet: QuietOpt = False,
    json_events: JsonOpt = False,
) -> None:
    """Finish a batch in its folder.

    Done rows are kept (no model call); stopped and failed rows go on in their run folders
    (finished steps kept); rows never started start.

    [dim]Example:[/dim]  dramaturg batch resume outputs/batch-20261202-101500-dramatron-3fa9c2
    """
    from ..batch.start import aresume_batch
    from ..observe.batchprogress import BatchProgress
    from ..run.models import parse_model_overrides
    from ..syncrun import run_sync

    printer = BatchProgress(json_events=json_events, quiet=quiet)
    try:
        models = parse_model_overrides(model or []) or None
        result = run_sync(
            lambda: aresume_batch(
                batch,
                models=models,
                rows_in_flight=rows_in_flight,
                on_event=printer,
                executor=executor,
                address=address,
            ),
            "batch resume",
            "aresume_batch",
        )
    except KeyboardInterrupt:
        _interrupted(printer)
    except Exception as exc:
        printer.close()
        raise fail(exc) from None
    _finished(printer, result, quiet=quiet or json_events)


def _finished(printer: Any, result: Any, *, quiet: bool) -> None:
    printer.close()
    if not quiet:
        print(f"{result.status}: {printer.line()}")
        print(result.batch_dir)
        print(f"summary: {Path(result.batch_dir) / 'summary.html'}")
    if not result.ok:
        raise typer.Exit(1)


def _interrupted(printer: Any) -> None:
    printer.close()
    where = printer.batch_dir
    if where:
        print_error(
            f"interrupted; finished rows are kept in {where}\n"
            f"  hint: go on with `dramaturg batch resume {where}`"
        )
    else:
        print_error("interrupted")
    raise typer.Exit(130)


@batch_app.command()
def show(batch: BatchArg) -> None:
    """A batch's rows: status, title or first output, calls, tokens, cost, time."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    try:
        from ..batch.folder import BatchFolder

        folder = BatchFolder.open(batch)
        info = folder.info()
        records = folder.records()
    except Exception as exc:
        raise fail(exc) from None
    total = int(info.get("rows") or 0)
    chain = info.get("chain") if isinstance(info.get("chain"), dict) else {}
    console = Console()
    counts: dict[str, int] = {}
    for r in records.values():
        counts[r.status] = counts.get(r.status, 0) + 1
    waiting = total - len(records)
    parts = [f"{n} {s}" for s, n in sorted(counts.items())] + (
        [f"{waiting} not run"] if waiting else []
    )
    console.print(
        f"[bold]{escape(batch.name)}[/bold]  chain {escape(str((chain or {}).get('name', '?')))}"
    )
    console.print(f"{total} rows: {', '.join(parts) or 'none run'}")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("row", "id", "status", "calls", "tokens", "cost", "s", "error"):
        table.add_column(
            name, justify="right" if name in ("row", "calls", "tokens", "s") else "left"
        )
    for index in sorted(records):
        r = records[index]
        table.add_row(
            str(r.index),
            escape(r.id),
            escape(r.status),
            str(r.calls),
            f"{r.tokens:,}",
            "-" if r.cost is None else f"{r.cost:.4f}",
            f"{r.wall or 0:.1f}",
            escape((r.error or "")[:80]),
        )
    console.print(table)
    console.print(f"[dim]{escape(str(batch / 'summary.html'))}[/dim]")


def print_batches(batches: list[BatchInfo]) -> None:
    """The batches of an output folder, as ``runs list`` shows them."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold", title="batches")
    for name in ("batch", "chain", "rows", "done", "failed", "stopped", "not run"):
        table.add_column(name, justify="left" if name in ("batch", "chain") else "right")
    for b in batches:
        settled = sum(b.counts.values())
        table.add_row(
            escape(b.path.name),
            escape(b.chain),
            str(b.rows),
            str(b.counts.get("done", 0)),
            str(b.counts.get("failed", 0)),
            str(b.counts.get("stopped", 0)),
            str(max(0, b.rows - settled)),
        )
    console = Console()
    console.print(table)
    console.print("[dim]dramaturg batch show BATCH lists a batch's rows[/dim]\n")
