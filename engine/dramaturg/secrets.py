"""Keep API keys out of files, logs and messages."""

from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}")


def secret_values() -> list[str]:
    """Values of environment variables whose names look like credentials."""
    return sorted(
        (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8),
        key=len,
        reverse=True,
    )


def scrub(text: str) -> str:
    """``text`` with every credential from the environment, and bearer tokens, masked."""
    for value in secret_values():
        if value in text:
            text = text.replace(value, "***")
    return _BEARER.sub(r"\1***", text)
