"""Running the studio: uvicorn on loopback (another address only when asked), its URL with the
token printed, the browser opened, Ctrl-C stopping it cleanly (a job under way is stopped; what
it finished is kept, and regenerating again finishes it)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .app import Studio, build_app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def url(self, token: str, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}?token={token}"


def bind(host: str, port: int) -> tuple[socket.socket, Address]:
    """A listening socket at ``host``:``port`` (0: a free port); InputError when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="another program uses that port: give another with --port, or 0 for any",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock, Address(host, sock.getsockname()[1])


def serve(
    studio: Studio,
    sock: socket.socket,
    address: Address,
    *,
    allow: tuple[str, ...] = (),
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until Ctrl-C (or SIGTERM)."""
    import uvicorn

    app = build_app(studio, host=address.host, port=address.port, allow=allow)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
        server_header=False,
    )
    server = _Server(config, on_ready)
    server.run(sockets=[sock])


class _Server:
    """uvicorn's server, calling ``on_ready`` once it accepts connections."""

    def __init__(self, config: Any, on_ready: Callable[[], None] | None) -> None:
        import uvicorn

        self.on_ready = on_ready
        outer = self

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets=sockets)
                if outer.on_ready is not None and self.started:
                    outer.on_ready()

        self.server = Server(config)

    def run(self, sockets: list[socket.socket]) -> None:
        self.server.run(sockets=sockets)
