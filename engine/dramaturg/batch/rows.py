"""A batch's rows: a CSV or JSON Lines table read into the chain's inputs, every row checked
before anything runs.

A CSV file has a header line; each value is text and is read as the input's type (``"3"`` for an
integer input). A JSON Lines file has one object per line, its values taken as they are. Columns
are the chain's inputs by name, or by ``mapping`` (input -> column); ``constants`` (input ->
text, as ``--set`` gives) are the same for every row. Each problem names the row and the file's
line: ``rows.csv:7: row 6: input 'scenes': expected an integer``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chain.inputs import resolve_inputs
from ..errors import InputError
from ..safeio import read_bytes, reason
from ..spec import InputSpec

#: the largest data file read (64 MiB) and the most rows a batch takes
MAX_DATA_BYTES = 64 * 1024 * 1024
MAX_ROWS = 100_000
#: problems listed in one message (the rest are counted)
SHOWN = 20


@dataclass(frozen=True)
class Row:
    """One row of a batch: its place in the table and the chain's inputs it gives."""

    #: 0 for the first row
    index: int
    #: the line of the data file it came from (1-based)
    line: int
    inputs: dict[str, Any]

    @property
    def digest(self) -> str:
        """sha256 of the row's inputs (as JSON, keys sorted)."""
        text = json.dumps(self.inputs, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def id(self) -> str:
        """The row's folder name: its index and a short digest of its inputs, so that two rows
        with the same inputs stay apart and a changed row gets a folder of its own."""
        return f"{self.index:05d}-{self.digest[:8]}"


@dataclass(frozen=True)
class Table:
    """The rows of a data file, checked, and those left out (``--skip-bad-rows``)."""

    rows: list[Row]
    skipped: list[str]
    digest: str
    columns: list[str]


def _raw_rows(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str], bytes]:
    """(line, values) of each row of ``path``, its columns, and the file's bytes."""
    try:
        data = read_bytes(path, MAX_DATA_BYTES)
    except OSError as exc:
        raise InputError(
            f"cannot read the batch data {path}: {reason(exc)}",
            hint="give a CSV file with a header line, or a JSON Lines file (.jsonl)",
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not UTF-8 text (byte {exc.start})", hint="save it as UTF-8"
        ) from None
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return (*_jsonl(path, text), data)
    return (*_csv(path, text), data)


def _jsonl(path: Path, text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    columns: dict[str, None] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise InputError(
                f"{path}:{n}: not valid JSON ({exc})",
                hint='each line of a .jsonl file is one JSON object: {"logline": "..."}',
            ) from None
        if not isinstance(value, dict):
            raise InputError(
                f"{path}:{n}: a row must be a JSON object, not {type(value).__name__}",
                hint='each line of a .jsonl file is one JSON object: {"logline": "..."}',
            )
        columns.update(dict.fromkeys(value))
        rows.append((n, value))
        _count(path, rows)
    return rows, list(columns)


def _csv(path: Path, text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(f"{path} is empty", hint="give a header line, then one row a line")
        columns = [c.strip() for c in header]
        rows: list[tuple[int, dict[str, Any]]] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            line = reader.line_num
            if len(values) > len(columns):
                raise InputError(
                    f"{path}:{line}: {len(values)} values for {len(columns)} columns",
                    hint='quote values that hold commas: "a, b"',
                )
            rows.append((line, dict(zip(columns, values, strict=False))))
            _count(path, rows)
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: {exc}") from None
    return rows, columns


def _count(path: Path, rows: list[Any]) -> None:
    if len(rows) > MAX_ROWS:
        raise InputError(
            f"{path} has more than {MAX_ROWS:,} rows", hint="split it into several batches"
        )


def read_table(
    path: Path,
    declared: Mapping[str, InputSpec],
    *,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    limit: int | None = None,
) -> Table:
    """The rows of the data file ``path`` as inputs of a chain declaring ``declared``.
    Raises InputError listing every bad row (with its line), unless ``skip_bad_rows``."""
    raw, columns, data = _raw_rows(path)
    mapping = dict(mapping or {})
    constants = dict(constants or {})
    for name in [*mapping, *constants]:
        if name not in declared:
            raise InputError(
                f"the chain has no input '{name}'",
                hint=f"its inputs: {', '.join(declared) or '(none)'}",
            )
    for name, column in mapping.items():
        if column not in columns:
            raise InputError(
                f"--map {name}={column}: {path} has no column '{column}'",
                hint=f"its columns: {', '.join(columns) or '(none)'}",
            )
    csv_text = path.suffix.lower() not in (".jsonl", ".ndjson", ".json")
    taken = {column: name for name, column in mapping.items()}
    rows: list[Row] = []
    problems: list[str] = []
    for line, values in raw[:limit] if limit is not None else raw:
        given = {taken.get(k, k): v for k, v in values.items()}
        given = {k: v for k, v in given.items() if k in declared}
        given |= constants
        from_text = frozenset(given) if csv_text else frozenset(constants)
        try:
            inputs = resolve_inputs(declared, given, from_text=from_text)
        except InputError as exc:
            why = exc.message.removeprefix("invalid inputs:").strip().replace("\n", "; ")
            problems.append(f"{path}:{line}: row {len(rows) + len(problems)}: {why}")
            continue
        rows.append(Row(len(rows) + len(problems), line, inputs))
    if problems and not skip_bad_rows:
        shown = problems[:SHOWN]
        more = f"\n  ... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise InputError(
            f"{len(problems)} of {len(problems) + len(rows)} rows of {path} are not inputs of "
            "the chain:\n  " + "\n  ".join(shown) + more,
            hint=f"the file's columns: {', '.join(columns) or '(none)'}; map one to an input "
            "with --map INPUT=COLUMN, give a value to every row with --set INPUT=VALUE, or leave "
            "the bad rows out with --skip-bad-rows",
        )
    return Table(rows, problems, hashlib.sha256(data).hexdigest(), columns)


def rows_of(values: Iterable[Mapping[str, Any]], declared: Mapping[str, InputSpec]) -> list[Row]:
    """Rows given in Python (``chain.batch([...])``): each mapping is one row's inputs.
    Raises InputError naming every bad row."""
    rows: list[Row] = []
    problems: list[str] = []
    for i, value in enumerate(values):
        try:
            rows.append(Row(i, i + 1, resolve_inputs(declared, dict(value))))
        except InputError as exc:
            problems.append(f"row {i}: {exc.message}")
    if problems:
        raise InputError(
            f"{len(problems)} rows are not inputs of the chain:\n  " + "\n  ".join(problems[:SHOWN])
        )
    return rows
