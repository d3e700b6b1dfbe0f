"""The fake model's answers when none is scripted: words derived from the prompt, shaped to the
step's parser (lines, labelled sections, an instance of a JSON schema)."""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

_WORDS = (  # noqa: SIM905
    "salt road lantern harbour mara orin storm letter tower bell winter garden river mask "
    "promise ledger clock cellar rooftop ferry signal widow captain echo ash orchard train "
    "silence debt mirror compass violin archive fever border"
).split()


def seeded_rng(text: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    """Words that fit the schema's ``pattern`` and length bounds where a few shapes can."""
    pattern = schema.get("pattern")
    lo, hi = int(schema.get("minLength", 0)), int(schema.get("maxLength", 10**6))
    # a pattern opening with literal alternatives, "^(Mara|Orin) ...": start with the first
    lead = re.match(r"\^\(([\w' ]+)[|)]", pattern or "")
    prefix = f"{lead.group(1)} " if lead else ""
    for n in (3, 1, 2, 5, 8, 12, 20):
        words = _words(rng, n)
        if prefix:
            words = prefix + words
        for cand in (words, words.capitalize(), f"{words.capitalize()}.", words.title()):
            if lo <= len(cand) <= hi and (pattern is None or re.search(pattern, cand)):
                return cand
    return _words(rng, 3)


def _from_schema(
    schema: dict[str, Any], rng: random.Random, depth: int = 0, root: dict[str, Any] | None = None
) -> Any:
    root = schema if root is None else root
    if depth > 16:  # a recursive schema ($ref: "#"): stop where an instance may
        return None
    if "$ref" in schema:
        ref = str(schema["$ref"])
        target: Any = root if ref.startswith("#") else {}  # never fetched: a plain string
        for part in ref.removeprefix("#/").split("/") if ref.startswith("#/") else []:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _from_schema(target if isinstance(target, dict) else {}, rng, depth + 1, root)
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return _from_schema(schema[key][0], rng, depth, root)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _from_schema(v, rng, depth + 1, root) for k, v in props.items()}
    if kind == "array":
        fixed = [_from_schema(p, rng, depth + 1, root) for p in schema.get("prefixItems", [])]
        items = schema.get("items", {})
        n = max(int(schema.get("minItems", 0)), 0 if depth > 3 or fixed else 2)
        n = min(n, int(schema.get("maxItems", n)))
        if not isinstance(items, dict):  # items: false closes a prefixItems tuple
            return fixed
        return fixed + [_from_schema(items, rng, depth + 1, root) for _ in range(n - len(fixed))]
    if kind == "integer":
        return int(schema.get("minimum", rng.randint(1, 9)))
    if kind == "number":
        return float(schema.get("minimum", rng.randint(1, 9)))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, rng)


def derived_response(prompt: str, parse: dict[str, Any]) -> str:
    """The fake's unscripted answer: derived from the prompt, shaped to the parser."""
    import json

    rng = seeded_rng(prompt)
    kind = parse.get("type", "text")
    if kind == "lines":
        return "\n".join(f"{i}. {_words(rng, 4)}" for i in range(1, 4))
    if kind == "sections":
        fields = parse.get("fields") or []
        labels = list(fields.values()) if isinstance(fields, dict) else list(fields)
        records = 3 if parse.get("multiple") else 1
        return "\n\n".join(
            "\n".join(f"{label}: {_words(rng, 5)}" for label in labels) for _ in range(records)
        )
    if kind == "json" or parse.get("schema"):
        schema = parse.get("schema") or {"type": "object", "properties": {"text": {}}}
        return json.dumps(_from_schema(schema, rng))
    return f"{_words(rng, 8).capitalize()}."
