"""llama.cpp driven through its own sampler chain: one model, several contexts, fast grammars.

``llama_cpp.Llama`` (the high-level API) holds one context, so calls to one model run one after
another, and it applies a JSON grammar to every token of the vocabulary before sampling (the
embedded model decoded 12-33 tokens/s under a schema against 36-45 without). This engine loads
the weights once and keeps ``n_parallel`` contexts, one call in each at a time, and samples the
way llama.cpp's own tools do: the sampler chain picks a token, the grammar is asked about that
one token, and only when it refuses is the grammar applied to the whole vocabulary.

Every call starts from an empty context (its KV cache cleared) and its sampler chain is seeded
from the call: the text of a call depends on the call alone, not on which context ran it, what
ran there before or how many run at once. The sampler chain is llama.cpp's: penalties, DRY, top
k, typical, top p, min p, XTC, temperature, then the seeded draw (greedy at temperature 0).

It uses llama-cpp-python's thin wrappers of the C API (``_internals``) and its ctypes bindings;
the exact version is pinned by the ``local`` extra.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dramaturg.errors import ModelError, ProviderError

from .llama_sampling import DRY_BREAKERS, RANDOM_SEED, Generation, Sampling, sampler_chain
from .local_cpu import check_build, llama_model_params

__all__ = ["DRY_BREAKERS", "RANDOM_SEED", "Generation", "LlamaEngine", "Sampling"]


class _Context:
    """One llama.cpp context and the buffers its calls reuse."""

    def __init__(self, engine: LlamaEngine, index: int) -> None:
        C = engine.C
        params = C.llama_context_default_params()
        params.n_ctx = engine.n_ctx
        # measured on the bundled model, one thread: prompts decode as fast in micro-batches of
        # 128 tokens as of 512, with a quarter of the compute buffer (98 MiB at 512)
        params.n_batch = min(512, engine.n_ctx)
        params.n_ubatch = min(128, engine.n_ctx)
        params.n_threads = params.n_threads_batch = engine.n_threads
        if hasattr(params, "flash_attn_type"):
            # flash attention ("auto": on) decoded 35 tokens/s after a 450-token prompt, 47 off
            params.flash_attn_type = C.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.index = index
        self.ctx: Any = engine.internals.LlamaContext(
            model=engine.model, params=params, verbose=False
        )
        n = engine.n_vocab
        self.candidates = (C.llama_token_data * n)()
        self.single = (C.llama_token_data * 1)()
        #: the prompt whose KV the context holds (before any answer), and the logits after it
        self.prompt: list[int] | None = None
        self.logits: Any = None
        #: when its last call ended (the least recently used free context is taken first)
        self.used = 0.0


class LlamaEngine:
    """A GGUF model with ``n_parallel`` contexts; :meth:`generate` is thread-safe."""

    def __init__(
        self,
        path: str,
        *,
        n_ctx: int | None,
        n_threads: int,
        n_parallel: int,
        extra_buffers: bool = False,
        default_n_ctx: int = 4096,
    ) -> None:
        try:
            import numpy as np
            from llama_cpp import _internals, llama_chat_format, llama_grammar
            from llama_cpp import llama_cpp as C
        except ImportError as exc:
            raise ProviderError(f"llama-cpp-python is not usable: {exc}") from None
        check_build(C, extra_buffers=extra_buffers)
        self.C: Any = C
        self.np: Any = np
        self.internals: Any = _internals
        self.grammars: Any = llama_grammar
        self.path = path
        try:
            self.model: Any = _internals.LlamaModel(
                path_model=path,
                params=llama_model_params(C, extra_buffers=extra_buffers),
                verbose=False,
            )
        except Exception as exc:
            raise ProviderError(
                f"cannot load local model {path}: {exc}", hint="is it a llama.cpp GGUF chat model?"
            ) from exc
        self.vocab = self.model.vocab
        self.n_vocab = int(self.model.n_vocab())
        self.n_ctx_train = int(self.model.n_ctx_train())
        self.n_ctx = n_ctx or min(default_n_ctx, self.n_ctx_train or default_n_ctx)
        self.n_threads = max(1, n_threads)
        self.metadata: dict[str, str] = dict(self.model.metadata())
        self.name = self.metadata.get("general.name") or ""
        self._chat = self._chat_formatter(llama_chat_format)
        self._ids = np.arange(self.n_vocab, dtype=np.int32)
        self.contexts = [_Context(self, i) for i in range(max(1, n_parallel))]
        self._free = list(self.contexts)
        self._freed = threading.Condition()
        #: calls whose prompt the context already held (KV and logits reused, nothing decoded)
        self.prompt_reuses = 0
        self._closed = False

    # -- prompt ------------------------------------------------------------------------------
    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return str(self.model.token_get_text(token))

    def _chat_formatter(self, chat_format: Any) -> Any:
        template = self.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        return chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self.model.token_eos()),
            bos_token=self._token_text(self.model.token_bos()),
        )

    def prompt_tokens(self, messages: Sequence[dict[str, str]]) -> tuple[list[int], list[str]]:
        """The tokens of the chat prompt and the stop strings of the chat format."""
        if self._chat is not None:
            formatted = self._chat(messages=list(messages))
            text, stops = formatted.prompt, formatted.stop or []
            add_bos = not formatted.added_special
        else:  # no template in the file: ChatML, as most small chat models use
            text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
            text += "<|im_start|>assistant\n"
            stops, add_bos = ["<|im_end|>"], True
        tokens = self.model.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return list(tokens), [stops] if isinstance(stops, str) else list(stops)

    # -- grammar -----------------------------------------------------------------------------
    def grammar_for(self, response_format: dict[str, Any] | None) -> str | None:
        """The GBNF grammar of a llama.cpp ``response_format`` (JSON, or JSON of a schema)."""
        if not response_format or response_format.get("type") != "json_object":
            return None
        schema = response_format.get("schema")
        if not schema:
            return str(self.grammars.JSON_GBNF)
        import json

        try:
            return str(self.grammars.json_schema_to_gbnf(json.dumps(schema)))
        except Exception as exc:
            raise ModelError(
                f"the answer schema cannot be turned into a llama.cpp grammar: {exc}",
                transient=False,
                hint="simplify the schema (llama.cpp supports most of JSON Schema, not all)",
            ) from exc

    # -- sampling ----------------------------------------------------------------------------
    def _chain(self, s: Sampling) -> Any:
        return sampler_chain(self.C, self.n_vocab, self.vocab, s)

    def _load_candidates(self, c: _Context, logits: Any) -> Any:
        """The context's candidate array filled with the vocabulary and these logits."""
        np, C = self.np, self.C
        rec = np.frombuffer(
            c.candidates,
            dtype=np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)]),
        )
        rec["id"] = self._ids
        rec["logit"] = logits
        rec["p"] = 0.0
        return C.llama_token_data_array(
            data=c.candidates, size=self.n_vocab, selected=-1, sorted=False
        )

    def _allowed(self, c: _Context, grammar: Any, token: int) -> bool:
        """Whether the grammar, in its present state, lets ``token`` come next."""
        c.single[0].id, c.single[0].logit, c.single[0].p = token, 1.0, 0.0
        array = self.C.llama_token_data_array(data=c.single, size=1, selected=-1, sorted=False)
        self.C.llama_sampler_apply(grammar, ctypes.byref(array))
        return bool(c.single[0].logit != float("-inf"))

    def _logits(self, c: _Context) -> Any:
        """The context's logits after its last decoded token (a view, not a copy)."""
        raw = self.C.llama_get_logits_ith(c.ctx.ctx, -1)
        return self.np.ctypeslib.as_array(raw, shape=(self.n_vocab,))

    def _pick(self, c: _Context, chain: Any, grammar: Any, logits: Any = None) -> int | None:
        """The next token: the chain's pick when the grammar allows it, else the chain's pick
        among what the grammar allows; None when the grammar allows nothing. ``logits``: the
        ones to pick from (default: the context's last)."""
        C = self.C
        if logits is None:
            logits = self._logits(c)
        array = self._load_candidates(c, logits)
        C.llama_sampler_apply(chain, ctypes.byref(array))
        token = int(c.candidates[array.selected].id)
        if grammar is None or self._allowed(c, grammar, token):
            return token
        array = self._load_candidates(c, logits)
        C.llama_sampler_apply(grammar, ctypes.byref(array))
        C.llama_sampler_apply(chain, ctypes.byref(array))
        token = int(c.candidates[array.selected].id)
        return token if self._allowed(c, grammar, token) else None

    # -- decoding ----------------------------------------------------------------------------
    def _decode(self, c: _Context, tokens: Sequence[int]) -> None:
        C = self.C
        step = min(512, self.n_ctx)
        for start in range(0, len(tokens), step):
            chunk = tokens[start : start + step]
            array = (C.llama_token * len(chunk))(*chunk)
            code = C.llama_decode(c.ctx.ctx, C.llama_batch_get_one(array, len(chunk)))
            if code != 0:
                raise ModelError(f"llama.cpp could not decode (code {code})", transient=False)

    def _piece(self, token: int, buf: Any) -> bytes:
        n = self.C.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        if n < 0:  # longer than the buffer
            buf = ctypes.create_string_buffer(-n)
            n = self.C.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        return bytes(buf[:n])

    @contextlib.contextmanager
    def _context(self, tokens: list[int]) -> Iterator[_Context]:
        """A free context: one that holds this prompt if there is one (a resample of a call
        reuses its prompt), else the one used least recently."""
        with self._freed:
            while not self._free:
                self._freed.wait()
            c = next((x for x in self._free if x.prompt == tokens), None)
            if c is None:
                c = min(self._free, key=lambda x: x.used)
            self._free.remove(c)
        try:
            yield c
        finally:
            with self._freed:
                c.used = time.monotonic()
                self._free.append(c)
                self._freed.notify()

    def generate(
        self,
        messages: Sequence[dict[str, str]],
        sampling: Sampling,
        *,
        max_tokens: int | None,
        stop: Sequence[str] = (),
        grammar: str | None = None,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        """Generate an answer in the next free context (waiting for one)."""
        if self._closed:
            raise ModelError("the local model was closed", transient=False)
        tokens, chat_stops = self.prompt_tokens(messages)
        if len(tokens) >= self.n_ctx:
            raise ModelError(
                f"the prompt has {len(tokens):,} tokens; the context holds {self.n_ctx:,}",
                transient=False,
                hint="shorten the prompt, or raise the model's extra: {n_ctx: ...}",
            )
        budget = self.n_ctx - len(tokens)
        if max_tokens is not None:
            budget = min(budget, max_tokens)
        stops = [s for s in (*stop, *chat_stops) if s]
        with self._context(tokens) as c:
            return self._run(c, tokens, sampling, budget, stops, grammar, on_text, cancel)

    def _run(
        self,
        c: _Context,
        tokens: list[int],
        sampling: Sampling,
        budget: int,
        stops: list[str],
        grammar_text: str | None,
        on_text: Callable[[str], None] | None,
        cancel: threading.Event | None,
    ) -> Generation:
        C = self.C
        t0 = time.perf_counter()
        memory = C.llama_get_memory(c.ctx.ctx)
        logits = None
        if c.prompt == tokens and c.logits is not None:
            # the context holds this very prompt: drop the last answer and start from the saved
            # logits, exactly as if the prompt were decoded again
            C.llama_memory_seq_rm(memory, 0, len(tokens), -1)
            logits = c.logits
            self.prompt_reuses += 1
        else:
            c.prompt = c.logits = None
            C.llama_memory_clear(memory, True)
        chain = self._chain(sampling)
        grammar = None
        try:
            if grammar_text is not None:
                grammar = C.llama_sampler_init_grammar(
                    self.vocab, grammar_text.encode("utf-8"), b"root"
                )
                if not grammar:
                    raise ModelError("llama.cpp refused the answer's grammar", transient=False)
            if sampling.penalize_prompt:
                for t in tokens:
                    C.llama_sampler_accept(chain, t)
            if logits is None:
                self._decode(c, tokens)
                logits = self._logits(c).copy()
                c.prompt, c.logits = tokens, logits
            # an incremental decoder: a character split over two tokens waits for its end,
            # and a tail cut inside a character (max_tokens) is dropped, not garbled
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            buf = ctypes.create_string_buffer(64)
            hold = max((len(s) - 1 for s in stops), default=0)
            text, shown, n, finish = "", 0, 0, "length"
            while n < budget:
                if cancel is not None and cancel.is_set():
                    finish = "cancelled"
                    break
                token = self._pick(c, chain, grammar, logits)
                logits = None  # the next ones come from the context
                if token is None or C.llama_vocab_is_eog(self.vocab, token):
                    finish = "stop"
                    break
                C.llama_sampler_accept(chain, token)
                if grammar is not None:
                    C.llama_sampler_accept(grammar, token)
                n += 1
                start = max(0, len(text) - hold)
                text += decoder.decode(self._piece(token, buf))
                cut = min((i for i in (text.find(s, start) for s in stops) if i >= 0), default=-1)
                if cut >= 0:
                    text, finish = text[:cut], "stop"
                    break
                if on_text is not None and len(text) - hold > shown:
                    on_text(text[shown : len(text) - hold])  # a stop sequence may be starting
                    shown = len(text) - hold
                if n < budget:
                    self._decode(c, [token])
            if on_text is not None and len(text) > shown:
                on_text(text[shown:])
            return Generation(text, len(tokens), n, finish, time.perf_counter() - t0)
        finally:
            C.llama_sampler_free(chain)
            if grammar is not None:
                C.llama_sampler_free(grammar)

    def close(self) -> None:
        """Free the contexts, then the model."""
        if self._closed:
            return
        self._closed = True
        for c in self.contexts:
            with contextlib.suppress(Exception):
                c.ctx.close()
        with contextlib.suppress(Exception):
            self.model.close()
