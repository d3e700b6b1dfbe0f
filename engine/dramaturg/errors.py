"""The exception tree. Every error a user can cause is a :class:`DramaturgError`.

::

    DramaturgError                 root: the CLI prints it as one message, exit code 2 or 1
    ├── ChainError                 the chain file is invalid (all problems at once, file:line:col)
    ├── InputError                 run inputs or CLI arguments are wrong
    ├── TemplateRenderError        a template failed while rendering (file:line)
    ├── ParseError                 model output did not match the step's parser
    ├── ModelError                 a model call failed (``transient`` tells if a retry may help)
    ├── StepError                  a step failed (its message names the step and the cause)
    ├── ProviderError              a provider is unknown, not installed or misconfigured
    ├── RunStorageError            the run directory cannot be written
    ├── ExportError                an exporter failed (the run's outputs are kept)
    └── RunFailedError             a run ended with failed steps (``result.raise_for_status()``)

Messages say what went wrong, where, and how to fix it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in a source file (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        out = os.path.normpath(self.file) if self.file else self.file
        if self.line is not None:
            out += f":{self.line}"
            if self.column is not None:
                out += f":{self.column}"
        return out


@dataclass(frozen=True)
class Problem:
    """One problem found in a chain file."""

    message: str
    location: Location
    key: str = ""
    hint: str = ""

    def __str__(self) -> str:
        key = f" [{self.key}]" if self.key else ""
        hint = f"\n    hint: {self.hint}" if self.hint else ""
        return f"{self.location}: {self.message}{key}{hint}"


class DramaturgError(Exception):
    """Root of every error Dramaturg raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ChainError(DramaturgError):
    """The chain file (or one of its templates) is invalid. Holds every problem found."""

    def __init__(self, problems: list[Problem], *, path: str | Path | None = None) -> None:
        self.problems = sorted(
            problems,
            key=lambda p: (p.location.file, p.location.line or 0, p.location.column or 0),
        )
        self.path = str(path) if path else None
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in chain {self.path or ''}".rstrip()
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))

    def __str__(self) -> str:
        return self.message


class InputError(DramaturgError):
    """Run inputs or command-line arguments are invalid."""


class TemplateRenderError(DramaturgError):
    """A template failed while rendering."""

    exit_code = 1


class ParseError(DramaturgError):
    """Model output could not be parsed by the step's parser."""

    exit_code = 1


class ModelError(DramaturgError):
    """A model call failed. ``transient`` errors are worth retrying."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        transient: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.transient = transient
        #: seconds the service asked us to wait (a Retry-After header), if any
        self.retry_after = retry_after
        #: the HTTP status, for errors from a web API
        self.status = status


class StepError(DramaturgError):
    """A step failed; the message names the step and the cause (a failed call, a bad answer
    schema, a fan-out over something that is not a list)."""

    exit_code = 1


class ProviderError(DramaturgError):
    """A provider is unknown, not installed, or misconfigured (e.g. a missing API key)."""


class RunStorageError(DramaturgError):
    """The run directory or one of its files cannot be written."""

    exit_code = 1


class RunFailedError(DramaturgError):
    """A run finished, but some steps failed (and their dependents were skipped)."""

    exit_code = 1


class ExportError(DramaturgError):
    """An exporter failed; the run's outputs are intact."""

    exit_code = 1
