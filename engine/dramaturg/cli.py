"""The ``dramaturg`` command. Imports stay light here: ``--help`` loads no model library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(
    name="dramaturg",
    help="Run YAML chains of Jinja2 prompt steps as a DAG (flagship: a screenplay generator).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

_state: dict[str, Any] = {"debug": False}

ChainArg = Annotated[
    str,
    typer.Argument(
        help="A chain file, or the name of a shipped chain (e.g. dramatron).", show_default=False
    ),
]
TemplatesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--templates", "-t", help="A folder of templates looked up before the chain's own."
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option("--no-cache", help="Neither read nor write the step cache in this run."),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="The step cache folder (default: $DRAMATURG_CACHE_DIR, "
        "$XDG_CACHE_HOME/dramaturg or ~/.cache/dramaturg).",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    list[str] | None,
    typer.Option("--model", "-m", help="Override a model: NAME=PROVIDER[:MODEL] (repeatable)."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


def _err(text: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    # soft_wrap: never break a file:line:col location across lines (pipes, CI logs, editors)
    from .secrets import scrub

    Console(stderr=True, highlight=False, soft_wrap=True).print(escape(scrub(text)))


def _fail(exc: BaseException) -> typer.Exit:
    """Print one clear message for an error and return the Exit to raise."""
    from .errors import DramaturgError

    if _state["debug"]:
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, DramaturgError):
        _err(f"error: {exc}")
        return typer.Exit(exc.exit_code)
    _err(
        f"internal error: {type(exc).__name__}: {exc}\n"
        "  hint: rerun with --debug for the traceback, and please report it"
    )
    return typer.Exit(1)


def _load(chain: str, templates: list[Path] | None = None) -> Any:
    from .chain import load_chain
    from .shipped import resolve_chain

    return load_chain(resolve_chain(chain), templates=list(templates or []))


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
) -> None:
    """Run a chain.

    A step call made before with the same templates, prompt, model, options, parser and seed is
    answered from the step cache ([dim]--no-cache[/dim] to call the models anyway).

    [dim]Examples:[/dim]
      dramaturg run chains/dramatron.yaml --set logline="A lighthouse keeper..."
      dramaturg run dramatron --inputs story.yaml --model default=cohere:command-a-03-2025
      dramaturg run chains/dramatron.yaml --set logline="..." --dry-run
    """
    from .progress import Printer

    printer = Printer(quiet=quiet)
    try:
        from .inputs import parse_assignments, read_inputs_file
        from .models import parse_model_overrides

        cache = _cache_setting(no_cache, cache_dir)
        loaded = _load(chain, templates)
        values: dict[str, Any] = read_inputs_file(inputs) if inputs else {}
        assigned = parse_assignments(set_ or [])
        values.update(assigned)
        result = loaded.run(
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
    except KeyboardInterrupt:
        _interrupted(printer.run_dir)
    except Exception as exc:
        raise _fail(exc) from None
    printer.summary(result)
    if not result.ok:
        raise typer.Exit(1)


def _cache_setting(no_cache: bool, cache_dir: Path | None) -> bool | Path | None:
    from .errors import InputError

    if no_cache and cache_dir is not None:
        raise InputError(
            "--no-cache and --cache-dir contradict each other", hint="give one of them"
        )
    return False if no_cache else cache_dir


def _interrupted(run_dir: str | None) -> NoReturn:
    if run_dir:
        _err(
            f"interrupted; finished steps are kept in {run_dir}\n"
            f"  hint: continue with `dramaturg resume {run_dir}`"
        )
    else:
        _err("interrupted")
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
) -> None:
    """Finish a run that was killed, interrupted or failed, in its own folder.

    Finished steps and fan-out items are kept from the run folder (with or without the cache);
    the rest runs with the run's inputs, seed and models, and the templates the run kept.

    [dim]Example:[/dim]  dramaturg resume outputs/20261122-143005-dramatron-3fa9c2
    """
    from .progress import Printer

    printer = Printer(quiet=quiet)
    try:
        from .models import parse_model_overrides
        from .resume import resume_run

        result = resume_run(
            run_dir,
            models=parse_model_overrides(model or []),
            concurrency=concurrency,
            cache=_cache_setting(no_cache, cache_dir),
            on_event=printer,
        )
    except KeyboardInterrupt:
        _interrupted(printer.run_dir)
    except Exception as exc:
        raise _fail(exc) from None
    printer.summary(result)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (outputs/<run-id>).")],
    format: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="Only these formats (repeatable), e.g. fountain, pdf."),
    ] = None,
) -> None:
    """Run a finished run's exporters again (e.g. after editing an output by hand).

    [dim]Example:[/dim]  dramaturg export outputs/20261122-143005-dramatron-3fa9c2 -f pdf
    """
    try:
        from .runs import chain_exports, export_run, load_run

        result = load_run(run_dir)
        exports = chain_exports(run_dir)
        if not exports:
            _err(f"error: the chain of {run_dir} declares no exports")
            raise typer.Exit(2)
        written = export_run(result, exports, formats=list(format) if format else None)
    except typer.Exit:
        raise
    except Exception as exc:
        raise _fail(exc) from None
    for name, files in written.items():
        for f in files:
            print(f"{name}: {run_dir / f}")


@app.command()
def validate(chain: ChainArg, templates: TemplatesOpt = None) -> None:
    """Check a chain and its templates without running anything."""
    try:
        loaded = _load(chain, templates)
    except Exception as exc:
        raise _fail(exc) from None
    spec = loaded.spec
    lines = [f"{loaded.path}: valid chain '{spec.name}' with {len(spec.steps)} steps"]
    for name, i in spec.inputs.items():
        req = "required" if i.is_required else f"default {i.default!r}"
        lines.append(
            f"  input  {name}: {i.type} ({req}){' - ' + i.description if i.description else ''}"
        )
    for sid in loaded.steps:
        deps = ", ".join(loaded.dependencies(sid)) or "-"
        lines.append(f"  step   {sid} <- {deps}")
    print("\n".join(lines))


@app.command()
def graph(
    chain: ChainArg,
    format: Annotated[str, typer.Option("--format", "-f", help="mermaid or dot.")] = "mermaid",
) -> None:
    """Print the chain's DAG as Mermaid or Graphviz DOT text (offline)."""
    from . import graph as graphs

    if format not in ("mermaid", "dot"):
        _err(f"error: unknown format {format!r}\n  hint: use --format mermaid or --format dot")
        raise typer.Exit(2)
    try:
        loaded = _load(chain)
    except Exception as exc:
        raise _fail(exc) from None
    g = loaded.graph
    sys.stdout.write(graphs.to_mermaid(g) if format == "mermaid" else graphs.to_dot(g, loaded.name))


