"""``dramaturg validate``, ``graph``, ``models`` and ``schema``: looking at chains."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .app import (
    ChainArg,
    TemplatesOpt,
    app,
    fail,
    load_chain_arg,
    print_error,
)


@app.command()
def validate(chain: ChainArg, templates: TemplatesOpt = None) -> None:
    """Check a chain and its templates without running anything.

    Every problem is reported at once, with file:line:column and a hint.

    [dim]Examples:[/dim]
      dramaturg validate chains/dramatron.yaml
      dramaturg validate dramatron --templates my-prompts
    """
    try:
        loaded = load_chain_arg(chain, templates)
    except Exception as exc:
        raise fail(exc) from None
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
    """Print the chain's DAG as Mermaid or Graphviz DOT text (offline).

    A finished run's report.html draws it too, coloured by status.

    [dim]Examples:[/dim]
      dramaturg graph chains/dramatron.yaml
      dramaturg graph dramatron --format dot | dot -Tsvg > dramatron.svg
    """
    from ..chain import graph as graphs

    if format not in ("mermaid", "dot"):
        print_error(
            f"error: unknown format {format!r}\n  hint: use --format mermaid or --format dot"
        )
        raise typer.Exit(2)
    try:
        loaded = load_chain_arg(chain)
    except Exception as exc:
        raise fail(exc) from None
    g = loaded.graph
    sys.stdout.write(graphs.to_mermaid(g) if format == "mermaid" else graphs.to_dot(g, loaded.name))


@app.command()
def models() -> None:
    """List model providers: installed or not, API key set or not (never shown), defaults.

    [dim]Use one with --model NAME=PROVIDER[:MODEL], e.g. --model default=cohere.[/dim]
    """
    from rich.console import Console
    from rich.table import Table

    from ..chain.checked import IMPLICIT_MODELS
    from ..providers import get_registry

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
    """Print the chain file format as JSON Schema (for editor autocompletion).

    [dim]Example:[/dim]  dramaturg schema > chain.schema.json
    """
    import json

    from ..spec import json_schema

    print(json.dumps(json_schema(), indent=2))
