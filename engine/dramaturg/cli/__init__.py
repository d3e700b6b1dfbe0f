"""The ``dramaturg`` command. The app and its shared options are in :mod:`.app`; the commands
live in this package's other modules, one module per family, and register themselves on the app
as they are imported here."""

from __future__ import annotations

# isort: off
from . import run_cmds  # noqa: F401  (listed first in --help)
from . import chain_cmds  # noqa: F401
from . import cache_cmds  # noqa: F401
from . import runs_cmds  # noqa: F401
from . import cowrite_cmds  # noqa: F401
from . import batch_cmds  # noqa: F401
from . import studio_cmd  # noqa: F401

# isort: on
from .app import app, main

__all__ = ["app", "main"]
