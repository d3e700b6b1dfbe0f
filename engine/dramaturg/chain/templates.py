"""Prompt templates: a sandboxed Jinja2 environment, static analysis and rendering.

Templates come from the chain's prompt folders (user override folders first). Names that would
leave those folders (``..``, absolute paths, symlinks pointing outside) are refused. Rendering
uses ``StrictUndefined``: a missing variable is an error with the template's file and line, never
an empty string sent to a model. The sandbox (:mod:`dramaturg.chain.sandbox`) refuses Python
internals and bounds the work a template can ask for; a template nested too deeply to compile is a
syntax error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.loaders import split_template_path

from ..errors import Location, TemplateRenderError
from ..safeio import FileRefused, read_bytes
from ..source import MAX_BYTES
from .sandbox import (
    MAX_SIZE,
    BoundedSandbox,
    TemplateLimitError,
    compile_tracking,
    end_budget,
    render_budget,
    unsafe_uses,
)


class _ConfinedLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses files resolving outside its folders (symlinks too),
    before reading them, and reads regular files only, bounded (:mod:`dramaturg.safeio`)."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for searchpath in self.searchpath:
            filename = posixpath.join(searchpath, *pieces)  # as Jinja: no drive or UNC parts
            if Path(filename).is_file():
                break
        else:
            raise jinja2.TemplateNotFound(template)
        real = os.path.realpath(filename)
        roots = [os.path.realpath(p) for p in self.searchpath]
        if not any(real == r or real.startswith(r + os.sep) for r in roots):
            raise jinja2.TemplateNotFound(template)
        try:  # a UTF-8 character is at most 4 bytes: more bytes than that are too many
            source: str | None = read_bytes(real, 4 * MAX_BYTES).decode(self.encoding)
        except FileRefused as exc:
            if exc.errno != errno.EFBIG:  # swapped for a FIFO or a device since: not a template
                raise jinja2.TemplateNotFound(template) from None
            source = None
        except OSError:
            raise jinja2.TemplateNotFound(template) from None
        if source is None or len(source) > MAX_BYTES:
            size = f"more than {MAX_BYTES:,}" if source is None else f"{len(source):,}"
            raise jinja2.TemplateSyntaxError(
                f"the template is {size} characters; the limit is {MAX_BYTES:,} bytes",
                1,
                filename=os.path.normpath(filename),
            )
        mtime = Path(filename).stat().st_mtime

        def uptodate() -> bool:
            try:
                return Path(filename).stat().st_mtime == mtime
            except OSError:
                return False

        return source, os.path.normpath(filename), uptodate


@dataclass(frozen=True)
class VariableUse:
    """A variable a template reads, and where it is first read."""

    name: str
    location: Location


@dataclass
class Analysis:
    """What validation learns from a template and the templates it includes."""

    uses: list[VariableUse] = field(default_factory=list)
    #: filenames of the included templates (recursively)
    files: list[str] = field(default_factory=list)
    #: (message, where) of each read of a Python internal, refused by the sandbox
    unsafe: list[tuple[str, Location]] = field(default_factory=list)


@contextlib.contextmanager
def _too_complex(filename: str) -> Iterator[None]:
    """Templates nested beyond what Jinja's parser or Python's compiler handle are syntax
    errors, not crashes."""
    try:
        yield
    except (RecursionError, MemoryError):
        raise jinja2.TemplateSyntaxError(
            "the template nests expressions or blocks too deeply", 1, filename=filename
        ) from None
    except SyntaxError as exc:  # Python's compiler: "too many statically nested blocks"
        raise jinja2.TemplateSyntaxError(
            f"the template nests blocks too deeply to compile ({exc.msg})", 1, filename=filename
        ) from None


class Templates:
    """The templates of one chain."""

    def __init__(self, search_paths: list[Path]) -> None:
        self.search_paths = list(search_paths)
        self.env = BoundedSandbox(
            loader=_ConfinedLoader([str(p) for p in self.search_paths]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._inline_code: dict[str, CodeType] = {}
        #: (text, filename) -> name -> source of what it includes
        self._included: dict[tuple[str, str], dict[str, str]] = {}

    # -- sources -----------------------------------------------------------------------------
    def source(self, name: str) -> tuple[str, str]:
        """(text, filename) of a template file. Raises jinja2.TemplateNotFound."""
        assert self.env.loader is not None
        text, filename, _ = self.env.loader.get_source(self.env, name)
        return text, filename or name

    def parse(self, text: str, filename: str) -> nodes.Template:
        """Parse a template. Raises jinja2.TemplateSyntaxError (with ``lineno``)."""
        with _too_complex(filename):
            return self.env.parse(text, filename=filename)

    def inline(self, text: str) -> jinja2.Template:
        """An inline template (text in the chain file) compiled, reusing the code that
        :meth:`analyse` compiled for it at validation, so that it is compiled only once."""
        code = self._inline_code.pop(text, None)
        if code is None:
            return self.env.from_string(text)
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None))

    def load(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)

    # -- static analysis ---------------------------------------------------------------------
    def variables(self, text: str, filename: str, line_offset: int = 0) -> list[VariableUse]:
        """Variables the template (and the templates it includes) read from its context."""
        return self.analyse(text, filename, line_offset, compile_check=False).uses

    def analyse(
        self,
        text: str,
        filename: str,
        line_offset: int = 0,
        *,
        compile_check: bool = True,
        inline: bool = False,
    ) -> Analysis:
        """Variables read, templates included and sandbox violations of a template and the
        templates it includes; each is also compiled (``compile_check``), so that one nested
        too deeply fails here. The code of an ``inline`` template is kept for :meth:`inline`
        (compiled without a filename, as ``from_string`` would, so that render errors map to
        the chain file's lines). Raises jinja2.TemplateSyntaxError or TemplateNotFound."""
        out = Analysis()
        found: dict[str, VariableUse] = {}
        for i, (ast, fname, offset) in enumerate(self._walk(text, filename, line_offset, set())):
            root = i == 0
            if fname != filename:
                out.files.append(fname)
            with _too_complex(fname):
                if compile_check:
                    keep = inline and root
                    code, undeclared = compile_tracking(self.env, ast, None if keep else fname)
                    if keep:
                        self._inline_code[text] = code
                else:
                    undeclared = meta.find_undeclared_variables(ast)
                names = sorted(undeclared)
            for name in names:
                if name not in found:
                    line = _first_line(ast, name)
                    found[name] = VariableUse(name, Location(fname, (line or 1) + offset))
            out.unsafe += [
                (what, Location(fname, line + offset)) for what, line in unsafe_uses(ast)
            ]
        out.uses = list(found.values())
        return out

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

    def included_sources(self, text: str, filename: str) -> dict[str, str]:
        """Name (as templates refer to it) -> source of every template this one includes,
        imports or extends, recursively; names computed at render time cannot be known and are
        left out. Kept per (text, filename) while those sources read the same (every run asks).
        Raises jinja2.TemplateNotFound or TemplateSyntaxError."""
        known = self._included.get((text, filename))
        if known is not None:
            try:
                if all(self.source(n)[0] == src for n, src in known.items()):
                    return dict(known)
            except jinja2.TemplateNotFound:
                pass
        names: list[str] = []
        for ast, _, _ in self._walk(text, filename, 0, set()):
            names += [n for n in meta.find_referenced_templates(ast) if n and n not in names]
        self._included[(text, filename)] = found = {n: self.source(n)[0] for n in names}
        return dict(found)


def _first_line(ast: nodes.Template, name: str) -> int | None:
    for node in ast.find_all(nodes.Name):
        if node.name == name and node.ctx == "load":
            return int(node.lineno)
    return None


def render(
    template: jinja2.Template, context: Mapping[str, Any], *, where: str, line_offset: int = 0
) -> str:
    """Render with StrictUndefined; errors become TemplateRenderError with file:line. A prompt
    longer than the sandbox's MAX_SIZE characters is refused as it grows."""
    budget = render_budget()
    try:
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_SIZE:
                raise TemplateLimitError(f"the rendered prompt exceeds {MAX_SIZE:,} characters")
            chunks.append(chunk)
        return "".join(chunks)
    except jinja2.TemplateError as exc:
        raise _render_error(exc, where, line_offset, context) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise _render_error(exc, where, line_offset, context) from None
    except (RecursionError, MemoryError) as exc:
        kind = "recursed too deeply" if isinstance(exc, RecursionError) else "ran out of memory"
        err = _render_error(exc, where, line_offset, context)
        raise TemplateRenderError(
            f"{err.message.split(': template error:')[0]}: the template {kind}",
            hint="check recursive macros and includes, and loops that build large values",
        ) from None
    finally:
        end_budget(budget)


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
    if isinstance(exc, TemplateLimitError):
        return TemplateRenderError(
            f"{loc}: template exceeded a sandbox limit: {exc}",
            hint="templates may not build values this large; check loops, '*' and padding",
        )
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
