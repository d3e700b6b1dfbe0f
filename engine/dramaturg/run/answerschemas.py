"""A step's answer schema for one call: the mapping the chain gives, or its schema template
rendered with the call's variables, read as YAML or JSON and checked as a JSON Schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..chain.parsers import schema_problem
from ..errors import DramaturgError, StepError
from ..source import load_yaml
from ..spec import PromptRef, StepSpec

#: ``render(step, key, template_ref, context) -> text``: the runner's template rendering
Render = Callable[[str, str, PromptRef, dict[str, Any]], str]


class AnswerSchemas:
    """The answer schemas of one run's calls; rendered schemas are read once per text."""

    def __init__(self, render: Render, chain_file: str) -> None:
        self._render = render
        self._chain_file = chain_file
        self._by_text: dict[str, dict[str, Any]] = {}

    def for_call(self, sid: str, spec: StepSpec, context: dict[str, Any]) -> dict[str, Any] | None:
        ref = getattr(spec.parse, "schema_", None)
        if not isinstance(ref, PromptRef):
            return ref
        text = self._render(sid, "schema", ref, context)
        if text in self._by_text:
            return self._by_text[text]
        where = ref.file or self._chain_file
        try:
            data = load_yaml(text, where).data
            if not isinstance(data, dict):
                raise ValueError(f"it rendered a {type(data).__name__}, not a mapping")
            if (problem := schema_problem(data)) is not None:
                raise ValueError(problem)
        except (DramaturgError, ValueError) as exc:
            problem = exc.message if hasattr(exc, "message") else str(exc)
            raise StepError(
                f"step '{sid}': the schema template {where} did not give a JSON schema: {problem}",
                hint="render it with `dramaturg run --dry-run` and check the YAML it produces",
            ) from None
        self._by_text[text] = data
        return data
