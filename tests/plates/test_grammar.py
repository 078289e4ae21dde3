"""The Vietnamese plate grammar: canonical forms, position-aware OCR fixes, search keys (no Django, no OCR)."""

from __future__ import annotations

import random

import pytest

from analytics.plates.grammar import SERIES_LETTERS, normalise, parse, search_key
from tests.plates.render import random_spec

CANONICAL = [
    ("51F-123.45", "car", 1),
    ("51F-1234", "car", 1),
    ("30K-000.01", "car", 1),
    ("80A-123.45", "car", 1),
    ("51LD-123.45", "car", 1),
    ("51R-012.34", "car", 1),
    ("59-S1 234.56", "motorbike", 2),
    ("59-X1 2345", "motorbike", 2),
    ("41-B9 999.99", "motorbike", 2),
    ("59-AC 123.45", "motorbike", 2),
    ("29-MĐ1 123.45", "motorbike", 2),
]


@pytest.mark.parametrize(("text", "kind", "lines"), CANONICAL)
def test_canonical_text_parses_to_itself(text: str, kind: str, lines: int) -> None:
    plate = parse(text)
    assert plate is not None
    assert (plate.text, plate.kind, plate.lines) == (text, kind, lines)
    assert plate.corrections == 0 and plate.cost == 0 and plate.fit == 1.0
    assert normalise(text) == text


def test_parts() -> None:
    plate = parse("59-S1 234.56")
    assert plate is not None
    assert (plate.province, plate.series, plate.serial) == ("59", "S1", "23456")
    car = parse("51LD-12345")
    assert car is not None
    assert (car.province, car.series, car.serial) == ("51", "LD", "12345")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # one line, separators optional or different
        ("51F-12345", "51F-123.45"),
        ("51f12345", "51F-123.45"),
        ("51F 123 45", "51F-123.45"),
        ("51F.123.45", "51F-123.45"),
        ("51F-123,45", "51F-123.45"),
        ("  51F - 123 . 45  ", "51F-123.45"),
        ("51F1234", "51F-1234"),
        ("51ld12345", "51LD-123.45"),
        # motorbike plates given as one string
        ("59-S1 234.56", "59-S1 234.56"),
        ("59 S1 23456", "59-S1 234.56"),
        ("59S123456", "59-S1 234.56"),
        ("59-X1-2345", "59-X1 2345"),
        ("59-s1 2345", "59-S1 2345"),
        ("59-ac 123.45", "59-AC 123.45"),
        ("29mđ112345", "29-MĐ1 123.45"),
        # the same eight characters: the separators tell a motorbike from a car
        ("59-S1 2345", "59-S1 2345"),
        ("59S-123.45", "59S-123.45"),
        ("59S12345", "59S-123.45"),
        # OCR noise around and between
        ("[51F-123.45]", "51F-123.45"),
        ("51F·123.45", "51F-123.45"),
        ("51F一123.45", "51F-123.45"),
        ("５１Ｆ－１２３．４５", "51F-123.45"),
        ("51F-123.45.", "51F-123.45"),
    ],
)
def test_one_string(raw: str, expected: str) -> None:
    plate = parse(raw)
    assert plate is not None, raw
    assert plate.text == expected


@pytest.mark.parametrize(
    ("lines", "expected", "kind"),
    [
        (["59-S1", "234.56"], "59-S1 234.56", "motorbike"),
        (["59-X1", "2345"], "59-X1 2345", "motorbike"),
        (["59 X1", "23456"], "59-X1 234.56", "motorbike"),
        (["51F", "123.45"], "51F-123.45", "car"),
        (["51F-", "1234"], "51F-1234", "car"),
        (["59-AC", "123.45"], "59-AC 123.45", "motorbike"),
        (["51LD", "123.45"], "51LD-123.45", "car"),
        (["29-MĐ1", "123.45"], "29-MĐ1 123.45", "motorbike"),
        ("59-S1\n234.56", "59-S1 234.56", "motorbike"),
        (("59", "-S1", "234.56"), "59-S1 234.56", "motorbike"),
        (["", "59-S1", "  ", "234.56"], "59-S1 234.56", "motorbike"),
    ],
)
def test_two_lines(lines: list[str] | str, expected: str, kind: str) -> None:
    plate = parse(lines)
    assert plate is not None
    assert (plate.text, plate.kind, plate.lines) == (expected, kind, 2)


