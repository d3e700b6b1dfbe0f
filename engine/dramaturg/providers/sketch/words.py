"""Keyword detection: the motifs and the time of day that the prompt's words ask for."""

from __future__ import annotations

import re


def wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_KEYWORDS: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "portrait": "portrait portraits headshot bust mugshot likeness",
        "night": "night midnight nighttime moon moonlight moonlit stars starry starlight "
        "nocturnal tonight",
        "dusk": "dusk sunset evening twilight sundown gloaming",
        "dawn": "dawn sunrise daybreak morning",
        "sea": "sea ocean harbour harbor wave waves shore beach coast coastal port pier quay "
        "dock docks bay tide surf lighthouse seaside marina cove sailor seafront jetty "
        "breakwater",
        "lake": "river lake pond stream canal loch fjord",
        "lighthouse": "lighthouse beacon",
        "boat": "boat ship ferry yacht sailboat trawler dinghy vessel steamer schooner",
        "quay": "quay pier dock jetty breakwater wharf",
        "forest": "forest woods woodland tree trees pine pines grove jungle orchard garden park "
        "thicket copse",
        "city": "city street streets town alley alleyway building buildings skyline rooftop "
        "rooftops downtown avenue market station plaza square boulevard village tower",
        "road": "road highway path lane track trail street avenue boulevard alley",
        "interior": "room kitchen interior bedroom office hall hallway corridor cellar attic "
        "bar pub cafe diner restaurant library study apartment parlour parlor lobby classroom "
        "chapel cabin inside indoors",
        "fire": "fire flame flames burning blaze bonfire campfire hearth fireplace inferno embers",
        "candle": "candle candles candlelight",
        "lamp": "lamp lantern lamplight streetlight streetlamp lamps lanterns",
        "mountain": "mountain mountains peak peaks summit alps ridge crag glacier volcano "
        "highlands",
        "cliff": "cliff cliffs headland bluff promontory",
        "desert": "desert dune dunes sand sands sahara canyon mesa badlands arid wasteland",
        "rain": "rain rainy raining downpour drizzle monsoon squall wet storm stormy",
        "storm": "storm stormy thunder lightning tempest squall gale hurricane",
        "lightning": "lightning thunder thunderstorm",
        "snow": "snow snowy winter ice icy frost frozen blizzard snowfall arctic",
        "snowfall": "snowing snowfall blizzard snowstorm flurries snowflakes",
        "fog": "fog foggy mist misty haze hazy smoke smoky",
        "people": "crowd people figure figures man woman men women couple stranger child "
        "children soldiers",
        "table": "kitchen dining cafe diner restaurant bar pub table desk study office",
        "books": "library study books bookshelf archive",
        "noir": "noir",
    }.items()
}
SCENE_MOTIFS = wordset(
    "sea lake lighthouse boat quay forest city road interior fire candle lamp mountain cliff "
    "desert rain snow fog people"
)
FEMININE = wordset(
    "she her woman girl lady mother widow queen actress daughter sister wife aunt grandmother "
    "matriarch heroine"
)
MASCULINE = wordset(
    "he his him man boy gentleman father widower king actor son brother husband uncle "
    "grandfather patriarch"
)


def words_of(text: str) -> set[str]:
    """The lower-case words of ``text``, and each plural in ``-s`` also without its ``s``."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def find_motifs(text: str, negative: str) -> set[str]:
    words, neg = words_of(text), words_of(negative)
    found = {name for name, keys in _KEYWORDS.items() if keys & words}
    found -= {name for name, keys in _KEYWORDS.items() if name != "portrait" and keys & neg}
    if "sea" in found and words & {"wall", "seawall", "promenade", "embankment"}:
        found.add("quay")
    slug = re.match(r"\s*(INT|EXT|I/E)\b", text, re.IGNORECASE)
    if slug:
        kind = slug.group(1).upper()
        if kind == "INT":
            found.add("interior")
        elif kind == "EXT":
            found.discard("interior")
    if re.search(r"\bclose[- ]up\b", text, re.IGNORECASE) and words & (FEMININE | MASCULINE):
        found.add("portrait")
    return found


def time_of_day(motifs: set[str]) -> str:
    for t in ("night", "dusk", "dawn"):
        if t in motifs:
            return t
    return "day"
