"""The screenplay exporter's options (``exports: [{type: screenplay, options: {...}}]``).

::

    formats: [fountain, fdx, pdf, html, illustrated_pdf, log]   # default: all six
    steps: {title: title, characters: characters, plot: plot, places: places,
            dialogue: dialogue, portraits: portraits, illustrations: illustrations}
    logline: logline          # the run input holding the logline
    illustrate: places        # illustrations are one per unique place, or per scene: scenes
                              # (default: the run's `illustrate` input if it has one, else places)
    author: Jane Doe          # credit: "Co-written by Dramaturg and Jane Doe"
    draft_date: May 2026      # default: the day the run started
    scene_numbers: true       # #1# scene numbers in Fountain, FDX and the PDFs
    name: screenplay          # file names: screenplay.fountain, screenplay.pdf...

Formats given on the command line (``dramaturg export RUN -f pdf``) replace ``formats``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from dramaturg import ExportError

#: format -> file written (``{name}`` is the ``name`` option)
FORMATS: dict[str, str] = {
    "fountain": "{name}.fountain",
    "fdx": "{name}.fdx",
    "pdf": "{name}.pdf",
    "html": "{name}.html",
    "illustrated_pdf": "{name}-illustrated.pdf",
    "log": "log.md",
}
ALIASES = {
    "illustrated-pdf": "illustrated_pdf",
    "illustrated": "illustrated_pdf",
    "finaldraft": "fdx",
    "final_draft": "fdx",
    "md": "log",
    "htm": "html",
}
STEP_ROLES = ("title", "characters", "plot", "places", "dialogue", "portraits", "illustrations")
_KNOWN = (
    "formats",
    "steps",
    "logline",
    "illustrate",
    "author",
    "draft_date",
    "scene_numbers",
    "name",
)
_HINT = "fix the screenplay exporter's options in the chain file (exports: [{type: screenplay}])"


@dataclass
class Options:
    formats: list[str] = field(default_factory=lambda: list(FORMATS))
    steps: dict[str, str] = field(default_factory=lambda: {r: r for r in STEP_ROLES})
    logline: str = "logline"
    #: None: follow the run's ``illustrate`` input (places when it has none)
    illustrate: Literal["places", "scenes"] | None = None
    author: str | None = None
    draft_date: str | None = None
    scene_numbers: bool = True
    name: str = "screenplay"

    def file_name(self, fmt: str) -> str:
        return FORMATS[fmt].format(name=self.name)


def parse_options(raw: Mapping[str, Any], cli_formats: list[str] | None = None) -> Options:
    """Checked options; every problem raises :class:`ExportError` naming the option."""
    unknown = sorted(set(raw) - set(_KNOWN))
    if unknown:
        raise ExportError(
            f"screenplay exporter: unknown option(s) {', '.join(map(repr, unknown))}",
            hint=f"known options: {', '.join(_KNOWN)}",
        )
    opts = Options()
    if "formats" in raw:
        opts.formats = _formats(raw["formats"], "option 'formats'")
    if cli_formats:
        opts.formats = _formats(cli_formats, "--format", ignore_unknown=True)
    if "steps" in raw:
        opts.steps.update(_steps(raw["steps"]))
    opts.logline = _string(raw, "logline", opts.logline) or opts.logline
    illustrate = raw.get("illustrate")
    if illustrate not in ("places", "scenes", None):
        raise ExportError(
            f"screenplay exporter: option 'illustrate' is {illustrate!r}",
            hint="use 'places' (one illustration per unique place) or 'scenes' (one per scene)",
        )
    opts.illustrate = illustrate
    opts.author = _string(raw, "author", None) or None
    opts.draft_date = _string(raw, "draft_date", None) or None
    scene_numbers = raw.get("scene_numbers", True)
    if not isinstance(scene_numbers, bool):
        raise ExportError("screenplay exporter: option 'scene_numbers' must be true or false")
    opts.scene_numbers = scene_numbers
    name = _string(raw, "name", opts.name) or opts.name
    if any(c in name for c in "/\\\x00") or name.startswith("."):
        raise ExportError(
            f"screenplay exporter: option 'name' {name!r} is not a plain file name", hint=_HINT
        )
    opts.name = name
    return opts


def _formats(value: Any, where: str, *, ignore_unknown: bool = False) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExportError(f"screenplay exporter: {where} must be a list of format names")
    known = [ALIASES.get(v.lower(), v.lower()) for v in value]
    wanted = [f for f in dict.fromkeys(known) if f in FORMATS]
    bad = [v for v, k in zip(value, known, strict=True) if k not in FORMATS]
    if (bad and not ignore_unknown) or not wanted:
        raise ExportError(
            f"screenplay exporter: unknown format(s) {', '.join(map(repr, bad))} in {where}",
            hint=f"formats: {', '.join(FORMATS)}",
        )
    return wanted


def _steps(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ExportError(
            "screenplay exporter: option 'steps' must map roles to step ids",
            hint=f"e.g. steps: {{title: my_title}}; roles: {', '.join(STEP_ROLES)}",
        )
    out = {}
    for role, step in value.items():
        if role not in STEP_ROLES:
            raise ExportError(
                f"screenplay exporter: option 'steps' has an unknown role {role!r}",
                hint=f"roles: {', '.join(STEP_ROLES)}",
            )
        if not isinstance(step, str) or not step:
            raise ExportError(f"screenplay exporter: option 'steps.{role}' must be a step id")
        out[role] = step
    return out


def _string(raw: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = raw.get(key, default)
    if value is None:
        return None
    if not isinstance(value, (str, int, float, date)) or isinstance(value, bool):
        raise ExportError(f"screenplay exporter: option '{key}' must be a string", hint=_HINT)
    return str(value).strip()
