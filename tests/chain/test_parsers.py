"""Parsers turn raw model text into data; they survive the mess real models produce."""

from __future__ import annotations

import pytest

from dramaturg import ParseError, register_parser
from dramaturg.chain.parsers import parse
from dramaturg.spec import StepSpec


def spec(parse_value: object):  # type: ignore[no-untyped-def]
    return StepSpec.model_validate({"prompt": "x.j2", "parse": parse_value}).parse


def test_text_strips():
    assert parse(spec("text"), "  Salt Road \n") == "Salt Road"


def test_lines_drop_bullets_numbers_and_blanks():
    text = "1. Mara\n\n- Orin\n* Tess\n(4) Ada\n2) Bo\n   plain  \n"
    assert parse(spec("lines"), text) == ["Mara", "Orin", "Tess", "Ada", "Bo", "plain"]
    assert parse(spec({"type": "lines", "strip_bullets": False}), "- a\n") == ["- a"]


def test_json_in_fences_or_prose_and_schema():
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    assert parse(
        spec({"type": "json", "schema": schema}),
        'Sure! ```json\n{"name": "Mara"}\n``` Hope that helps',
    ) == {"name": "Mara"}
    assert parse(spec("json"), "Here: [1, 2, 3] done") == [1, 2, 3]
    with pytest.raises(ParseError, match="schema at name"):
        parse(spec({"type": "json", "schema": schema}), '{"name": 3}')
    with pytest.raises(ParseError, match="not JSON"):
        parse(spec("json"), "{oops")
    with pytest.raises(ParseError):
        parse(spec("json"), "")


def test_regex_one_or_many():
    p = {"type": "regex", "pattern": r"(?P<name>[A-Z]+): (?P<line>.+)", "multiple": True}
    assert parse(spec(p), "MARA: Hello\nnoise\nORIN: Hi") == [
        {"name": "MARA", "line": "Hello"},
        {"name": "ORIN", "line": "Hi"},
    ]
    one = {"type": "regex", "pattern": r"Title: (?P<title>.+)", "flags": ["IGNORECASE"]}
    assert parse(spec(one), "TITLE: The Salt Road") == {"title": "The Salt Road"}
    with pytest.raises(ParseError, match="does not match"):
        parse(spec(one), "nothing")


SCENES = {"type": "sections", "fields": ["Place", "Plot element", "Beat"], "multiple": True}


def test_sections_records_with_messy_formatting():
    text = """Here are the scenes:

**Place:** The harbour
Plot element: Exposition
Beat: Mara returns to the harbour
  after ten years away.

place - The lighthouse
PLOT ELEMENT: Inciting Incident
Beat: The lamp goes dark.

Place: The cellar
Plot element: Conflict
"""
    out = parse(spec(SCENES), text)
    assert out == [
        {
            "place": "The harbour",
            "plot_element": "Exposition",
            "beat": "Mara returns to the harbour after ten years away.",
        },
        {
            "place": "The lighthouse",
            "plot_element": "Inciting Incident",
            "beat": "The lamp goes dark.",
        },
    ]  # the incomplete third record is dropped


def test_sections_single_record_and_missing_field():
    single = {"type": "sections", "fields": {"name": "Name", "bio": "Description"}}
    assert parse(spec(single), "Name: Mara\nDescription: a keeper") == {
        "name": "Mara",
        "bio": "a keeper",
    }
    with pytest.raises(ParseError, match="Description"):
        parse(spec(single), "Name: Mara")
    with pytest.raises(ParseError, match="no complete record"):
        parse(spec(SCENES), "nothing here")


def test_custom_parser_registered_from_python():
    register_parser("upper_words", lambda text, opts: text.upper().split(opts.get("sep")))
    p = spec({"type": "custom", "name": "upper_words", "options": {"sep": ","}})
    assert parse(p, "a,b") == ["A", "B"]
    assert parse(spec("upper_words"), "a b") == ["A", "B"]

    def broken(text: str, opts: dict) -> object:  # type: ignore[type-arg]
        raise ValueError("bad")

    register_parser("broken", broken)
    with pytest.raises(ParseError, match="parser 'broken' failed: bad"):
        parse(spec("broken"), "x")


def test_custom_parser_can_see_the_attempt():
    seen = []

    def strict_then_lenient(text: str, opts: dict, *, attempt: int, attempts: int) -> str:  # type: ignore[type-arg]
        seen.append((attempt, attempts))
        if attempt < attempts - 1 and "loop" in text:
            raise ParseError("loop")
        return text

    register_parser("strict_then_lenient", strict_then_lenient)
    p = spec("strict_then_lenient")
    with pytest.raises(ParseError):
        parse(p, "loop", attempt=0, attempts=3)
    assert parse(p, "loop", attempt=2, attempts=3) == "loop"
    assert seen == [(0, 3), (2, 3)]
