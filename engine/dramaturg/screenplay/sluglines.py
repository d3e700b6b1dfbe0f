"""Scene headings from place names: the plot gives a place ("The lamp room of the lighthouse"),
a screenplay wants ``INT. THE LAMP ROOM OF THE LIGHTHOUSE``.

The rule, in order:

1. a place that already starts with a setting (``INT.``, ``EXT``, ``INT./EXT.``, ``I/E``...)
   keeps it, and the prefix is taken off the place;
2. words that say it outright: "inside", "interior", "indoors" -> ``INT.``; "outside",
   "exterior", "outdoors" -> ``EXT.``;
3. otherwise the head of the place name decides: the part before " of ", " in ", " at ",
   " on ", ",", " - " or "(" (the kitchen *of the farmhouse*, the roof *of the tower*), and in
   it the last word found in the lists of indoor words (room, kitchen, cabin, office, ...) and
   outdoor words (street, beach, forest, rooftop, ...); then the rest of the name the same way;
4. nothing found: ``EXT.`` (``default``).
"""

from __future__ import annotations

import re

from .model import Setting

_PREFIX = re.compile(
    r"^\s*(?P<s>int\.?\s*/\s*ext|ext\.?\s*/\s*int|i\s*/\s*e|int|ext|est)\b\.?\s*[-:\u2013]?\s*",
    re.IGNORECASE,
)
_HEAD_SPLIT = re.compile(r"\s+(?:of|in|at|on|by|near|inside|outside|under)\s+|,|\s+-\s+|\(")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_INSIDE = {"inside", "interior", "indoors", "indoor", "within"}
_OUTSIDE = {"outside", "exterior", "outdoors", "outdoor", "open-air"}

INDOOR = _words(
    """
    room rooms bedroom bathroom kitchen hall hallway corridor office study library lounge
    parlor parlour cellar basement attic loft apartment flat house home cottage cabin
    chamber chambers quarters ward hospital clinic church chapel cathedral temple mosque
    synagogue shrine crypt museum gallery theatre theater cinema studio workshop warehouse
    factory mill barn stable shop store boutique market bakery pharmacy bar pub tavern inn
    saloon cafe café restaurant diner canteen hotel motel lobby foyer elevator lift stairwell
    staircase stairs classroom school laboratory lab vault bunker cockpit garage
    shed hangar terminal station prison jail cell courtroom court palace castle tower
    lighthouse mansion manor hut tent igloo cave tunnel mine subway carriage compartment
    train bus car van truck taxi hold deck interior dungeon nursery pantry closet dormitory
    barracks embassy bank casino club gym sauna spa greenhouse conservatory
    """
)
OUTDOOR = _words(
    """
    street streets road roads avenue alley lane highway motorway path trail track square
    plaza park garden gardens yard courtyard backyard field fields meadow farm farmland
    orchard vineyard forest woods wood jungle grove clearing hill hills mountain mountains
    peak cliff cliffs valley canyon desert dunes beach shore coast coastline seashore bay
    harbour harbor port pier dock docks wharf quay jetty marina sea ocean lake river stream
    creek waterfall island swamp marsh bog moor moors heath tundra glacier rooftop roof
    rooftops balcony terrace porch veranda patio bridge crossroads border checkpoint
    cemetery graveyard ruins battlefield camp campsite riverbank riverside waterfront
    skyline sky outskirts wasteland plain plains prairie savanna steppe countryside village
    town city parking lot playground stadium racetrack runway airfield
    """
)
# a word in both lists (none today) would be skipped as saying nothing


def split_setting(place: str, default: Setting = "EXT.") -> tuple[Setting, str]:
    """``(setting, place without a setting prefix)`` for a place name."""
    text = " ".join(place.split())
    m = _PREFIX.match(text)
    if m and len(text) > m.end():
        return _normalise(m.group("s")), text[m.end() :].strip()
    return infer_setting(text, default), text


def infer_setting(place: str, default: Setting = "EXT.") -> Setting:
    """``INT.`` or ``EXT.`` for a place name without a prefix (rule in the module docstring)."""
    words = [w.lower() for w in _WORD.findall(place)]
    if any(w in _INSIDE for w in words):
        return "INT."
    if any(w in _OUTSIDE for w in words):
        return "EXT."
    parts = [p for p in _HEAD_SPLIT.split(place.lower()) if p and p.strip()]
    for part in parts:
        found = _last_setting_word(part)
        if found is not None:
            return found
    return default


def _last_setting_word(text: str) -> Setting | None:
    for word in reversed(_WORD.findall(text)):
        indoor, outdoor = word in INDOOR, word in OUTDOOR
        if indoor and not outdoor:
            return "INT."
        if outdoor and not indoor:
            return "EXT."
    return None


def _normalise(prefix: str) -> Setting:
    p = re.sub(r"[\s.]", "", prefix.lower())
    if p in {"int/ext", "ext/int", "i/e"}:
        return "INT./EXT."
    return "INT." if p == "int" else "EXT."
