"""The chain as a run ran it, kept in the run folder: ``chain.yaml``, ``templates/`` and
``templates.json`` (the folders it looked templates up in: ``--templates`` ones first).

``templates/`` holds every template file the steps use (prompts, system prompts, schema
templates and what they include), under the name the chain uses for it, so that
``dramaturg resume`` renders the rest of the run with the templates its first part used, even if
the prompt folders were edited since. A template whose name is computed at render time, or that
a run folder cannot hold, is not kept: a resume finds it in the chain's prompt folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ..chain.checked import Checked
from ..chain.validate import check
from ..errors import InputError, RunStorageError
from ..source import load_yaml, read_text
from ..spec import PromptRef
from .rundir import RunDir

CHAIN_FILE = "chain.yaml"
TEMPLATES_DIR = "templates"
FOLDERS_FILE = "templates.json"


def template_sources(checked: Checked) -> dict[str, str]:
    """Template name -> source, for every template file the chain's steps use."""
    t = checked.templates
    sources: dict[str, str] = {}
    for step in checked.spec.steps.values():
        for ref in (step.prompt, step.system, getattr(step.parse, "schema_", None), step.continue_):
            if not isinstance(ref, PromptRef):
                continue
            try:
                if ref.file is not None:
                    text, filename = t.source(ref.file)
                    found = {ref.file: text, **t.included_sources(text, filename)}
                else:
                    found = t.included_sources(ref.text or "", "<inline>")
            except (jinja2.TemplateNotFound, jinja2.TemplateSyntaxError):
                continue  # validation reported it; nothing to keep
            for name, source in found.items():
                sources.setdefault(name, source)
    return sources


def save_snapshot(rundir: RunDir, text: str, checked: Checked) -> None:
    """Keep the chain file's text, its templates and their folders in the run folder."""
    rundir.write_text(CHAIN_FILE, text, durable=False)  # a killed process cannot lose it
    folders = {
        "override_folders": [str(p.resolve()) for p in checked.override_dirs],
        "prompt_folders": [str(p.resolve()) for p in checked.prompt_dirs],
    }
    rundir.write_json(FOLDERS_FILE, folders, durable=False)
    for name, source in template_sources(checked).items():
        rel = f"{TEMPLATES_DIR}/{name}"
        try:
            rundir.path(rel)
        except RunStorageError:  # a name the run folder cannot hold (e.g. "../x.j2")
            continue
        rundir.write_text(rel, source, durable=False)


def override_folders(rundir: RunDir) -> list[Path]:
    """The ``--templates`` folders a run was given (none for runs made before they were kept)."""
    try:
        data = rundir.read_json(FOLDERS_FILE)
    except (OSError, ValueError):
        return []
    folders = data.get("override_folders") if isinstance(data, dict) else None
    return [Path(f) for f in folders if isinstance(f, str)] if isinstance(folders, list) else []


@dataclass(frozen=True)
class Snapshot:
    """A chain as a folder (a run's, a batch's) kept it."""

    checked: Checked
    #: the chain file's text, and where the chain file was (its prompt folders are found there)
    text: str
    path: Path
    #: the folder kept the templates (``templates/``); else they come from the prompt folders
    kept: bool


def load_snapshot(
    root: Path, recorded: str | None, *, hint: str, folders: Sequence[Path] | None = None
) -> Snapshot:
    """The chain kept in ``root`` (its ``chain.yaml``), checked as if it still were where it
    was (``recorded``, else the snapshot itself), with templates looked up first in
    ``folders`` (default: the kept ``templates/``). InputError with ``hint`` when the folder
    keeps no chain."""
    snapshot = root / CHAIN_FILE
    if not snapshot.is_file():
        raise InputError(f"{snapshot} not found", hint=hint)
    text = read_text(snapshot)
    original = Path(recorded or snapshot)
    kept = (root / TEMPLATES_DIR).is_dir()
    if folders is None:
        folders = [root / TEMPLATES_DIR] if kept else []
    checked = check(load_yaml(text, str(snapshot)), original, list(folders))
    return Snapshot(checked, text, original, kept)
