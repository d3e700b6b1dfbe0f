"""``dramaturg edit``'s two ways in: the new output from a file the user names (read as chain
files are: a regular UTF-8 file of at most 5 MB, never a device, a FIFO or a folder), or from
$EDITOR, until it passes the step's parser."""

from __future__ import annotations

import errno
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import typer

from .app import print_error


def read_file(file: Path | None, what: str = "--file") -> str:
    """A file the user names, read as chain files are: a regular UTF-8 file of at most 5 MB
    (never a device, a FIFO or a folder)."""
    from ..errors import InputError
    from ..safeio import REGULAR_HINT, FileRefused, read_bytes, reason
    from ..source import MAX_BYTES

    assert file is not None
    try:
        return read_bytes(file, MAX_BYTES).decode("utf-8")
    except FileRefused as exc:
        hint = REGULAR_HINT if exc.errno != errno.EFBIG else "an output that large is no edit"
        raise InputError(f"cannot read {what} {file}: {exc}", hint=hint) from None
    except OSError as exc:
        raise InputError(
            f"cannot read {what} {file}: {reason(exc)}", hint="check the path"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"cannot read {what} {file}: not valid UTF-8 (byte {exc.start})",
            hint="save the file as UTF-8",
        ) from None


def edit_in_editor(
    run_dir: Path, step: str, item: int | None, original: str, is_text: bool, note: str
) -> Any:
    """Open the output in $VISUAL / $EDITOR until it passes the step's parser; None when the
    user leaves it unchanged, empties it or gives up."""
    from ..cowrite.edit import edit_text
    from ..errors import InputError

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise InputError(
            "no editor: neither $VISUAL nor $EDITOR is set",
            hint="e.g. export EDITOR=nano, or give the new output with --file FILE or --value TEXT",
        )
    what = f"{step}{'' if item is None else f' item {item}'}"
    if not is_text:
        original = (
            f"# {what} of {run_dir}: edit, save and close (an empty file cancels)\n{original}"
        )
    with tempfile.TemporaryDirectory(prefix="dramaturg-edit-") as tmp:
        path = (
            Path(tmp) / f"{step}{'' if item is None else f'-{item}'}.{'txt' if is_text else 'yaml'}"
        )
        path.write_text(original, encoding="utf-8")
        while True:
            done = subprocess.run([*shlex.split(editor), str(path)], check=False)
            if done.returncode != 0:
                print_error(f"the editor exited with status {done.returncode}: nothing saved")
                raise typer.Exit(1)
            text = read_file(path, "the edited file")
            if not text.strip() or text == original:
                print(f"{what}: {'cancelled' if not text.strip() else 'no change'}; nothing saved")
                return None
            try:
                return edit_text(
                    run_dir, step, text, item=item, source=path.name, note=note or "edited"
                )
            except InputError as exc:
                print_error(f"error: {exc}")
                if not typer.confirm("Edit again?", default=True, abort=False, err=True):
                    print_error("nothing saved")
                    raise typer.Exit(2) from None
