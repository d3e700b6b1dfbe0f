"""Where the studio's tests reach it (an address on loopback, never another)."""

from __future__ import annotations

HOST, PORT = "127.0.0.1", 8765
BASE = f"http://{HOST}:{PORT}"
