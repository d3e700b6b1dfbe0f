"""Where the studio's tests reach it (an address on loopback, never another)."""

from __future__ import annotations

from typing import Any

HOST, PORT = "127.0.0.1", 8765
BASE = f"http://{HOST}:{PORT}"


def streaming_fake(latency: float = 0.0, stream_latency: float = 0.0) -> Any:
    """The fake text model, streaming a word every ``stream_latency`` seconds, whose answers
    change with the seed (as a real model's do: a regenerate writes something new). Latencies
    are not part of its identity: a run made without them is co-written with them."""
    from dramaturg import FakeChatModel
    from dramaturg.providers.fakes import derived_response

    def by_seed(call: Any) -> str:
        return derived_response(f"{call.system}\n{call.prompt}|{call.seed}", call.parse)

    answers = dict.fromkeys(("title", "characters", "plot", "places", "dialogue"), by_seed)
    return FakeChatModel(latency=latency, stream_latency=stream_latency, responses=answers)
