"""Token and cost accounting of a run: per step, per model and for the whole run.

Usage counts what the models did in this run (calls answered from the step cache cost nothing;
work kept by ``resume`` counts as it was spent). Costs come from the price table
(:mod:`dramaturg.chain.pricing`); a step whose model has no price has the cost ``None`` (unknown)
and is listed under ``cost.unpriced`` in the manifest, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..chain.pricing import PriceTable
from ..result import StepResult, Usage
from ..spec import StepSpec
from .models import ModelSet


def model_ref(provider: str, model: str | None) -> str:
    return f"{provider}:{model}" if model else provider


def _round(cost: float | None) -> float | None:
    return None if cost is None else round(cost, 9)


class Accounts:
    """Prices the steps of one run."""

    def __init__(
        self,
        refs: Mapping[str, tuple[str, str | None]],
        kinds: Mapping[str, str],
        table: PriceTable,
    ) -> None:
        self.refs = dict(refs)
        self.kinds = dict(kinds)
        self.table = table

    @classmethod
    def for_run(cls, models: ModelSet, steps: Mapping[str, StepSpec]) -> Accounts:
        return cls(
            {sid: models.billing_ref(s) for sid, s in steps.items()},
            {sid: s.kind for sid, s in steps.items()},
            PriceTable.load(),
        )

    @property
    def warnings(self) -> list[str]:
        return list(self.table.problems)

    def ref(self, sid: str) -> str:
        return model_ref(*self.refs[sid])

    def step_cost(self, sid: str, usage: Usage) -> float | None:
        price = self.table.price(*self.refs[sid])
        kind = self.kinds.get(sid, "text")
        if price is None:
            return 0.0 if usage.calls == 0 else None
        return _round(price.cost(usage.as_dict(), kind))

    def price_step(self, result: StepResult) -> None:
        """Set a step result's ``model`` and ``cost``."""
        result.kind = self.kinds.get(result.id, "text")
        result.model = self.ref(result.id)
        result.cost = self.step_cost(result.id, result.usage)

    def summary(self, results: Mapping[str, StepResult]) -> dict[str, Any]:
        """The manifest's ``cost`` (run total) and ``by_model`` sections."""
        by_model: dict[str, dict[str, Any]] = {}
        total = 0.0
        unpriced: list[str] = []
        for sid, r in results.items():
            ref = self.ref(sid)
            entry = by_model.setdefault(
                ref,
                {**Usage().as_dict(), "images": 0, "cost": 0.0, "steps": []},
            )
            for k, v in r.usage.as_dict().items():
                entry[k] += v
            if self.kinds.get(sid) == "image":
                entry["images"] += r.usage.calls
            entry["steps"].append(sid)
            cost = self.step_cost(sid, r.usage)
            if cost is None:
                entry["cost"] = None
                if ref not in unpriced:
                    unpriced.append(ref)
            else:
                total += cost
                if entry["cost"] is not None:
                    entry["cost"] = _round(entry["cost"] + cost)
        cost_entry: dict[str, Any] = {
            "currency": self.table.currency,
            "total": _round(total),
            "complete": not unpriced,
            "unpriced": unpriced,
            "prices": {"files": list(self.table.files), "checked": self.table.checked},
        }
        if self.table.problems:
            cost_entry["prices"]["problems"] = list(self.table.problems)
        return {"cost": cost_entry, "by_model": by_model}
