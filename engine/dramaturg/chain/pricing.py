"""The price table: what a model's tokens and images cost.

The shipped table (``prices.yaml`` beside this module: example prices, dated, to be checked
against the providers' pages) is overlaid by the user's own file, ``$DRAMATURG_PRICES`` or else
``$XDG_CONFIG_HOME/dramaturg/prices.yaml`` (``~/.config/dramaturg/prices.yaml``), provider by
provider and model by model. A model found nowhere has an unknown price: its cost is ``None``,
never a guess.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..safeio import read_bytes
from ..source import MAX_BYTES

ENV_VAR = "DRAMATURG_PRICES"
SHIPPED = "prices.yaml"
_FIELDS = ("input", "output", "image")


@dataclass(frozen=True)
class Price:
    """USD per 1M input and output tokens, and per image; None where the table says nothing."""

    input: float | None = None
    output: float | None = None
    image: float | None = None
    #: the table entry it came from, e.g. ``cohere:command-a-03-2025`` or ``local:*``
    entry: str = ""

    def cost(self, usage: dict[str, Any], kind: str = "text") -> float | None:
        """The cost of ``usage`` (token counts, ``calls``): None when a needed price is missing."""
        if kind == "image":
            images = int(usage.get("calls") or 0)
            if images == 0:
                return 0.0
            return None if self.image is None else images * self.image
        tokens_in = int(usage.get("input_tokens") or 0)
        tokens_out = int(usage.get("output_tokens") or 0)
        total = 0.0
        for n, per_million in ((tokens_in, self.input), (tokens_out, self.output)):
            if n:
                if per_million is None:
                    return None
                total += n * per_million / 1_000_000
        return total


def user_prices_file() -> Path:
    """Where the user's own price table is looked for."""
    named = os.environ.get(ENV_VAR)
    if named:
        return Path(named).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "dramaturg" / "prices.yaml"


@dataclass
class PriceTable:
    """Prices by provider, then model (``*`` and ``prefix*`` match several models)."""

    prices: dict[str, dict[str, Price]] = field(default_factory=dict)
    currency: str = "USD"
    #: when the shipped prices were noted (they are examples: check them)
    checked: str = ""
    #: the files read, shipped first
    files: list[str] = field(default_factory=list)
    #: problems met reading the user's file (its entries are then ignored)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, user_file: Path | None = None) -> PriceTable:
        """The shipped table overlaid by the user's file (if there is one)."""
        table = cls()
        shipped = resources.files("dramaturg.chain") / SHIPPED
        table._merge(_parse(shipped.read_text("utf-8")), f"{SHIPPED} (shipped)")
        path = user_file if user_file is not None else user_prices_file()
        explicit = user_file is not None or bool(os.environ.get(ENV_VAR))
        if path.is_file():
            try:  # bounded, a regular file only (it may be swapped for a FIFO since)
                data = _parse(read_bytes(path, MAX_BYTES).decode("utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                table.problems.append(f"price table {path} ignored: {exc}")
            else:
                table._merge(data, str(path))
        elif explicit:
            table.problems.append(f"price table {path} not found; using the shipped prices")
        return table

    def _merge(self, data: dict[str, Any], source: str) -> None:
        self.files.append(source)
        if not self.checked and data.get("checked"):
            self.checked = str(data["checked"])
        if data.get("currency"):
            self.currency = str(data["currency"])
        for provider, models in data["prices"].items():
            own = self.prices.setdefault(provider, {})
            for model, p in models.items():
                own[model] = Price(**p, entry=f"{provider}:{model}")

    def price(self, provider: str, model: str | None) -> Price | None:
        """The price of ``provider:model``: the exact entry, else the longest ``prefix*``."""
        models = self.prices.get(provider)
        if not models:
            return None
        name = model or ""
        if name in models:
            return models[name]
        wild = [k for k in models if k.endswith("*") and name.startswith(k[:-1])]
        return models[max(wild, key=len)] if wild else None

    def rows(self) -> list[tuple[str, str, Price]]:
        return [(p, m, price) for p, ms in sorted(self.prices.items()) for m, price in ms.items()]


@functools.lru_cache(maxsize=8)
def _parse(text: str) -> dict[str, Any]:
    """A price file's content, checked. Raises ValueError with what is wrong. Cached by
    content: every run reads the table, and parsing it cost ~20 ms of each run's start."""
    import yaml

    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise ValueError("expected a mapping with a `prices:` mapping (provider -> model -> price)")
    for provider, models in data["prices"].items():
        if not isinstance(models, dict):
            raise ValueError(f"prices.{provider}: expected a mapping of models")
        for model, p in models.items():
            at = f"prices.{provider}.{model}"
            if not isinstance(p, dict) or not p:
                raise ValueError(f"{at}: expected {{input: 2.5, output: 10}} or {{image: 0.03}}")
            unknown = sorted(set(p) - set(_FIELDS))
            if unknown:
                raise ValueError(f"{at}: unknown field {unknown[0]!r} (use input, output, image)")
            for k, v in p.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                    raise ValueError(f"{at}.{k}: expected a number >= 0, got {v!r}")
            models[model] = {k: float(v) for k, v in p.items()}
    prices = data["prices"]
    data["prices"] = {str(k): {str(m): v for m, v in ms.items()} for k, ms in prices.items()}
    return data
