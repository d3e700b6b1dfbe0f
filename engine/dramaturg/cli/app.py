"""The ``dramaturg`` app, its shared options and error printing. The command modules of this
package import it and register their commands on it. Imports stay light: ``--help`` loads no
model library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="dramaturg",
    help="Run YAML chains of Jinja2 prompt steps as a DAG (flagship: a screenplay generator).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

state: dict[str, Any] = {"debug": False}

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
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the run's events as JSON, one object per line on stdout, ending with a "
        "summary event (docs/runs.md lists them).",
    ),
]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    state["debug"] = debug


def print_error(text: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    # soft_wrap: never break a file:line:col location across lines (pipes, CI logs, editors)
    from ..secrets import scrub

    Console(stderr=True, highlight=False, soft_wrap=True).print(escape(scrub(text)))


def fail(exc: BaseException) -> typer.Exit:
    """Print one clear message for an error and return the Exit to raise."""
    from ..errors import DramaturgError

    if state["debug"]:  # the traceback, without the keys a service may have echoed
        import traceback

        from ..secrets import scrub

        sys.stderr.write(scrub("".join(traceback.format_exception(exc))))
    if isinstance(exc, DramaturgError):
        print_error(f"error: {exc}")
        return typer.Exit(exc.exit_code)
    print_error(
        f"internal error: {type(exc).__name__}: {exc}\n"
        "  hint: rerun with --debug for the traceback, and please report it"
    )
    return typer.Exit(1)


def load_chain_arg(chain: str, templates: list[Path] | None = None) -> Any:
    from ..api import load_chain
    from .shipped import resolve_chain

    return load_chain(resolve_chain(chain), templates=template_folders(templates))


def template_folders(templates: list[Path] | None) -> list[str | Path]:
    """The ``--templates`` folders; InputError for one that is not a folder."""
    from ..errors import InputError

    for folder in templates or []:
        if not folder.is_dir():
            what = "not found" if not folder.exists() else "not a folder"
            raise InputError(
                f"--templates {folder}: {what}",
                hint="give a folder of templates (its files override the chain's own)",
            )
    return [*(templates or [])]


def cache_setting(no_cache: bool, cache_dir: Path | None) -> bool | Path | None:
    """The step cache a command asked for (``--no-cache``, ``--cache-dir``)."""
    from ..errors import InputError

    if no_cache and cache_dir is not None:
        raise InputError(
            "--no-cache and --cache-dir contradict each other", hint="give one of them"
        )
    return False if no_cache else cache_dir


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C outside a run
        sys.exit(130)
