"""What a portrait prompt says about its sitter: hair, skin, clothes, hat and accessories."""

from __future__ import annotations

import random
import re
from typing import Any

from .palette import RGB
from .words import FEMININE, MASCULINE, wordset

COLOURS: dict[str, RGB] = {
    "red": (168, 44, 40),
    "crimson": (150, 28, 44),
    "scarlet": (190, 40, 32),
    "burgundy": (110, 30, 44),
    "blue": (46, 78, 140),
    "navy": (34, 44, 84),
    "teal": (30, 110, 112),
    "green": (52, 108, 64),
    "olive": (98, 102, 50),
    "yellow": (220, 176, 46),
    "oilskin": (214, 168, 38),
    "mustard": (196, 150, 40),
    "ochre": (186, 128, 48),
    "orange": (214, 112, 40),
    "pink": (212, 120, 146),
    "purple": (102, 60, 120),
    "violet": (120, 76, 150),
    "brown": (104, 70, 46),
    "tan": (176, 140, 98),
    "black": (34, 32, 34),
    "white": (226, 222, 212),
    "grey": (120, 120, 122),
    "gray": (120, 120, 122),
    "tweed": (118, 100, 74),
    "denim": (60, 86, 124),
}
_HAIR: dict[str, RGB] = {
    "grey": (176, 172, 168),
    "gray": (176, 172, 168),
    "white": (222, 220, 214),
    "silver": (196, 196, 200),
    "red": (156, 64, 30),
    "ginger": (176, 84, 34),
    "auburn": (126, 52, 30),
    "blond": (214, 180, 112),
    "blonde": (214, 180, 112),
    "fair": (206, 176, 120),
    "black": (28, 24, 24),
    "dark": (44, 32, 26),
    "brown": (92, 60, 38),
}
_OLD = wordset(
    "old elderly aged ageing aging sixties seventies eighties nineties grandmother grandfather "
    "grandma grandpa veteran retired"
)
_HATS = wordset("hat hats cap bonnet fedora beret helmet sou wester souwester bowler")
_COATS = wordset(
    "coat jacket oilskin uniform cloak blazer suit overcoat raincoat trench greatcoat waistcoat "
    "peacoat parka anorak"
)


def describe_sitter(
    text: str, words: set[str], prng: random.Random, rng: random.Random
) -> dict[str, Any]:
    """What the words say about the sitter: hair, skin, clothes, hat, accessories."""
    lowered = text.lower()
    said = re.search(r"\b([a-z]+)[- ](?:haired|hair|beard|bearded)\b", lowered)
    hair_word = said.group(1) if said else ""
    if hair_word in _HAIR:
        hair = _HAIR[hair_word]
    elif words & _OLD:
        hair = (190, 186, 180)
    elif "redhead" in words:
        hair = _HAIR["red"]
    else:
        hair = prng.choice(((58, 40, 30), (90, 60, 40), (30, 26, 24), (122, 86, 54)))
    skin = prng.choice(
        ((236, 200, 170), (214, 170, 130), (178, 126, 90), (132, 90, 62), (226, 186, 152))
    )
    # the first colour named that is not the colour of hair, eyes or skin dresses the sitter
    not_clothes = r"(?![- ](?:hair|haired|beard|bearded|eye|eyed|skin|scarf))"
    colours = [
        COLOURS[m.group(1)]
        for m in re.finditer(r"\b([a-z]+)\b" + not_clothes, lowered)
        if m.group(1) in COLOURS
    ]
    feminine = bool(words & FEMININE)
    masculine = bool(words & MASCULINE) and not feminine
    if feminine:
        style = rng.choice(("long", "bun", "bob"))
    elif masculine:
        style = rng.choice(("short", "short", "cropped", "bald"))
    else:
        style = rng.choice(("short", "bob", "long", "cropped"))
    return {
        "hair": hair,
        "skin": skin,
        "cloth": colours[0] if colours else None,
        "style": style,
        "hat": (
            "cap"
            if words & {"cap", "peaked"}
            else "beret"
            if "beret" in words
            else "brim"
            if words & _HATS or "sou'wester" in lowered
            else ""
        ),
        "badge": bool(words & {"captain", "officer", "admiral", "commander", "sergeant"}),
        "coat": bool(words & _COATS),
        "beard": bool(words & {"beard", "bearded"}),
        "moustache": bool(words & {"moustache", "mustache"}),
        "glasses": bool(words & {"glasses", "spectacles", "spectacled"}),
        "scarf": "scarf" in words,
        "scarf_colour": next(
            (
                COLOURS[m.group(1)]
                for m in re.finditer(r"\b([a-z]+) scarf", lowered)
                if m.group(1) in COLOURS
            ),
            None,
        ),
        "oilskin": "oilskin" in words,
    }
