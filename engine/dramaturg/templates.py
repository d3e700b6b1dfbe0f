"""Prompt templates: a sandboxed Jinja2 environment, static analysis and rendering.

Templates come from the chain's prompt folders (user override folders first). Names that would
leave those folders (``..``, absolute paths, symlinks pointing outside) are refused. Rendering
uses ``StrictUndefined``: a missing variable is an error with the template's file and line, never
an empty string sent to a model.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from .errors import Location, TemplateRenderError


class _ConfinedLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses files resolving outside its folders (symlinks too)."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        real = os.path.realpath(filename)
        roots = [os.path.realpath(p) for p in self.searchpath]
        if not any(real == r or real.startswith(r + os.sep) for r in roots):
            raise jinja2.TemplateNotFound(template)
        return source, filename, uptodate


@dataclass(frozen=True)
class VariableUse:
    """A variable a template reads, and where it is first read."""

    name: str
    location: Location


class Templates:
    """The templates of one chain."""

    def __init__(self, search_paths: list[Path]) -> None:
        self.search_paths = list(search_paths)
        self.env = SandboxedEnvironment(
            loader=_ConfinedLoader([str(p) for p in self.search_paths]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    # -- sources -----------------------------------------------------------------------------
    def source(self, name: str) -> tuple[str, str]:
        """(text, filename) of a template file. Raises jinja2.TemplateNotFound."""
        assert self.env.loader is not None
        text, filename, _ = self.env.loader.get_source(self.env, name)
        return text, filename or name

    def parse(self, text: str, filename: str) -> nodes.Template:
        """Parse a template. Raises jinja2.TemplateSyntaxError (with ``lineno``)."""
        return self.env.parse(text, filename=filename)

    def compile(self, text: str, filename: str) -> jinja2.Template:
        return self.env.from_string(text, globals={"__dramaturg_file__": filename})

    def load(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)

    # -- static analysis ---------------------------------------------------------------------
    def variables(self, text: str, filename: str, line_offset: int = 0) -> list[VariableUse]:
        """Variables the template (and the templates it includes) read from its context."""
        found: dict[str, VariableUse] = {}
        for ast, fname, offset in self._walk(text, filename, line_offset, set()):
            for name in sorted(meta.find_undeclared_variables(ast)):
                if name not in found:
                    line = _first_line(ast, name)
                    found[name] = VariableUse(name, Location(fname, (line or 1) + offset))
        return list(found.values())

    def _walk(
        self, text: str, filename: str, offset: int, seen: set[str]
    ) -> Iterator[tuple[nodes.Template, str, int]]:
        ast = self.parse(text, filename)
        yield ast, filename, offset
        for ref in meta.find_referenced_templates(ast):
            if ref is None or ref in seen:
                continue
            seen.add(ref)
            sub_text, sub_file = self.source(ref)
            yield from self._walk(sub_text, sub_file, 0, seen)

    def included_files(self, text: str, filename: str) -> list[str]:
        """Filenames of every template included (recursively) by this one."""
        return [f for _, f, _ in self._walk(text, filename, 0, set())][1:]

    def included_names(self, text: str, filename: str) -> list[str]:
        """Names (as templates refer to them) of every template this one includes, imports or
        extends, recursively; names computed at render time cannot be known and are left out."""
        names: list[str] = []
        for ast, _, _ in self._walk(text, filename, 0, set()):
            names += [n for n in meta.find_referenced_templates(ast) if n and n not in names]
        return names


def _first_line(ast: nodes.Template, name: str) -> int | None:
    for node in ast.find_all(nodes.Name):
        if node.name == name and node.ctx == "load":
            return int(node.lineno)
    return None


def render(
    template: jinja2.Template, context: Mapping[str, Any], *, where: str, line_offset: int = 0
) -> str:
    """Render with StrictUndefined; errors become TemplateRenderError with file:line."""
    try:
        return template.render(context)
    except jinja2.TemplateError as exc:
        raise _render_error(exc, where, line_offset, context) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise _render_error(exc, where, line_offset, context) from None


def _render_error(
    exc: Exception, where: str, line_offset: int, context: Mapping[str, Any]
) -> TemplateRenderError:
    line = getattr(exc, "lineno", None)
    filename = getattr(exc, "filename", None)
    if line is None:
        # the template's frames carry its filename and line after jinja2 rewrote the traceback
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if (
                frame.filename.endswith((".j2", ".jinja", ".jinja2", ".txt", ".md"))
                or frame.filename == "<template>"
            ):
                line, filename = frame.lineno, frame.filename
                break
    if filename in (None, "<template>"):
        filename = where
        if line is not None:
            line += line_offset
    loc = Location(filename, line)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return TemplateRenderError(
            f"{loc}: template tried an unsafe operation: {exc}",
            hint="templates run in a sandbox; they cannot reach Python internals",
        )
    available = ", ".join(sorted(k for k in context if not k.startswith("__")))
    return TemplateRenderError(
        f"{loc}: template error: {exc}",
        hint=f"variables available here: {available}" if available else "",
    )
