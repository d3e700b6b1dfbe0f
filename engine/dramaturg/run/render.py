"""Render a step's calls as a run sends them: the context (the run's inputs and the outputs of
the steps it reads), its fan-out items, and its templates (prompt, system, schema, continue).

A run renders through this; so do the checks that re-render one call of a finished run (an
edit's schema, ``continue``), without running anything."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..chain.checked import Checked
from ..chain.fanout import FanOutError, fan_out_items
from ..chain.templates import render
from ..errors import StepError, TemplateRenderError
from ..spec import PromptRef, StepSpec


def compiled_template(
    checked: Checked, sid: str, key: str, ref: PromptRef, chain_file: str
) -> tuple[Any, str, int]:
    """A step's template ("prompt", "system", "schema" or "continue") compiled once per chain
    (kept in ``checked.compiled``), with the file and line offset its render errors point to."""
    cache_key = (sid, key)
    if cache_key not in checked.compiled:
        t = checked.templates
        if ref.file is not None:
            checked.compiled[cache_key] = (t.load(ref.file), ref.file, 0)
        else:
            offset = checked.inline_offsets.get(cache_key, 0)
            checked.compiled[cache_key] = (t.inline(ref.text or ""), chain_file, offset)
    return checked.compiled[cache_key]  # type: ignore[no-any-return]


def prompt_record(prompt: str, system: str) -> str:
    """A call's prompt and system prompt as the run folder keeps them
    (``prompts/<step>[/<i>].txt``)."""
    return f"=== system ===\n{system}\n=== prompt ===\n{prompt}\n" if system else prompt


class Renderer:
    """Renders the calls of one chain's steps for one run's inputs."""

    def __init__(self, checked: Checked, chain_file: str, inputs: Mapping[str, Any]) -> None:
        self.checked = checked
        self.chain_file = chain_file
        self.inputs = inputs
        self._compiled = checked.compiled  # shared by every run of the chain

    def context(self, sid: str, output_of: Callable[[str], Any]) -> dict[str, Any]:
        """The variables of ``sid``'s templates: the inputs, and the output of each step it
        reads (``output_of(step)``)."""
        ctx = dict(self.inputs)
        for dep in self.checked.plans[sid].deps:
            ctx[dep] = output_of(dep)
        return ctx

    def items(self, sid: str, spec: StepSpec, context: dict[str, Any]) -> list[Any]:
        """The values a fan-out step runs once for (its ``for_each``)."""
        expr = spec.for_each or ""
        where = f"{self.chain_file} (steps.{sid}.for_each)"
        try:
            key = (sid, "for_each")
            if key not in self._compiled:  # compiling costs ~1.5 ms: once per chain
                env = self.checked.templates.env
                self._compiled[key] = env.compile_expression(expr, undefined_to_none=False)
            value = self._compiled[key](**context)
        except Exception as exc:
            raise TemplateRenderError(f"{where}: cannot evaluate '{expr}': {exc}") from None
        try:
            return fan_out_items(value, spec.max_items)
        except FanOutError as exc:
            raise StepError(
                f"step '{sid}': for_each '{expr}' {exc}",
                hint="raise the step's max_items if so many calls are intended"
                if "max_items" in str(exc)
                else "make the upstream step produce a list",
            ) from None

    @staticmethod
    def item_context(
        spec: StepSpec, context: dict[str, Any], index: int, value: Any
    ) -> dict[str, Any]:
        """The context of one fan-out item: the step's, with the item under its ``as`` name
        and its ``index``."""
        return {**context, spec.as_: value, "index": index}

    def render(self, sid: str, key: str, ref: PromptRef, context: dict[str, Any]) -> str:
        """One of the step's templates (``key``: prompt, system, schema, continue), rendered."""
        template, where, offset = compiled_template(self.checked, sid, key, ref, self.chain_file)
        return render(template, context, where=where, line_offset=offset)
