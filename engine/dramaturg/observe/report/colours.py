"""The report's colours by status (fill, stroke), shared by the DAG, the timeline and the page."""

from __future__ import annotations

from html import escape

STATUS = {
    "done": ("#e4f1e4", "#3b7d46"),
    "cached": ("#e1ebf7", "#3569a8"),
    "running": ("#fff3d3", "#b8860b"),
    "failed": ("#f9e0dc", "#b03a2e"),
    "skipped": ("#f1efe9", "#a39d90"),
    "cancelled": ("#f3e2ef", "#8e3d80"),
    "pending": ("#f6f4ef", "#c2bbad"),
    "missing": ("#f6f4ef", "#c2bbad"),
}
#: what each colour means, in the legends
LEGEND = [
    ("done", "done"),
    ("cached", "from the step cache"),
    ("failed", "failed"),
    ("skipped", "skipped"),
    ("cancelled", "cancelled"),
    ("pending", "not run"),
]
INK = "#1d1b18"
MUTED = "#6f685d"
RULE = "#ddd5c6"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'


def colours(status: str) -> tuple[str, str]:
    return STATUS.get(status, STATUS["pending"])


def attr(text: object) -> str:
    """Text made safe inside SVG/HTML content and attribute values."""
    return escape(str(text), quote=True)
