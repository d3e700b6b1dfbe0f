"""``dramaturg studio``: co-write in the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import ModelOpt, app, fail, print_error


@app.command()
def studio(
    target: Annotated[
        Path,
        typer.Argument(help="An output folder (its runs) or one run folder.", show_default=True),
    ] = Path("outputs"),
    port: Annotated[int, typer.Option("--port", "-p", help="The port (0: any free one).")] = 8765,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="The address to listen on. Anything but loopback lets other machines reach "
            "the studio (they still need its token): only on a network you trust.",
        ),
    ] = "127.0.0.1",
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="Another name the studio is reached by (Host header)."),
    ] = None,
    chain: Annotated[
        list[str] | None,
        typer.Option("--chain", "-c", help="A chain new runs may use (default: dramatron)."),
    ] = None,
    model: ModelOpt = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL; do not open a browser.")
    ] = False,
) -> None:
    """Co-write a run in the browser: steps, scenes, edits with their effect shown before
    saving, regenerate, continue, history, the screenplay as it stands. Ctrl-C stops it.

    It listens on 127.0.0.1 unless told otherwise (--host), and the URL it prints holds this
    session's token.

    [dim]Examples:[/dim]
      dramaturg studio                              # the runs in ./outputs
      dramaturg studio outputs/20261202-184753-dramatron-caaf45
      dramaturg studio --port 0 --no-browser        # any free port; print the URL
      dramaturg studio -m default=cohere:command-r  # co-write with another model
    """
    try:
        _studio(
            target, port, host, tuple(allow_host or ()), chain or ["dramatron"], model, no_browser
        )
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:
        raise fail(exc) from None


def _studio(
    target: Path,
    port: int,
    host: str,
    allow: tuple[str, ...],
    chains: list[str],
    model: list[str] | None,
    no_browser: bool,
) -> None:
    from ..errors import InputError

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InputError(
            "the studio needs its web libraries",
            hint="pip install 'dramaturg[studio]'",
        ) from None
    from ..run.models import parse_model_overrides
    from ..studio.app import Studio
    from ..studio.server import LOOPBACK, bind, serve
    from ..studio.workspace import Workspace
    from .shipped import resolve_chain

    if not target.exists():
        target.mkdir(parents=True)
    paths = tuple(resolve_chain(c) for c in chains)
    workspace, first = Workspace.at(target, paths)
    if host not in LOOPBACK:
        print_error(
            f"warning: listening on {host}: other machines on this network can reach the studio "
            "(each still needs its token)"
        )
    sock, address = bind(host, port)
    overrides = parse_model_overrides(model or [])
    state = Studio(workspace, models=dict(overrides) if overrides else None, first=first)
    url = address.url(state.secrets.token)

    def ready() -> None:
        typer.echo(f"Dramaturg studio: {url}")
        typer.echo("  (the link holds this session's token; Ctrl-C stops the studio)")
        if not no_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        serve(state, sock, address, allow=allow, on_ready=ready)
    except KeyboardInterrupt:  # Ctrl-C: uvicorn stopped first (a job under way was stopped)
        typer.echo("studio stopped")
        raise typer.Exit(130) from None
    typer.echo("studio stopped")
