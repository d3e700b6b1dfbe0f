"""Which template files each step of a chain uses, resolved: its prompt, system prompt, schema
template and continue prompt, and every template they include, import or extend (``dramaturg
templates CHAIN``). A template found in a ``--templates`` folder is an override of the chain's
own."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import meta

from ..spec import PromptRef
from .checked import Checked

ROLES = ("prompt", "system", "schema", "continue")


@dataclass(frozen=True)
class TemplateUse:
    """One template a step uses."""

    step: str
    #: prompt, system, schema or continue
    role: str
    #: the name the chain (or the including template) gives it; "<inline>" for inline text
    name: str
    #: the file it resolves to (None: inline text, or not found)
    file: str | None
    #: the template that includes it (None: the step's own)
    included_by: str | None = None
    #: found in a --templates folder, before the chain's own prompt folders
    override: bool = False


def template_uses(checked: Checked) -> dict[str, list[TemplateUse]]:
    """Step id -> the templates it uses, in the order a reader meets them."""
    overrides = [os.path.realpath(p) for p in checked.override_dirs]
    out: dict[str, list[TemplateUse]] = {}
    for sid, step in checked.spec.steps.items():
        refs = (step.prompt, step.system, getattr(step.parse, "schema_", None), step.continue_)
        uses: list[TemplateUse] = []
        for role, ref in zip(ROLES, refs, strict=True):
            if isinstance(ref, PromptRef):
                uses += _walk(checked, sid, role, ref, overrides)
        out[sid] = uses
    return out


def _walk(
    checked: Checked, sid: str, role: str, ref: PromptRef, overrides: list[str]
) -> list[TemplateUse]:
    t = checked.templates
    found: list[TemplateUse] = []
    seen: set[str] = set()

    def visit(name: str, text: str, filename: str | None, parent: str | None) -> None:
        real = os.path.realpath(filename) if filename else None
        override = real is not None and any(real.startswith(o + os.sep) for o in overrides)
        found.append(TemplateUse(sid, role, name, filename, parent, override))
        try:
            refs = meta.find_referenced_templates(t.parse(text, filename or "<inline>"))
        except jinja2.TemplateSyntaxError:
            return
        for sub in refs:
            if sub is None or sub in seen:
                continue
            seen.add(sub)
            try:
                sub_text, sub_file = t.source(sub)
            except jinja2.TemplateNotFound:
                found.append(TemplateUse(sid, role, sub, None, name))
                continue
            visit(sub, sub_text, sub_file, name)

    if ref.file is not None:
        try:
            text, filename = t.source(ref.file)
        except jinja2.TemplateNotFound:
            return [TemplateUse(sid, role, ref.file, None)]
        seen.add(ref.file)
        visit(ref.file, text, str(Path(filename)), None)
    else:
        visit("<inline>", ref.text or "", None, None)
    return found
