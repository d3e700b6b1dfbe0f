"""How the embedded model picks its tokens: the settings of one call (:class:`Sampling`), what
a call produced (:class:`Generation`), and llama.cpp's sampler chain built from the settings."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

#: llama.cpp's default DRY sequence breakers: a repeat is not counted across them
DRY_BREAKERS = ("\n", ":", '"', "*")
#: the seed llama.cpp reads as "pick one at random"
RANDOM_SEED = 0xFFFFFFFF


@dataclass(frozen=True)
class Sampling:
    """How one call picks its tokens (llama.cpp's names and defaults, as llama-cpp-python's
    ``create_chat_completion`` has them)."""

    temperature: float = 0.2
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    typical_p: float = 1.0
    repeat_penalty: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    #: how many of the last tokens the penalties look at
    penalty_last_n: int = 64
    #: DRY ("don't repeat yourself"): 0 is off; 0.8 is its author's suggestion
    dry_multiplier: float = 0.0
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    #: tokens DRY looks back over (-1: the whole context)
    dry_penalty_last_n: int = -1
    dry_sequence_breakers: tuple[str, ...] = DRY_BREAKERS
    #: XTC ("exclude top choices"): 0 is off
    xtc_probability: float = 0.0
    xtc_threshold: float = 0.1
    #: the penalties and DRY also count the prompt's tokens (discourages copying it)
    penalize_prompt: bool = False
    seed: int | None = None


@dataclass
class Generation:
    """What one call produced."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    #: ``stop`` (end of text or a stop sequence), ``length`` (max_tokens) or ``cancelled``
    finish_reason: str
    seconds: float


def sampler_chain(C: Any, n_vocab: int, vocab: Any, s: Sampling) -> Any:
    """llama.cpp's sampler chain for ``s`` (``C``: llama-cpp-python's ctypes bindings): the
    penalties, DRY, then greedy, or top k, typical, top p, min p, XTC, temperature and the
    seeded draw."""
    chain = C.llama_sampler_chain_init(C.llama_sampler_chain_default_params())

    def add(sampler: Any) -> None:
        C.llama_sampler_chain_add(chain, sampler)

    seed = RANDOM_SEED if s.seed is None else s.seed & 0xFFFFFFFF
    if s.repeat_penalty != 1.0 or s.frequency_penalty or s.presence_penalty:
        add(
            C.llama_sampler_init_penalties(
                n_vocab,
                s.penalty_last_n,
                s.repeat_penalty,
                s.frequency_penalty,
                s.presence_penalty,
            )
        )
    if s.dry_multiplier > 0:
        breakers = [b.encode("utf-8") for b in s.dry_sequence_breakers]
        array = (ctypes.c_char_p * max(1, len(breakers)))(*breakers)
        add(
            C.llama_sampler_init_dry(
                vocab,
                s.dry_multiplier,
                s.dry_base,
                s.dry_allowed_length,
                s.dry_penalty_last_n,
                array,
                len(breakers),
            )
        )
    if s.temperature <= 0:
        add(C.llama_sampler_init_greedy())
        return chain
    add(C.llama_sampler_init_top_k(s.top_k))
    add(C.llama_sampler_init_typical(s.typical_p, 1))
    add(C.llama_sampler_init_top_p(s.top_p, 1))
    add(C.llama_sampler_init_min_p(s.min_p, 1))
    if s.xtc_probability > 0:
        add(C.llama_sampler_init_xtc(s.xtc_probability, s.xtc_threshold, 1, seed))
    add(C.llama_sampler_init_temp(s.temperature))
    add(C.llama_sampler_init_dist(seed))
    return chain
