"""A model's answer made safe to keep: what every parsed answer goes through before anything
stores it (run folder, call log, step cache) or renders it (later prompts, report, exports).

* **Control characters** (C0 but tab, newline and carriage return; DEL; C1) are removed from
  the raw text and from every string of the parsed value: a JSON answer can spell them as
  escapes (``"\\u001b[2J"``, ``"\\u0000"``), which the raw-text pass cannot see.
* **Lone surrogates** (an answer cut inside an emoji, ``"\\ud83c"``) cannot be written as UTF-8:
  they become U+FFFD.
* **Nesting** deeper than :data:`MAX_DEPTH` levels (what chain files and edits allow) makes the
  answer garbage: :class:`ParseError`, so that it is resampled like any unparseable answer.
  Co-writing walks answers recursively; a 600-level answer would break it later.

Walks iteratively (no recursion on hostile depth). Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ParseError
from ..source import MAX_DEPTH

#: control characters no answer needs (all but tab, newline and carriage return; DEL; C1)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` without control characters, with lone surrogates as U+FFFD."""
    return _SURROGATE.sub("\ufffd", CONTROL.sub("", text))


def clean_value(value: Any) -> Any:
    """A copy of a parsed answer with every string (keys too) cleaned; ParseError when it
    nests deeper than MAX_DEPTH lists and mappings."""
    if isinstance(value, str):
        return clean_text(value)
    if not isinstance(value, (list, dict)):
        return value
    root: list[Any] = [None]
    # (source, its depth, where its copy goes: (parent, key))
    stack: list[tuple[Any, int, Any, Any]] = [(value, 1, root, 0)]
    while stack:
        node, depth, parent, key = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(
                f"the answer nests deeper than {MAX_DEPTH} levels",
                hint="no screenplay needs that: the model is looping inside brackets",
            )
        if isinstance(node, list):
            copy: Any = [None] * len(node)
            for i, item in enumerate(node):
                _place(item, depth, copy, i, stack)
        else:
            copy = {}
            for k, item in node.items():
                k2 = clean_text(k) if isinstance(k, str) else k
                copy[k2] = None
                _place(item, depth, copy, k2, stack)
        parent[key] = copy
    return root[0]


def _place(item: Any, depth: int, parent: Any, key: Any, stack: list[Any]) -> None:
    if isinstance(item, (list, dict)):
        stack.append((item, depth + 1, parent, key))
    else:
        parent[key] = clean_text(item) if isinstance(item, str) else item
