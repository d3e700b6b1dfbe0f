"""Read YAML safely and remember where every key and value came from (for file:line:col errors).

Only PyYAML's ``SafeLoader`` is used. The document is composed into nodes and built here, so that
duplicate keys are refused, alias expansion is bounded ("billion laughs") and each path in the
data maps to its position in the file.
"""

from __future__ import annotations

import contextlib
import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ChainError, Location, Problem
from .safeio import REGULAR_HINT, FileRefused, read_bytes

Path_ = tuple[str | int, ...]

MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_BYTES = 5 * 1024 * 1024
MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Source:
    """A parsed YAML document with the positions of its keys and values."""

    file: str
    data: Any
    text: str = ""
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    block_scalars: set[Path_] = field(default_factory=set)

    def locate(self, path: Path_, *, prefer_value: bool = False) -> Location:
        """The closest known position for ``path`` (walking up to its parents)."""
        p = tuple(path)
        while True:
            first, second = (
                (self.value_marks, self.key_marks)
                if prefer_value
                else (self.key_marks, self.value_marks)
            )
            mark = first.get(p) or second.get(p)
            if mark:
                return Location(self.file, mark[0], mark[1])
            if not p:
                return Location(self.file, 1, 1)
            p = p[:-1]

    def value_line(self, path: Path_) -> int | None:
        """The first line of a value's *content* (the line after ``key: |`` for block scalars)."""
        mark = self.value_marks.get(tuple(path))
        if mark is None:
            return None
        return mark[0] + 1 if tuple(path) in self.block_scalars else mark[0]


def _problem(file: str, message: str, line: int = 1, column: int = 1, hint: str = "") -> ChainError:
    return ChainError([Problem(message, Location(file, line, column), hint=hint)], path=file)


def read_text(path: Path) -> str:
    """Read a UTF-8 text file (a regular file of at most MAX_BYTES: never a device, a FIFO or a
    folder), turning I/O and decoding failures into a ChainError."""
    file = str(path)
    try:
        raw = read_bytes(path, MAX_BYTES)
    except FileNotFoundError:
        raise _problem(file, "file not found", hint="check the path") from None
    except FileRefused as exc:
        hint = "" if exc.errno == errno.EFBIG else REGULAR_HINT
        raise _problem(file, f"cannot read the file: {exc}", hint=hint) from None
    except OSError as exc:
        raise _problem(file, f"cannot read file: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _problem(
            file,
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            line,
            col,
            hint="save the file as UTF-8",
        ) from None


def _loader(text: str) -> yaml.SafeLoader | yaml.CSafeLoader:
    return (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)(text)


def _check_depth(text: str, file: str, *, pure: bool = False) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the event stream, before any node is composed:
    composing is recursive (libyaml's composer overflows the C stack, PyYAML's the Python one)
    while parsing events is not. ``pure`` uses PyYAML's Python parser, which sets no nesting
    limit of its own (libyaml 0.2.6 and later stop at 1000 flow levels, scanning ahead of the
    events, so their own error comes first)."""
    loader = yaml.SafeLoader(text) if pure else _loader(text)
    depth = 0
    try:
        while not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                    raise _problem(file, f"nesting deeper than {MAX_DEPTH} levels", line, col)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def load_yaml(text: str, file: str) -> Source:
    """Parse one YAML document with positions. Raises ChainError on any syntax problem."""
    loader = _loader(text)
    try:
        _check_depth(text, file)
        node = loader.get_single_node()
        src = Source(file=file, data=None, text=text)
        if node is not None:
            src.data = _Builder(loader, src).build(node, (), 0)
        return src
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and yaml.__with_libyaml__:
            _recheck_depth(text[: mark.index + 1], file)  # too deep: say so, not libyaml's words
        if exc.context_mark is not None and "end of stream" in str(exc.problem):
            mark = exc.context_mark  # an unclosed quote or bracket: where it opened
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise _problem(
            file,
            f"YAML syntax error: {msg}",
            line,
            col,
            hint="check indentation, quotes and colons on this line",
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        pos = exc.position
        line, col = text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise _problem(
            file,
            f"the character U+{ord(char):04X} is not allowed in YAML",
            line,
            col,
            hint="remove it (control characters other than tab and newline cannot appear)",
        ) from None
    except yaml.YAMLError as exc:
        raise _problem(file, f"YAML error: {exc}") from None
    finally:
        loader.dispose()


def _recheck_depth(text: str, file: str) -> None:
    """After libyaml refused ``text``, raise the nesting problem if that is what it met first."""
    with contextlib.suppress(yaml.YAMLError):  # cut at the error, or another problem: not depth
        _check_depth(text, file, pure=True)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader, src: Source) -> None:
        self.loader = loader
        self.src = src
        self.count = 0
        self._merged: dict[int, dict[Any, tuple[yaml.Node, yaml.Node]]] = {}
        self._merging: set[int] = set()

    def _mark(self, node: yaml.Node) -> tuple[int, int]:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            line, col = self._mark(node)
            raise _problem(
                self.src.file,
                f"document expands to more than {MAX_NODES:,} values",
                line,
                col,
                hint="YAML aliases that multiply data are not allowed",
            )
        if depth > MAX_DEPTH:
            line, col = self._mark(node)
            raise _problem(self.src.file, f"nesting deeper than {MAX_DEPTH} levels", line, col)
        self.src.value_marks.setdefault(path, self._mark(node))
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("|", ">"):
                self.src.block_scalars.add(path)
            return self.loader.construct_object(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key, (key_node, value_node) in self._pairs(node).items():
                self.src.key_marks[(*path, key)] = self._mark(key_node)
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        raise _problem(self.src.file, f"unsupported YAML node {type(node).__name__}")

    def _pairs(self, node: yaml.MappingNode) -> dict[Any, tuple[yaml.Node, yaml.Node]]:
        """A mapping's entries with merge keys (``<<: *base``) applied, without mutating nodes.

        The mapping's own keys override merged ones (earlier merge sources override later ones,
        as in YAML 1.1); only its own keys are checked for duplicates.
        """
        done = self._merged.get(id(node))
        if done is not None:
            return done
        if id(node) in self._merging:
            line, col = self._mark(node)
            raise _problem(self.src.file, "a merge key ('<<') refers to its own mapping", line, col)
        self._merging.add(id(node))
        try:
            merged: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
            own: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    sources = (
                        value_node.value
                        if isinstance(value_node, yaml.SequenceNode)
                        else [value_node]
                    )
                    for sub in sources:
                        if not isinstance(sub, yaml.MappingNode):
                            line, col = self._mark(sub)
                            raise _problem(
                                self.src.file,
                                "a merge key ('<<') needs a mapping or a list of mappings",
                                line,
                                col,
                            )
                        for k, pair in self._pairs(sub).items():
                            merged.setdefault(k, pair)
                    continue
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    line, col = self._mark(key_node)
                    raise _problem(self.src.file, "mapping keys must be plain scalars", line, col)
                if key in own:
                    line, col = self._mark(key_node)
                    raise _problem(
                        self.src.file,
                        f"duplicate key {key!r}",
                        line,
                        col,
                        hint="each key may appear once in a mapping",
                    )
                own[key] = (key_node, value_node)
        finally:
            self._merging.discard(id(node))
        self._merged[id(node)] = result = {**merged, **own}
        return result
