"""The part of a step's answer schema that Cohere's structured output accepts."""

from __future__ import annotations

from typing import Any

#: JSON Schema keywords outside the subset Cohere's structured output accepts: dropped, since the
#: step's parser still checks what they would have enforced
_UNSUPPORTED_KEYWORDS = frozenset(
    {
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "pattern",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "uniqueItems",
        "$schema",
    }
)
#: keywords Cohere rejects that cannot be dropped without changing the shape: JSON mode instead
_COMPOSITION = frozenset({"anyOf", "oneOf", "allOf", "not", "$ref"})


def cohere_schema(schema: Any) -> dict[str, Any] | None:
    """The part of a step's JSON schema Cohere can enforce, or None for plain JSON mode.

    Cohere accepts a subset of JSON Schema (see its structured-outputs guide, "schema
    constraints"): length, range and pattern keywords are dropped; a schema built by composition
    (``anyOf``, ``$ref``, ...) is not sent at all, so the model is asked for any JSON object and
    the parser checks the shape.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if _COMPOSITION & node.keys():
            raise ValueError
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _UNSUPPORTED_KEYWORDS or key == "$defs":
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {k: walk(v) for k, v in value.items()}
            else:
                out[key] = walk(value)
        return out

    if not isinstance(schema, dict) or not schema:
        return None
    try:
        result: dict[str, Any] = walk(schema)
    except ValueError:
        return None
    return result
