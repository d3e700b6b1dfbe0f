"""The chain a batch runs (:class:`BatchJob`), and loading it back from a batch folder's
snapshot (for a resume, or on a Ray node from a copy of the snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chain.checked import Checked, content_hash
from ..store.snapshot import load_snapshot
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
    found = BatchFolder(root).info().get("chain")
    chain: dict[str, Any] = found if isinstance(found, dict) else {}
    kept = load_snapshot(
        root,
        chain.get("path") or chain.get("file"),
        hint="only folders made by `dramaturg batch` can be resumed",
    )
    chain_hash = chain.get("hash") or content_hash(kept.text, kept.checked)
    return BatchJob(kept.checked, kept.text, kept.path, str(chain_hash))
