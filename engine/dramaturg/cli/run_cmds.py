"""``dramaturg run``, ``resume`` and ``export``: running chains and re-exporting runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from .app import (
    CacheDirOpt,
    ChainArg,
    JsonOpt,
    ModelOpt,
    NoCacheOpt,
    QuietOpt,
    TemplatesOpt,
    app,
    cache_setting,
    fail,
    load_chain_arg,
    print_error,
)


@app.command()
def run(
    chain: ChainArg,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="An input: NAME=VALUE (repeatable).", show_default=False),
    ] = None,
    inputs: Annotated[
        Path | None, typer.Option("--inputs", "-i", help="A YAML or JSON file of inputs.")
    ] = None,
    model: ModelOpt = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder receiving the run folder.")
    ] = Path("outputs"),
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Model calls in flight at most.")
    ] = 8,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Run on the fake models: no keys, no cost, checks the whole chain."
        ),
    ] = False,
    templates: TemplatesOpt = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="The seed of every model call in this run (default: each model's)."
        ),
    ] = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    quiet: QuietOpt = False,
    json_events: JsonOpt = False,
) -> None:
    """Run a chain.

    A step call made before with the same templates, prompt, model, options, parser and seed is
    answered from the step cache ([dim]--no-cache[/dim] to call the models anyway).

    [dim]Examples:[/dim]
      dramaturg run chains/dramatron.yaml --set logline="A lighthouse keeper..."
      dramaturg run dramatron --inputs story.yaml --model default=cohere:command-a-03-2025
      dramaturg run chains/dramatron.yaml --set logline="..." --dry-run
    """
    from ..observe.progress import reporter

    printer = reporter(quiet=quiet, json_events=json_events)

    def start() -> Any:
        from ..chain.inputs import parse_assignments, read_inputs_file
        from ..run.models import parse_model_overrides

        cache = cache_setting(no_cache, cache_dir)
        loaded = load_chain_arg(chain, templates)
        values: dict[str, Any] = read_inputs_file(inputs) if inputs else {}
        assigned = parse_assignments(set_ or [])
        values.update(assigned)
        return loaded.run(
            values,
            models=parse_model_overrides(model or []),
            out=out,
            concurrency=concurrency,
            dry_run=dry_run,
            on_event=printer,
            text_inputs=frozenset(assigned),
            seed=seed,
            cache=cache,
        )

    _drive(printer, start)


def _drive(printer: Any, start: Callable[[], Any]) -> None:
    """Run ``start()`` (a run) under the printer: Ctrl-C keeps finished work and says how to
    go on, an error prints once, and the exit code is 1 when a step failed."""
    try:
        result = start()
    except KeyboardInterrupt:
        printer.interrupted()
        _interrupted(printer.run_dir)
    except Exception as exc:
        printer.failed(exc)
        raise fail(exc) from None
    printer.summary(result)
    if not result.ok:
        raise typer.Exit(1)


def _interrupted(run_dir: str | None) -> NoReturn:
    if run_dir:
        print_error(
            f"interrupted; finished steps are kept in {run_dir}\n"
            f"  hint: continue with `dramaturg resume {run_dir}`"
        )
    else:
        print_error("interrupted")
    raise typer.Exit(130)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (outputs/<run-id>).")],
    model: ModelOpt = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", min=1, help="Model calls in flight at most (default: the run's)."
        ),
    ] = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    quiet: QuietOpt = False,
    json_events: JsonOpt = False,
) -> None:
    """Finish a run that was killed, interrupted or failed, in its own folder.

    Finished steps and fan-out items are kept from the run folder (with or without the cache);
    the rest runs with the run's inputs, seed and models, and the templates the run kept.

    [dim]Example:[/dim]  dramaturg resume outputs/20261122-143005-dramatron-3fa9c2
    """
    from ..observe.progress import reporter

    printer = reporter(quiet=quiet, json_events=json_events)

    def start() -> Any:
        from ..run.models import parse_model_overrides
        from ..run.resume import resume_run

        return resume_run(
            run_dir,
            models=parse_model_overrides(model or []),
            concurrency=concurrency,
            cache=cache_setting(no_cache, cache_dir),
            on_event=printer,
        )

    _drive(printer, start)


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (outputs/<run-id>).")],
    format: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            help="Only these formats (repeatable), e.g. fountain, pdf; report: report.html.",
        ),
    ] = None,
) -> None:
    """Run a finished run's exporters again (e.g. after editing an output by hand).

    [dim]Examples:[/dim]
      dramaturg export outputs/20261122-143005-dramatron-3fa9c2 -f pdf
      dramaturg export outputs/20261122-143005-dramatron-3fa9c2 -f report
    """
    try:
        from ..chain.exporters import check_format_names, check_formats
        from ..store.readback import chain_exports, export_run, load_run

        check_format_names(format or [])  # a bad name first: before anything is read
        wanted = [f for f in format or [] if f != "report"]  # report: not a chain exporter
        if wanted or not format:
            result = load_run(run_dir)
            exports = chain_exports(run_dir)
            check_formats(wanted, [e.type for e in exports], also=["report"])
        if format and "report" in format:
            from ..observe.report import write_report

            print(f"report: {write_report(run_dir)}")
            if not wanted:
                return
        if not exports:
            print_error(f"error: the chain of {run_dir} declares no exports")
            raise typer.Exit(2)
        written = export_run(result, exports, formats=wanted or None)
    except typer.Exit:
        raise
    except Exception as exc:
        raise fail(exc) from None
    for name, files in written.items():
        for f in files:
            print(f"{name}: {run_dir / f}")
