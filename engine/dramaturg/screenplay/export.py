"""The ``screenplay`` exporter: a finished Dramatron run as Fountain, Final Draft, PDF, an
illustrated HTML page and PDF, and the run's log, written into the run folder.

Registered through the entry point ``dramaturg.exporters: screenplay``; use it in a chain as
``exports: [{type: screenplay, options: {...}}]`` (options in :mod:`.options`), or again on a
finished run with ``dramaturg export RUN [--format pdf ...]``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dramaturg import DramaturgError, ExportContext, ExportError, RunResult

from .assemble import assemble, clean
from .files import write_atomic
from .model import Screenplay
from .options import ALIASES, FORMATS, Options, parse_options

Render = Callable[[Screenplay, Options], str | bytes]


def _fountain(sp: Screenplay, o: Options) -> str:
    from .fountain import to_fountain

    return to_fountain(sp, scene_numbers=o.scene_numbers)


def _fdx(sp: Screenplay, o: Options) -> str:
    from .fdx import to_fdx

    return to_fdx(sp, scene_numbers=o.scene_numbers)


def _pdf(sp: Screenplay, o: Options) -> bytes:
    from .pdf import render_pdf

    return render_pdf(sp, scene_numbers=o.scene_numbers)


def _html(sp: Screenplay, o: Options) -> str:
    from .html import render_html

    return render_html(sp, scene_numbers=o.scene_numbers)


def _illustrated(sp: Screenplay, o: Options) -> bytes:
    from .illustrated_pdf import render_illustrated_pdf

    return render_illustrated_pdf(sp, scene_numbers=o.scene_numbers)


RENDERERS: dict[str, Render] = {
    "fountain": _fountain,
    "fdx": _fdx,
    "pdf": _pdf,
    "html": _html,
    "illustrated_pdf": _illustrated,
}


def _log(result: RunResult, run_dir: Path, opts: Options, sp: Screenplay | None) -> str:
    from .log import render_log

    title = sp.title if sp is not None else None
    if title is None:
        step = result.steps.get(opts.steps["title"])
        if step is not None and isinstance(step.output, str):
            title = clean(step.output) or None
    return render_log(result, run_dir, title)


def export(ctx: ExportContext) -> list[Path]:
    """Write the formats asked for into ``ctx.run_dir``; return the files written."""
    opts = parse_options(ctx.options, ctx.formats)
    run_dir = Path(ctx.run_dir)
    screenplay_formats = [f for f in opts.formats if f in RENDERERS]
    sp = assemble(ctx.result, opts, run_dir) if screenplay_formats else None
    written: list[Path] = []
    failed: list[str] = []
    for fmt in opts.formats:
        target = run_dir / opts.file_name(fmt)
        try:
            if fmt == "log":
                data: str | bytes = _log(ctx.result, run_dir, opts, sp)
            else:
                assert sp is not None
                data = RENDERERS[fmt](sp, opts)
            written.append(write_atomic(target, data))
        except DramaturgError as exc:
            failed.append(f"{fmt}: {exc}")
        except Exception as exc:
            failed.append(f"{fmt}: {type(exc).__name__}: {exc}")
    if failed:
        done = ", ".join(p.name for p in written) or "nothing"
        raise ExportError(
            "screenplay exporter: " + "; ".join(failed),
            hint=f"written: {done}; the run's outputs are kept, fix and run "
            f"`dramaturg export {run_dir}` again",
        )
    return written


#: the names ``dramaturg export --format`` takes (another is a bad argument: exit code 2)
export.formats = (*FORMATS, *ALIASES)  # type: ignore[attr-defined]
