"""The chain a batch runs (:class:`BatchJob`), and loading it back from a batch folder's
snapshot (for a resume, or on a Ray node from a copy of the snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chain.checked import Checked, content_hash
from ..chain.validate import check
from ..errors import InputError
from ..source import load_yaml, read_text
from ..store.snapshot import CHAIN_FILE, TEMPLATES_DIR
from .folder import BatchFolder


@dataclass(frozen=True)
class BatchJob:
    """The chain a batch runs: checked, its file's text and path, its content hash."""

    checked: Checked
    text: str
    path: Path
    chain_hash: str


def load_snapshot_chain(root: Path) -> BatchJob:
    """The chain a batch folder (or a copy of its snapshot) keeps: ``chain.yaml``, its
    templates, and ``batch.json`` naming where the chain file was."""
    snapshot = root / CHAIN_FILE
    try:
        text = read_text(snapshot)
    except InputError:
        raise InputError(
            f"{snapshot} not found or unreadable",
            hint="only folders made by `dramaturg batch` can be resumed",
        ) from None
    info = BatchFolder(root).info()
    found = info.get("chain")
    chain: dict[str, Any] = found if isinstance(found, dict) else {}
    original = Path(str(chain.get("path") or chain.get("file") or snapshot))
    kept = root / TEMPLATES_DIR
    checked = check(load_yaml(text, str(snapshot)), original, [kept] if kept.is_dir() else [])
    return BatchJob(checked, text, original, str(chain.get("hash") or content_hash(text, checked)))
