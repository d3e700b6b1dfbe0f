"""What the loop guard did to a step's or an item's answers, as a short list in the report:
each resample and each drop, with the line it found and what that line repeats or copies."""

from __future__ import annotations

from typing import Any

from .colours import attr

_KIND = {
    "repeat": "repeats",
    "repeat_of_item": "repeats item {item}:",
    "copy": "copies the prompt:",
}


def summary(repairs: list[dict[str, Any]]) -> str:
    """``2 resamples, 1 line dropped`` (empty without repairs)."""
    resampled = sum(1 for r in repairs if r.get("action") == "resampled")
    dropped = sum(len(r.get("findings") or []) for r in repairs if r.get("action") == "dropped")
    bits = []
    if resampled:
        bits.append(f"{resampled} resample{'s' if resampled != 1 else ''}")
    if dropped:
        bits.append(f"{dropped} line{'s' if dropped != 1 else ''} dropped")
    return ", ".join(bits)


def repairs_html(repairs: list[dict[str, Any]]) -> str:
    """The repairs as a list (escaped), or nothing."""
    if not repairs:
        return ""
    rows = []
    for r in repairs:
        action = {"resampled": "resampled", "kept": "kept (best of the samples)"}.get(
            str(r.get("action")), "dropped"
        )
        for f in r.get("findings") or []:
            if not isinstance(f, dict):
                continue
            kind = _KIND.get(str(f.get("kind")), str(f.get("kind"))).format(item=f.get("item"))
            rows.append(
                f"<li><strong>{action}</strong>: “{attr(str(f.get('text', '')))}” "
                f"{attr(kind)} “{attr(str(f.get('of', '')))}”</li>"
            )
    return f'<h4>Loop guard: {attr(summary(repairs))}</h4><ul class="repairs">{"".join(rows)}</ul>'
