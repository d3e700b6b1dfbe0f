"""The loop guard: find the lines of an answer that repeat or copy, and drop them.

Small models loop: a line said twice in a scene, a scene's speech that repeats the scene before,
a place's description read out as dialogue. A step's ``parse.loops`` (:class:`.LoopGuard`) says
what counts; :mod:`.stepcalls` resamples an answer with findings and, when its budget is spent,
keeps the best sample with :func:`drop` applied.

An answer's **units** are the lines of a text, the entries of a list of strings, or the records
of a list of records (the text of their ``fields``, or of every string in them that is long
enough); a mapping contributes the units of each of its lists, and a mapping without lists (one
record) is one unit. Units shorter than ``min_words`` words are never findings. Pure functions,
no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from ..spec import LoopGuard

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
#: how much of a unit a finding quotes
QUOTE = 80


def words(text: str) -> list[str]:
    """The words of ``text``: case, punctuation and spacing aside."""
    return _WORD.findall(text.casefold().replace("\u2019", "'"))


@dataclass(frozen=True)
class Unit:
    """One checked piece of an answer: where it is (``path`` into the value) and its text."""

    path: tuple[str | int, ...]
    text: str


@dataclass(frozen=True)
class Finding:
    """A unit that repeats or copies: ``kind`` is ``repeat`` (another unit of the answer),
    ``repeat_of_item`` (a unit of an earlier item) or ``copy`` (words of the prompt)."""

    unit: Unit
    kind: str
    #: what it repeats or copies
    of: str
    #: the earlier item it repeats (``repeat_of_item``)
    item: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": _quote(self.unit.text)}
        out["of"] = _quote(self.of)
        if self.item is not None:
            out["item"] = self.item
        return out


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE else text[: QUOTE - 3] + "..."


def _record_text(record: dict[str, Any], guard: LoopGuard) -> str:
    if guard.fields is not None:
        parts = [record.get(f) for f in guard.fields]
    else:
        parts = [
            v for v in record.values() if isinstance(v, str) and len(words(v)) >= guard.min_words
        ]
    return " ".join(p for p in parts if isinstance(p, str))


def units(value: Any, guard: LoopGuard) -> list[Unit]:
    """The units of an answer, in order."""
    found: list[Unit] = []

    def of_list(items: Sequence[Any], at: tuple[str | int, ...]) -> None:
        for i, item in enumerate(items):
            if isinstance(item, str):
                found.append(Unit((*at, i), item))
            elif isinstance(item, dict):
                found.append(Unit((*at, i), _record_text(item, guard)))

    if isinstance(value, str):
        for i, line in enumerate(value.splitlines()):
            found.append(Unit((i,), line))
    elif isinstance(value, list):
        of_list(value, ())
    elif isinstance(value, dict):
        lists = [(key, v) for key, v in value.items() if isinstance(v, list)]
        for key, v in lists:
            of_list(v, (str(key),))
        if not lists:  # one record: the answer is one unit, which cannot be dropped
            found.append(Unit((), _record_text(value, guard)))
    return [u for u in found if len(words(u.text)) >= guard.min_words]


def strings(values: Iterable[Any], limit: int = 20_000) -> list[str]:
    """Every string in ``values`` (nested lists and mappings walked), at most ``limit``."""
    out: list[str] = []
    todo = list(values)[::-1]
    while todo and len(out) < limit:
        value = todo.pop()
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            todo.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            todo.extend(reversed(value))
    return out


def _alike(a: list[str], b: list[str], similarity: float) -> bool:
    if a == b:
        return True
    if similarity >= 1:
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < similarity or matcher.quick_ratio() < similarity:
        return False
    return matcher.ratio() >= similarity


def _ngrams(seq: list[str], n: int) -> Iterable[tuple[str, ...]]:
    return (tuple(seq[i : i + n]) for i in range(len(seq) - n + 1))


def find(
    value: Any,
    guard: LoopGuard,
    *,
    prompt: str = "",
    earlier: Sequence[Any] = (),
) -> list[Finding]:
    """The findings of an answer: its units that repeat one another, repeat a unit of the
    ``earlier`` items' outputs (oldest first), or copy ``copy_words`` words of ``prompt``."""
    mine = units(value, guard)
    if not mine:
        return []
    out: list[Finding] = []
    seen: list[tuple[list[str], Unit]] = []
    before: list[tuple[list[str], Unit, int]] = []
    if guard.across_items:
        for index, other in enumerate(earlier):
            before += [(words(u.text), u, index) for u in units(other, guard)]
    grams: set[tuple[str, ...]] = set()
    n = guard.copy_words
    if n > 0 and prompt:
        grams = set(_ngrams(words(prompt), n))
    for unit in mine:
        w = words(unit.text)
        finding = None
        if guard.within:
            twin = next((u for sw, u in seen if _alike(w, sw, guard.similarity)), None)
            if twin is not None:
                finding = Finding(unit, "repeat", twin.text)
        if finding is None and before:
            match = next((x for x in before if _alike(w, x[0], guard.similarity)), None)
            if match is not None:
                finding = Finding(unit, "repeat_of_item", match[1].text, item=match[2])
        if finding is None and grams:
            copied = next((g for g in _ngrams(w, n) if g in grams), None)
            if copied is not None:
                finding = Finding(unit, "copy", " ".join(copied))
        if finding is not None:
            out.append(finding)
        else:
            seen.append((w, unit))
    return out


def droppable(finding: Finding) -> bool:
    """Whether :func:`drop` can remove the finding's unit (a whole answer cannot be)."""
    return finding.unit.path != ()


def drop(value: Any, findings: Sequence[Finding]) -> Any:
    """``value`` without the units of ``findings`` (a copy; ``value`` is not changed). A
    finding about the whole answer (one record) leaves it as it is."""
    gone = {f.unit.path for f in findings}
    if not gone:
        return value
    if isinstance(value, str):
        return "\n".join(line for i, line in enumerate(value.splitlines()) if (i,) not in gone)
    if isinstance(value, list):
        return [v for i, v in enumerate(value) if (i,) not in gone]
    if isinstance(value, dict):
        out = dict(value)
        for key, v in value.items():
            if isinstance(v, list):
                out[key] = [x for i, x in enumerate(v) if (str(key), i) not in gone]
        return out
    return value