def test_two_lines_split_between_series_and_number() -> None:
    # "59S1" over "2345" is a motorbike; the same characters on one line default to a car
    assert parse(["59S1", "2345"]).text == "59-S1 2345"  # type: ignore[union-attr]
    assert parse("59S12345").text == "59S-123.45"  # type: ignore[union-attr]
    # a split that leaves the series on the second line fits nothing there: the lines are joined
    joined = parse(["59", "S1 234.56"])
    assert joined is not None and joined.text == "59-S1 234.56"
    assert joined.cost > 0


@pytest.mark.parametrize(
    ("raw", "expected", "corrections"),
    [
        # the brief's case: the series position needs a letter
        (["59-51", "234.56"], "59-S1 234.56", 1),
        ("59-51 234.56", "59-S1 234.56", 1),
        # digit positions need digits
        ("5IF-I23.4S", "51F-123.45", 3),
        ("51F-I23.45", "51F-123.45", 1),
        ("51F-1Z3.45", "51F-123.45", 1),
        ("51F-O12.34", "51F-012.34", 1),
        ("51F-D12.34", "51F-012.34", 1),
        ("51F-Q12.34", "51F-012.34", 1),
        ("51F-B88.88", "51F-888.88", 1),
        ("51F-G66.66", "51F-666.66", 1),
        ("51F-A44.44", "51F-444.44", 1),
        ("51F-L23.45", "51F-123.45", 1),
        ("51F-T23.45", "51F-123.45", 1),
        ("S1F-123.45", "51F-123.45", 1),
        ("B0A-123.45", "80A-123.45", 1),
        (["59-X1", "Z34.S6"], "59-X1 234.56", 2),
        (["59-SI", "234.56"], "59-S1 234.56", 1),
        (["59-XL", "2345"], "59-X1 2345", 1),
        # a moped's two-letter series is rare: a second letter that looks like a digit is that digit
        (["58-UB", "8782"], "58-U8 8782", 1),
        ("59-AA 123.45", "59-A4 123.45", 1),
        # letter positions need series letters
        ("510-123.45", "51D-123.45", 1),
        ("51O-123.45", "51D-123.45", 1),
        ("518-123.45", "51B-123.45", 1),
        ("515-123.45", "51S-123.45", 1),
        ("512-123.45", "51Z-123.45", 1),
        ("516-123.45", "51G-123.45", 1),
        ("514-123.45", "51A-123.45", 1),
        ("517-123.45", "51T-123.45", 1),
        (["59-81", "234.56"], "59-B1 234.56", 1),
        (["59-01", "234.56"], "59-D1 234.56", 1),
        (["5B-G1", "234.56"], "58-G1 234.56", 1),
        # a border or bolt read as a character at the end of a line is dropped
        ("151F-123.45", "51F-123.45", 1),
        ("151F-123.451", "51F-123.45", 2),
        (["I59-S1", "234.56"], "59-S1 234.56", 1),
        (["59-S1", "234.561"], "59-S1 234.56", 1),
    ],
)
def test_position_aware_fixes(raw: str | list[str], expected: str, corrections: int) -> None:
    plate = parse(raw)
    assert plate is not None, raw
    assert plate.text == expected
    assert plate.corrections == corrections
    assert plate.cost > 0
    assert 0.5 <= plate.fit < 1.0


def test_fewer_fixes_fit_better() -> None:
    one = parse("51F-I23.45")
    three = parse("5IF-I23.4S")
    assert one is not None and three is not None
    assert one.fit > three.fit


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "-- . --",
        [],
        ["", ""],
        "hello",
        "HONDA",
        "TM-12-34",  # military: no province
        "51F-123",  # too few digits
        "5-123.45",  # no series, one-digit province
        "05F-123.45",  # province below 11
        "10A-123.45",
        "00A-123.45",
        "80QT-123.45",  # Q is never a series letter (diplomatic plates are out of scope)
        "51F-12X.45",  # X looks like no digit
        "51F-12345678",  # too many digits: only one character at each end may be dropped
        ["59-S1"],  # half a motorbike plate
        ["234.56"],
    ],
)
def test_not_a_plate(raw: str | list[str]) -> None:
    assert parse(raw) is None


