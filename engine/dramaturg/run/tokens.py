"""A streamed model call's ``token`` events: the answer's text as it comes, and ``token_reset``
when the text sent so far is dropped (a try that failed, an answer resampled).

The pieces are cleaned and masked as the whole answer is (:func:`~.limits.text_of`): control
characters removed, credentials masked. A piece that could be the start of a credential waits
for the text after it, so a key the model echoes never reaches a listener, even split over
two chunks. The text a call's ``token`` events carry since its last reset is, at the end, the
raw answer the run keeps: when it is not (the loop guard kept an earlier sample), a reset and
one ``token`` with the whole answer follow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from ..chain.answers import clean_text
from ..events import Event, Token, TokenReset
from ..secrets import scrub, settled
from .limits import plain_text, text_of

Reason = Literal["error", "parse", "resample", "final"]


class TokenStream:
    """The token events of one text call of a step (a fan-out item's), over its tries."""

    def __init__(self, emit: Callable[[Event], None], step: str, item: int | None) -> None:
        self.emit = emit
        self.step = step
        self.item = item
        #: the try in progress (each stream read is one), from 0
        self.attempt = -1
        #: the text sent in this try's token events, and what waits (cleaned, not masked yet)
        self.sent: list[str] = []
        self.pending = ""

    async def collect(self, chunks: AsyncIterator[Any]) -> Any:
        """Read a model's stream, a ``token`` event per piece; the message the chunks make
        (their content joined, their usage added), as ``ainvoke`` would have returned it."""
        self.attempt += 1
        self.sent, self.pending = [], ""
        message: Any = None
        try:
            async for chunk in chunks:
                message = chunk if message is None else message + chunk
                self.pending += clean_text(plain_text(chunk.content))
                cut = settled(self.pending)
                if cut:
                    self._send(scrub(self.pending[:cut]), self.attempt)
                    self.pending = self.pending[cut:]
        finally:  # left early (an error, a cancelled run): the model stops now
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
        if message is None:  # a stream with no chunk at all: an empty answer
            from langchain_core.messages import AIMessage

            message = AIMessage("")
        self.settle(text_of(message.content), self.attempt)
        return message

    def settle(self, text: str, attempt: int) -> None:
        """Make the text sent equal ``text``, the answer of try ``attempt``: send what is
        missing, or drop what was sent (reset ``final``) and send ``text`` whole."""
        self.pending = ""
        sent = "".join(self.sent)
        if attempt == self.attempt and text.startswith(sent):
            self._send(text[len(sent) :], attempt)
            return
        self.discard("final")
        self._send(text, attempt)

    def discard(self, reason: Reason) -> None:
        """The text sent for this try is dropped (nothing to say when none was sent)."""
        self.pending = ""
        if self.sent:
            self.sent = []
            self.emit(
                TokenReset(step=self.step, item=self.item, attempt=self.attempt, reason=reason)
            )

    def _send(self, text: str, attempt: int) -> None:
        if text:
            self.sent.append(text)
            self.emit(Token(step=self.step, item=self.item, attempt=attempt, text=text))
