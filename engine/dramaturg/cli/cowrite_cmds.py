"""``dramaturg edit``, ``rerun``, ``continue``, ``history``, ``checkout`` and ``templates``:
co-writing a finished run (the logic is in :mod:`dramaturg.cowrite.edit`,
:mod:`dramaturg.cowrite.rerun` and :mod:`dramaturg.cowrite.continuation`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    template_folders,
)

if TYPE_CHECKING:
    from ..store.manifest import Stale

RunArg = Annotated[
    str,
    typer.Argument(
        help="A run folder, a run id in --out (or part of one, e.g. its hash), or 'last'.",
        show_default=False,
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="The folder holding the run folders.")]
StepArg = Annotated[str, typer.Argument(help="A step of the run's chain.", show_default=False)]
ItemArg = Annotated[
    int | None,
    typer.Argument(help="A fan-out item (0 is the first), e.g. a scene.", show_default=False),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed", help="The seed of the new calls (default: the step's + 1000 each time)."
    ),
]


def _run(ref: str, out: Path) -> Path:
    from ..store.history import find_run

    return find_run(ref, out)


def _changed(run_dir: Path, version: Any, what: str) -> None:
    """What an edit, continue or checkout did: the version, the stale steps, the exports."""
    from ..store.readback import read_manifest

    item = "" if version.item is None else f" item {version.item}"
    print(f"{version.step}: version {version.version} ({version.kind}{item}) {what}")
    manifest = read_manifest(run_dir)
    stale = [s for s, e in manifest.steps.items() if e.stale is not None and e.stale.because]
    if stale:
        print(f"stale until `dramaturg rerun {run_dir}`: {', '.join(stale)}")
    for name, files in manifest.exports.items():
        for f in files:
            print(f"{name}: {run_dir / f}")


# -- edit ------------------------------------------------------------------------------------
@app.command()
def edit(
    run: RunArg,
    step: StepArg,
    item: ItemArg = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Take the new output from this file (no editor)."),
    ] = None,
    value: Annotated[
        str | None, typer.Option("--value", help="The new output as text or YAML (no editor).")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A note kept with the version.")] = "",
    out: OutOpt = Path("outputs"),
) -> None:
    """Edit a step's output (or one item's) in $EDITOR; reruns keep the edit.

    The output opens as text (a text step) or YAML. The edit must pass the step's parser (its
    error names the line); it becomes a new version, the steps downstream are marked stale
    until [dim]dramaturg rerun[/dim], and the exports are rebuilt.

    [dim]Examples:[/dim]
      dramaturg edit outputs/<run-id> plot              # every scene
      dramaturg edit outputs/<run-id> dialogue 3        # the fourth scene's dialogue
      dramaturg edit outputs/<run-id> title --value "The Storm Jar"
    """
    try:
        run_dir = _run(run, out)
        from ..cowrite.edit import edit_text, editable_text
        from ..store.rundir import RunDir
        from ..store.versions import VersionStore
        from .editor import edit_in_editor, read_file

        before = VersionStore(RunDir(run_dir)).latest(step)
        if file is not None and value is not None:
            from ..errors import InputError

            raise InputError("--file and --value contradict each other", hint="give one of them")
        if file is not None or value is not None:
            text = value if value is not None else read_file(file)
            source = str(file) if file is not None else "--value"
            version = edit_text(run_dir, step, text, item=item, source=source, note=note)
        else:
            current, is_text = editable_text(run_dir, step, item)
            version = edit_in_editor(run_dir, step, item, current, is_text, note)
            if version is None:
                return
    except typer.Exit:
        raise
    except Exception as exc:
        raise fail(exc) from None
    if version.version <= before:
        print(f"{step}: no change (version {version.version} stays current)")
        return
    _changed(run_dir, version, "is current")


# -- rerun -----------------------------------------------------------------------------------
@app.command()
def rerun(
    run: RunArg,
    from_: Annotated[
        list[str] | None,
        typer.Option(
            "--from", help="Regenerate this step and every step downstream of it (repeatable)."
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Regenerate this STEP or STEP/ITEM (repeatable)."),
    ] = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    templates: TemplatesOpt = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", min=1, help="Model calls in flight at most (default: the run's)."
        ),
    ] = None,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan", help="Only show which calls the rerun would make, and why (nothing runs)."
        ),
    ] = False,
    quiet: QuietOpt = False,
    json_events: JsonOpt = False,
    out: OutOpt = Path("outputs"),
) -> None:
    """Run a run's chain again in its folder: recompute exactly what changed.

    A call whose inputs, templates, model and seed are unchanged is kept from the run folder
    (an unchanged rerun calls no model); edited outputs are kept; [dim]--only[/dim] and
    [dim]--from[/dim] regenerate steps with a new seed. Every changed step gets a new version
    and the exports are rebuilt. [dim]--plan[/dim] shows the calls it would make first.

    [dim]Examples:[/dim]
      dramaturg rerun outputs/<run-id> --plan                # what an edit would recompute
      dramaturg rerun outputs/<run-id>                       # after an edit or a template change
      dramaturg rerun outputs/<run-id> --only dialogue/3     # another take of one scene
      dramaturg rerun outputs/<run-id> --from plot --seed 7  # a new plot and all below it
    """
    from ..events import Event, PinnedStale, VersionEvent
    from ..observe.progress import reporter
    from .rerun_view import print_news, print_plan

    printer = reporter(quiet=quiet, json_events=json_events)
    news: list[VersionEvent | PinnedStale] = []

    def on_event(event: Event) -> None:
        if isinstance(event, (VersionEvent, PinnedStale)) and not json_events:
            news.append(event)
        else:
            printer(event)

    try:
        from ..run.models import parse_model_overrides

        run_dir = _run(run, out)
        asked: dict[str, Any] = {  # what the rerun and its plan share
            "only": list(only or []),
            "from_steps": list(from_ or []),
            "seed": seed,
            "models": parse_model_overrides(model or []),
            "templates": template_folders(templates),
        }
        if plan:
            from ..cowrite.plan import plan_rerun

            print_plan(plan_rerun(run_dir, **asked), as_json=json_events)
            return
    except Exception as exc:
        raise fail(exc) from None
    try:
        from ..cowrite.rerun import rerun as rerun_run

        cached = cache_setting(no_cache, cache_dir)
        result = rerun_run(
            run_dir, **asked, concurrency=concurrency, cache=cached, on_event=on_event
        )
    except KeyboardInterrupt:
        printer.interrupted()
        print_error(f"interrupted\n  hint: finish it with `dramaturg rerun {run_dir}`")
        raise typer.Exit(130) from None
    except Exception as exc:
        printer.failed(exc)
        raise fail(exc) from None
    print_news(news, run_dir)
    printer.summary(result)
    if not result.ok:
        raise typer.Exit(1)


# -- continue --------------------------------------------------------------------------------
@app.command("continue")
def continue_(
    run: RunArg,
    step: StepArg,
    item: ItemArg = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    templates: TemplatesOpt = None,
    out: OutOpt = Path("outputs"),
) -> None:
    """Ask the model to extend a step's output: more characters, scenes or lines.

    The step's prompt is sent again with its current output as the model's answer and the
    step's [dim]continue:[/dim] prompt; the new entries are appended (repeats dropped), as a new
    version that reruns keep.

    [dim]Examples:[/dim]
      dramaturg continue outputs/<run-id> characters
      dramaturg continue outputs/<run-id> dialogue 2
    """
    try:
        run_dir = _run(run, out)
        from ..cowrite.continuation import continue_step
        from ..run.models import parse_model_overrides

        version = continue_step(
            run_dir,
            step,
            item,
            models=parse_model_overrides(model or []),
            seed=seed,
            templates=template_folders(templates),
        )
    except Exception as exc:
        raise fail(exc) from None
    _changed(run_dir, version, f"is current: {version.note}")


# -- history and checkout ----------------------------------------------------------------------
@app.command()
def history(
    run: RunArg,
    step: StepArg,
    item: ItemArg = None,
    diff: Annotated[
        bool, typer.Option("--diff/--no-diff", help="Show each version's changes.")
    ] = True,
    out: OutOpt = Path("outputs"),
) -> None:
    """Every version of a step (NEW, RERUN, EDIT, CONTINUE), with times and changes.

    [dim]Example:[/dim]  dramaturg history outputs/<run-id> dialogue 3
    """
    try:
        run_dir = _run(run, out)
        from ..cowrite.edit import step_history
        from ..store.readback import read_manifest
        from ..store.versions import diff as diff_of

        versions = step_history(run_dir, step, item)
        stale = read_manifest(run_dir).step(step).stale
    except Exception as exc:
        raise fail(exc) from None
    what = f"{step}{'' if item is None else f' item {item}'}"
    if not versions:
        print(f"{what}: no versions (the step has not finished)")
        return
    current = next((v.version for v in versions if v.current), None)
    print(f"{what}: {len(versions)} version(s), current: {current or 'none of these'}")
    if stale:
        print(f"stale: {_stale_text(stale, run_dir, step)}")
    by_number = {v.version: v for v in versions}
    previous = None
    for v in versions:
        mark = "*" if v.current else " "
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v.time))
        parts = [f"{mark} v{v.version:<3} {v.kind:<8} {when}"]
        if v.item is not None and item is None:
            parts.append(f"item {v.item}")
        if v.seed is not None:
            parts.append(f"seed {v.seed}")
        if v.note:
            parts.append(v.note)
        pinned = [p for p in v.pinned if item is None or p in (None, item)]
        if pinned:
            parts.append("pinned" if pinned == [None] else f"pinned items {_list(pinned)}")
        print("  ".join(parts))
        base = by_number.get(v.based_on or -1, previous)
        if diff and base is not None:
            for line in diff_of(
                base.value(item), v.value(item), f"v{base.version}", f"v{v.version}"
            ):
                print(f"    {line}")
        previous = v


def _list(items: list[int | None]) -> str:
    return ", ".join(str(i) for i in items)


def _stale_text(stale: Stale, run_dir: Path, step: str) -> str:
    if stale.because:
        return f"{', '.join(stale.because)} changed since; `dramaturg rerun {run_dir}` updates it"
    pinned = stale.pinned
    what = step if pinned is True else f"{step}/{_list(pinned or [])}"
    return (
        f"your edit of {what} is kept though its inputs changed; "
        f"`dramaturg rerun {run_dir} --only {what.split(',')[0]}` regenerates it"
    )


@app.command()
def checkout(
    run: RunArg,
    step: StepArg,
    version: Annotated[int, typer.Argument(help="A version number (see `dramaturg history`).")],
    out: OutOpt = Path("outputs"),
) -> None:
    """Make an earlier version of a step its current output again.

    [dim]Example:[/dim]  dramaturg checkout outputs/<run-id> plot 1
    """
    try:
        run_dir = _run(run, out)
        from ..cowrite.edit import checkout as checkout_version

        restored = checkout_version(run_dir, step, version)
    except Exception as exc:
        raise fail(exc) from None
    _changed(run_dir, restored, "is current")


# -- templates -------------------------------------------------------------------------------
@app.command()
def templates(chain: ChainArg, templates: TemplatesOpt = None) -> None:
    """List the template files each step uses, resolved (included and schema templates too).

    Copy one into a folder of your own and pass it with [dim]--templates DIR[/dim] (run,
    rerun) to override it without touching the chain's; after editing a template,
    [dim]dramaturg rerun RUN[/dim] recomputes only its step and what depends on it.
    """
    try:
        loaded = load_chain_arg(chain, templates)
        uses = loaded.templates()
    except Exception as exc:
        raise fail(exc) from None
    for step, found in uses.items():
        print(step)
        for use in found:
            depth = 0
            parent = use.included_by
            parents = {u.name: u.included_by for u in found if u.role == use.role}
            while parent is not None and depth < 10:
                depth += 1
                parent = parents.get(parent)
            role = use.role if use.included_by is None else "  " * depth + "includes"
            where = use.file or (
                "(inline in the chain file)" if use.name == "<inline>" else "NOT FOUND"
            )
            override = "  (override)" if use.override else ""
            name = "" if use.name == "<inline>" else f"{use.name}  "
            print(f"  {role:<10} {name}{where}{override}")
