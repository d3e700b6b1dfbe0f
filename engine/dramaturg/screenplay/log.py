"""``log.md``: the record Dramatron keeps beside a script, for a Dramaturg run.

- the run's configuration: chain, inputs, models and settings (values under names such as
  ``api_key``, ``token`` or ``password`` are masked: a key never reaches the log);
- the history of the levels: when each step started and ended, how it went, and the step outputs
  edited by hand after the run (their files changed after it ended);
- every prompt sent (the run folder's ``prompts/``), in the order the steps started.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from dramaturg import RunResult

_SECRET_WORDS = frozenset(
    {"key", "apikey", "token", "secret", "password", "passwd", "passphrase", "authorization"}
    | {"auth", "credential", "credentials", "cookie", "bearer"}
)
_ITEM = re.compile(r"^(\d+)\.txt$")


def redact(value: Any) -> Any:
    """``value`` with every entry under a secret-looking name masked."""
    if isinstance(value, dict):
        return {
            k: "***" if _is_secret(str(k)) and v not in (None, "") else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _is_secret(name: str) -> bool:
    """``api_key``, ``apiKey``, ``access-token`` are; ``max_tokens``, ``keyword`` are not."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return any(w in _SECRET_WORDS for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w)


def stamp(t: float | None) -> str:
    if not t:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def fence(text: str, lang: str = "") -> str:
    """``text`` in a code fence longer than any run of backticks inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip(chr(10))}\n{ticks}"


def _manifest(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _order(result: RunResult) -> list[str]:
    """Step ids in the order they started (never-started steps last, in chain order)."""
    ids = list(result.steps)
    return sorted(ids, key=lambda s: (result.steps[s].started or float("inf"), ids.index(s)))


def _prompts(run_dir: Path, sid: str) -> list[tuple[int | None, Path]]:
    folder = run_dir / "prompts"
    found: list[tuple[int | None, Path]] = []
    single = folder / f"{sid}.txt"
    if single.is_file():
        found.append((None, single))
    items = folder / sid
    if items.is_dir():
        numbered = [(int(m.group(1)), p) for p in items.iterdir() if (m := _ITEM.match(p.name))]
        found += sorted(numbered)
    return found


def _configuration(result: RunResult, m: dict[str, Any]) -> list[str]:
    chain = m.get("chain") or {}
    usage = result.usage
    lines = [
        "## Configuration",
        "",
        f"- Run: `{result.run_id}` ({result.status})",
        f"- Chain: `{chain.get('name', result.chain)}` from `{chain.get('file', '?')}` "
        f"(hash `{str(chain.get('hash', '?'))[:12]}`)",
        f"- Dramaturg: {m.get('dramaturg', '?')}",
        f"- Started: {stamp(m.get('started'))}; ended: {stamp(m.get('ended'))}",
        f"- Usage: {usage.calls} call(s), {usage.input_tokens} input and "
        f"{usage.output_tokens} output tokens",
        "",
    ]
    sections = (
        ("Inputs", result.inputs or m.get("inputs") or {}),
        ("Models", m.get("models") or {}),
        ("Settings", m.get("settings") or {}),
    )
    for name, value in sections:
        text = json.dumps(redact(value), indent=2, ensure_ascii=False, default=str)
        lines += [f"### {name}", "", fence(text, "json"), ""]
    return lines


def _history(result: RunResult, m: dict[str, Any], run_dir: Path) -> list[str]:
    steps_meta = m.get("steps") or {}
    lines = [
        "## History",
        "",
        "| Started | Ended | Level | Status | Time | Attempts | Calls | Tokens |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    edits: list[tuple[float, str]] = []
    ended = m.get("ended") or 0
    for sid in _order(result):
        r = result.steps[sid]
        meta = steps_meta.get(sid) or {}
        status = r.status
        items = meta.get("items") or {}
        if items.get("total") is not None:
            status += f" ({items.get('done', 0)}/{items['total']} items)"
        if r.skipped_because:
            status += f": {r.skipped_because}"
        took = f"{r.duration:.1f} s" if r.duration is not None else "-"
        lines.append(
            f"| {stamp(r.started)} | {stamp(r.ended)} | `{sid}` | {_cell(status)} | {took} "
            f"| {r.attempts} | {r.usage.calls} | {r.usage.total_tokens} |"
        )
        try:
            changed = (run_dir / "steps" / f"{sid}.json").stat().st_mtime
        except OSError:
            continue
        if ended and changed > ended + 1:
            edits.append((changed, sid))
    if edits:
        lines += ["", "Edited after the run (then exported again):", ""]
        lines += [f"- {stamp(t)}: `steps/{sid}.json`" for t, sid in sorted(edits)]
    lines += ["", f"Exported: {stamp(time.time())}", ""]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _prompt_section(result: RunResult, run_dir: Path) -> list[str]:
    lines = ["## Prompts", ""]
    n = 0
    for sid in _order(result):
        for item, path in _prompts(run_dir, sid):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            n += 1
            which = f"`{sid}`" if item is None else f"`{sid}` item {item}"
            lines += [f"### {n}. {which}", "", fence(text, "text"), ""]
    if n == 0:
        lines += ["No prompts were saved in this run folder.", ""]
    return lines


def render_log(result: RunResult, run_dir: Path, title: str | None = None) -> str:
    """The run's log as Markdown."""
    m = _manifest(run_dir)
    head = f"# Run log: {title}" if title else f"# Run log: {result.run_id}"
    lines = [head, ""]
    lines += _configuration(result, m)
    lines += _history(result, m, run_dir)
    lines += _prompt_section(result, run_dir)
    return "\n".join(lines).rstrip() + "\n"
