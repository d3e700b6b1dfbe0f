"""Who is who: dialogue cues and beats matched to the known characters by name.

A cue matches a character (case-insensitively, extensions such as ``(V.O.)`` aside) when, in
order, the first rule giving exactly one character wins:

1. the whole name: ``MARA VOSS`` -> Mara Voss;
2. every word of the cue is a word of the name: ``MARA`` or ``VOSS`` -> Mara Voss;
3. the name's first or last word is a word of the cue: ``CAPTAIN VOSS``, ``YOUNG MARA``.

Titles (Dr, Captain, Old...) do not count as a name's first word. A cue matching two characters
under a rule (two Maras) goes to the next rule, and unmatched cues stay unmatched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .model import Character

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TITLES = _words(
    """
    mr mrs ms miss mx dr doctor prof professor sir dame lady lord captain capt cpt major
    colonel general sergeant sgt lieutenant lt officer detective det inspector agent nurse
    father mother aunt uncle sister brother grandma grandpa granny old young little big
    the saint st king queen prince princess count countess madame monsieur señor señora
    """
)


_ARTICLES = frozenset({"a", "an", "the", "one", "her", "his", "their"})


def words(text: str) -> list[str]:
    """The words of a name or a text, lower case (``O'Brien`` -> ``o``, ``brien``)."""
    return [w.casefold() for w in _WORD.findall(text)]


def _key_words(name: str) -> list[str]:
    ws = words(name)
    keyed = [w for w in ws if w not in TITLES]
    return keyed or ws


class Cast:
    """The characters of a screenplay, to look up by cue or by mention."""

    def __init__(self, characters: Iterable[Character]) -> None:
        self.characters = list(characters)
        self._words = [words(c.name) for c in self.characters]
        self._keys = [_key_words(c.name) for c in self.characters]

    def match_cue(self, cue_name: str) -> Character | None:
        """The character a cue (without its extensions) names, or ``None``."""
        cue = words(cue_name)
        if not cue:
            return None
        cue_set = set(cue)
        for rule in (1, 2, 3):
            found = [i for i in range(len(self.characters)) if self._rule(rule, i, cue, cue_set)]
            if len(found) == 1:
                return self.characters[found[0]]
        return None

    def _rule(self, rule: int, i: int, cue: list[str], cue_set: set[str]) -> bool:
        name, keys = self._words[i], self._keys[i]
        if rule == 1:
            return name == cue
        if not keys:
            return False
        if rule == 2:
            return cue_set <= set(name)
        return keys[0] in cue_set or keys[-1] in cue_set

    def mentioned_in(self, text: str) -> list[Character]:
        """The characters a text names, in cast order: by whole name, or by first name when no
        other character has it."""
        found = set(words(text))
        padded = f" {' '.join(words(text))} "
        firsts = [keys[0] if keys else "" for keys in self._keys]
        out = []
        for c, ws, first in zip(self.characters, self._words, firsts, strict=True):
            if not ws:
                continue
            by_first = len(first) > 1 and first in found and firsts.count(first) == 1
            if by_first or f" {' '.join(ws)} " in padded:
                out.append(c)
        return out


def introduce(character: Character) -> str:
    """The character's description with the first mention of its name in capitals, as scripts
    introduce a character (``Mara is a keeper`` -> ``MARA is a keeper``)."""
    desc = character.description
    if not desc:
        return ""
    candidates = [character.name, *_key_words(character.name)[:1]]
    for candidate in candidates:
        if not candidate:
            continue
        m = re.search(rf"(?<!\w){re.escape(candidate)}(?!\w)", desc, re.IGNORECASE)
        if m:
            return desc[: m.start()] + m.group(0).upper() + desc[m.end() :]
    first, _, rest = desc.partition(" ")
    if first.lower() in _ARTICLES and rest:  # "A child who..." -> "ILSE, a child who..."
        return f"{character.name.upper()}, {first.lower()} {rest}"
    return f"{character.name.upper()}: {desc}"
