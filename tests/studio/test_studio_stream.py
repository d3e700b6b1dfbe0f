"""What a page hears of a streamed call: its box on the first token, each token appended as
escaped text, the box emptied on a reset (a retry or a resample starts its text again)."""

from __future__ import annotations

from typing import Any

from dramaturg.events import Token, TokenReset
from dramaturg.studio.jobs import Message
from dramaturg.studio.stream import fragments_for, sse


def parts(event: Any, boxes: set[tuple[str, int | None]]) -> str:
    return "".join(fragments_for(None, Message("run", event=event), boxes, {"dialogue": "scene"}))


def test_a_call_streams_into_its_own_box_then_starts_again_on_a_reset() -> None:
    boxes: set[tuple[str, int | None]] = set()
    first = parts(Token(step="dialogue", item=2, attempt=0, text="MARA: "), boxes)
    assert 'id="stream-dialogue-2"' in first and "dialogue · scene 3" in first
    assert 'hx-swap-oob="beforeend:#stream-dialogue-2">MARA: </span>' in first
    second = parts(Token(step="dialogue", item=2, attempt=0, text="Go."), boxes)
    assert "<section" not in second  # the box is made once
    reset = parts(TokenReset(step="dialogue", item=2, attempt=0, reason="parse"), boxes)
    assert reset == '<pre class="stream" id="stream-dialogue-2" hx-swap-oob="true"></pre>'


def test_a_token_is_text_never_markup() -> None:
    out = parts(Token(step="title", item=None, attempt=0, text="<script>alert(1)</script>"), set())
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_an_event_of_many_lines_is_one_server_sent_event() -> None:
    assert sse("a\nb") == "event: msg\ndata: a\ndata: b\n\n"
