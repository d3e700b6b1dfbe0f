"""A blocking generation in a worker thread, read as a LangChain stream in the event loop: the
text pieces the thread reports become chunks as they come, its result the last chunk (with the
usage). Cancelling the reader, or leaving the stream early, tells the thread to stop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult

#: a generation: given a stop flag (checked between tokens) and a callback for each new piece
#: of text, it returns the whole answer
Generate = Callable[[threading.Event, Callable[[str], None]], ChatResult]


async def streamed(generate: Generate) -> AsyncIterator[ChatGenerationChunk]:
    """Run ``generate`` in a worker thread; its pieces of text, then a last chunk with no text
    and the answer's usage and metadata. Its error is raised here."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | ChatResult | BaseException] = asyncio.Queue()
    stop = threading.Event()

    def put(value: str | ChatResult | BaseException) -> None:
        if not stop.is_set():  # else nobody reads any more (the loop may be closing)
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(queue.put_nowait, value)

    def work() -> None:
        try:
            put(generate(stop, put))
        except BaseException as exc:  # handed to the reader, raised there
            put(exc)

    done = loop.run_in_executor(None, work)
    try:
        while True:
            got = await queue.get()
            if isinstance(got, BaseException):
                raise got
            if isinstance(got, str):
                yield ChatGenerationChunk(message=AIMessageChunk(content=got))
                continue
            message = got.generations[0].message
            last = AIMessageChunk(
                content="",
                usage_metadata=getattr(message, "usage_metadata", None),
                response_metadata=message.response_metadata,
            )
            yield ChatGenerationChunk(message=last)
            break
        await done
    finally:
        stop.set()  # read no further: the thread stops at its next token
