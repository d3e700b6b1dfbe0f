"""``dramaturg cache info | clear``: the step cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import (
    CacheDirOpt,
    app,
    fail,
    print_error,
)

cache_app = typer.Typer(
    help="The step cache: model answers kept for reuse by later runs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(cache_app, name="cache")


def _cache_dir(cache_dir: Path | None) -> Path:
    from ..store.cache import default_cache_dir

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
    """Where the step cache is, and how many entries and blobs it holds.

    [dim]Example:[/dim]  dramaturg cache info
    """
    try:
        from ..store.cache import cache_info as read_info

        info = read_info(_cache_dir(cache_dir))
    except Exception as exc:
        raise fail(exc) from None
    print(f"location  {info.location}")
    print(f"entries   {info.entries}")
    print(f"blobs     {info.blobs}")
    print(f"size      {_size(info.size)}")


@cache_app.command("clear")
def cache_clear(
    cache_dir: CacheDirOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every entry of the step cache (later runs call the models again).

    [dim]Examples:[/dim]
      dramaturg cache clear
      dramaturg cache clear --yes --cache-dir /tmp/dramaturg-cache
    """
    try:
        from ..store.cache import StepCache, cache_info

        where = _cache_dir(cache_dir)
        info = cache_info(where)
        if info.entries == 0 and info.blobs == 0:
            print(f"the step cache in {where} is empty")
            return
        question = f"Delete {info.entries} entries ({_size(info.size)}) from {where}?"
        if not yes and not typer.confirm(question, default=False, abort=False):
            print_error("nothing deleted\n  hint: pass --yes to clear without a question")
            raise typer.Exit(1)
        with StepCache.open(where) as cache:
            removed = cache.clear()
    except typer.Exit:
        raise
    except typer.Abort:
        print_error("nothing deleted\n  hint: pass --yes to clear without a question")
        raise typer.Exit(1) from None
    except Exception as exc:
        raise fail(exc) from None
    print(f"deleted {removed} entries from {where}")