@app.command()
def models() -> None:
    """List model providers: installed or not, API key set or not (never shown), defaults.

    [dim]Use one with --model NAME=PROVIDER[:MODEL], e.g. --model default=cohere.[/dim]
    """
    from rich.console import Console
    from rich.table import Table

    from .providers import get_registry
    from .validate import IMPLICIT_MODELS

    defaults = {m.provider for m in IMPLICIT_MODELS.values()}
    table = Table(box=None, pad_edge=False)
    for col in ("provider", "kinds", "installed", "key", "default model", "description"):
        table.add_column(col, overflow="fold")
    for p in get_registry().providers():
        installed = "yes" if p.installed() else f"no: {p.install_hint or 'missing packages'}"
        key_set = p.key_is_set()
        key = (
            "-"
            if key_set is None
            else ("set" if key_set else f"not set ({' or '.join(p.env_keys)})")
        )
        name = p.name + (" (default)" if p.name in defaults else "")
        table.add_row(
            name, ", ".join(p.kinds), installed, key, p.default_model or "-", p.description
        )
    Console().print(table)


@app.command()
def schema() -> None:
    """Print the chain file format as JSON Schema (for editor autocompletion)."""
    import json

    from .spec import json_schema

    print(json.dumps(json_schema(), indent=2))


cache_app = typer.Typer(
    help="The step cache: model answers kept for reuse by later runs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(cache_app, name="cache")


def _cache_dir(cache_dir: Path | None) -> Path:
    from .cache import default_cache_dir

    return cache_dir if cache_dir is not None else default_cache_dir()


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


@cache_app.command("info")
def cache_info(cache_dir: CacheDirOpt = None) -> None:
    """Where the step cache is, and how many entries and blobs it holds."""
    try:
        from .cache import cache_info as read_info

        info = read_info(_cache_dir(cache_dir))
    except Exception as exc:
        raise _fail(exc) from None
    print(f"location  {info.location}")
    print(f"entries   {info.entries}")
    print(f"blobs     {info.blobs}")
    print(f"size      {_size(info.size)}")


@cache_app.command("clear")
def cache_clear(
    cache_dir: CacheDirOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every entry of the step cache (later runs call the models again)."""
    try:
        from .cache import StepCache, cache_info

        where = _cache_dir(cache_dir)
        info = cache_info(where)
        if info.entries == 0 and info.blobs == 0:
            print(f"the step cache in {where} is empty")
            return
        question = f"Delete {info.entries} entries ({_size(info.size)}) from {where}?"
        if not yes and not typer.confirm(question, default=False, abort=False):
            _err("nothing deleted\n  hint: pass --yes to clear without a question")
            raise typer.Exit(1)
        with StepCache.open(where) as cache:
            removed = cache.clear()
    except typer.Exit:
        raise
    except typer.Abort:
        _err("nothing deleted\n  hint: pass --yes to clear without a question")
        raise typer.Exit(1) from None
    except Exception as exc:
        raise _fail(exc) from None
    print(f"deleted {removed} entries from {where}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C outside a run
        sys.exit(130)