def test_letters_never_used_in_series_do_not_fit_as_letters() -> None:
    assert not {"I", "J", "O", "Q", "W"} & SERIES_LETTERS
    assert parse("51I-123.45") is None  # I fits no series slot
    assert parse("51O-123.45").text == "51D-123.45"  # type: ignore[union-attr]  # O looks like D


def test_search_key_folds_ocr_confusions() -> None:
    assert search_key("51F-123.45") == "51F12345"
    assert search_key("51F-123.45") == search_key("5IF-I23.4S")
    assert search_key("51f 123 45") == "51F12345"
    assert search_key("59-S1 234.56") == "595123456"
    assert search_key("59-S1 234.56") == search_key("59-51 234.56") == search_key("S9-SI 2E4.56".replace("E", "3"))
    assert search_key("O0DQĐ") == "00000"
    assert search_key("1IL") == "111"
    assert search_key("8B 5S 2Z 6G") == "885522" + "66"
    # what is not a look-alike stays apart
    assert search_key("51F-123.45") != search_key("51F-123.46")
    assert search_key("51A-123.45") != search_key("51F-123.45")
    assert search_key("") == ""


def test_search_key_of_a_parse_is_the_key_of_its_text() -> None:
    plate = parse(["59-51", "234.56"])
    assert plate is not None
    assert plate.key == search_key(plate.text) == search_key("59-S1 234.56")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("51f 12345", "51F-123.45"),
        (" 59 s1 23456 ", "59-S1 234.56"),
        ("51F-I23.45", "51F-123.45"),
        ("59-S1 234.56", "59-S1 234.56"),
        ("ab--12", "AB 12"),
        ("  hello   world ", "HELLO WORLD"),
        ("đ", "Đ"),
        ("", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected
    assert normalise(normalise(raw)) == normalise(raw)


def test_raw_keeps_what_was_read() -> None:
    plate = parse(["59-51 ", " 234.56"])
    assert plate is not None
    assert plate.raw == "59-51 / 234.56"


# Look-alikes an OCR confuses, by the class of the slot they were read in.
DIGIT_AS_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}
LETTER_AS_DIGIT = {"B": "8", "S": "5", "Z": "2", "G": "6", "A": "4", "D": "0", "T": "7"}


def _slip(text: str, rng: random.Random) -> str | None:
    """``text`` with one letter/digit look-alike swapped in, or None if it has no character to swap."""
    spots = [i for i, c in enumerate(text) if c in DIGIT_AS_LETTER or c in LETTER_AS_DIGIT]
    if not spots:
        return None
    i = rng.choice(spots)
    c = text[i]
    return text[:i] + (DIGIT_AS_LETTER.get(c) or LETTER_AS_DIGIT[c]) + text[i + 1 :]


def test_random_plates_round_trip_and_survive_one_slip() -> None:
    rng = random.Random(58)
    checked = 0
    for _ in range(500):
        spec = random_spec(rng)
        plate = parse(spec.text)
        assert plate is not None and plate.text == spec.text, spec
        lines = parse(list(spec.lines))
        assert lines is not None and lines.text == spec.text, spec
        assert lines.lines == len(spec.lines)
        slipped = [_slip(line, rng) for line in spec.lines]
        if any(s is None for s in slipped):
            continue
        one = rng.randrange(len(spec.lines))
        read = [slipped[i] if i == one else spec.lines[i] for i in range(len(spec.lines))]
        fixed = parse(read)
        assert fixed is not None, (spec, read)
        if fixed.corrections == 0:
            continue  # the slip made another valid plate ("73TT-..." read as the motorbike "73T7-...")
        assert fixed.text == spec.text, (spec, read)
        assert fixed.key == search_key(spec.text)
        checked += 1
    assert checked > 350
