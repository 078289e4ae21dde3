"""Vietnamese licence-plate grammar: parse OCR lines into a canonical plate, and fold a plate into a search key.

Plain Python, no Django. What is supported (civil plates, Circular 24/2023/TT-BCA and its predecessors):

========================  ===========================  ====================================================
layout                    canonical text               grammar
========================  ===========================  ====================================================
car, one line (long)      ``51F-123.45``, ``51F-1234``  province (2 digits, 11-99), series of 1 letter, then
                                                       5 digits (``123.45``) or the older 4 (``1234``)
car, two-letter series    ``51LD-123.45``              series of 2 letters: ``LD`` (joint ventures), ``KT``,
                                                       ``MK``, ``TĐ``, ``HC``, and any other pair of series
                                                       letters
car, two lines (square)   ``51F-123.45``               ``51F`` over ``123.45``: written like the long plate
motorbike, two lines      ``59-S1 234.56``,            province, dash, series letter + digit (``X1``), then
                          ``59-X1 2345``               5 digits (``234.56``) or the older 4 (``2345``)
moped < 50 cc, two lines  ``59-AC 123.45``             series of 2 letters, written in the motorbike form;
                                                       a second letter that looks like a digit is taken for
                                                       that digit (``59-XB`` → ``59-X8``, ``59-AA`` →
                                                       ``59-A4``): letter + digit is by far the commoner
                                                       series, and B for 8 the commoner OCR slip
electric motorbike        ``29-MĐ1 123.45``            series of 2 letters + digit
========================  ===========================  ====================================================

Series letters are the 20 of the circular (A B C D E F G H K L M N P S T U V X Y Z), ``R`` (trailers)
and ``Đ`` (in ``TĐ``, ``MĐ``); I, J, O, Q and W never appear in a series. Province ``80`` (central
agencies, e.g. ``80A-123.45``) parses like any other province.

Not supported (``parse`` returns ``None`` or, where the characters happen to fit, the civil form):
military plates (two letters, no province, e.g. ``TM-12-34``), diplomatic and international plates
in their own layout (NG, NN, QT series with a country code: an ``NG``/``NN`` read is written as a
two-letter car series, ``QT`` does not parse because Q is no series letter), temporary plates and
plates of other countries.

How ``parse`` decides. The text is reduced to its letters and digits (separators and OCR noise such
as ``|``, ``·``, ``一`` dropped, full-width forms folded, ``đ`` kept as ``Đ``). Every layout above is
a template of slots, each a digit or a series letter, and the characters are laid on each template
slot by slot at a cost: a character that fits its slot costs nothing; a letter read where a digit
belongs, or the reverse, costs 1 when it is a close look-alike (``0``/``O``/``D``, ``1``/``I``/``L``,
``8``/``B``, ``5``/``S``, ``2``/``Z``, ``6``/``G``, ``4``/``A``, ``7``/``T``: ``59-S1`` read as
``59-51``) and 1.5 for weaker ones (``U``, ``J``, ``W``); one character at either end of a line may
be dropped (a plate border or bolt read as ``1``) for 1.2; anything else does not fit. Two OCR lines
must split exactly between the series and the serial number (the physical line break of a two-line
plate). A separator where the template has none costs 0.9 (``59-S1`` has one after the province,
``51F-`` has none), so ``59-S1 2345`` is a motorbike while ``59S-123.45`` is a car although both
hold the same characters. Rare layouts (two-letter series) start with a cost of their own. The
cheapest template wins (equal costs go to the likelier layout); above a cost of 3 the text is taken
for no plate.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "SERIES_LETTERS",
    "PlateText",
    "normalise",
    "parse",
    "search_key",
]

Kind = Literal["car", "motorbike"]

SERIES_LETTERS = frozenset("ABCDEFGHKLMNPRSTUVXYZĐ")

# Where a digit belongs and a letter was read: the digit it most resembles, with the cost of assuming it.
TO_DIGIT: dict[str, tuple[str, float]] = {
    "O": ("0", 1.0),
    "D": ("0", 1.0),
    "Q": ("0", 1.0),
    "U": ("0", 1.5),
    "Đ": ("0", 1.5),
    "I": ("1", 1.0),
    "L": ("1", 1.0),
    "T": ("1", 1.0),
    "J": ("1", 1.5),
    "Z": ("2", 1.0),
    "A": ("4", 1.0),
    "S": ("5", 1.0),
    "G": ("6", 1.0),
    "B": ("8", 1.0),
}

# Where a series letter belongs and a digit (or a letter never used in a series) was read.
TO_LETTER: dict[str, tuple[str, float]] = {
    "0": ("D", 1.0),
    "O": ("D", 1.0),
    "8": ("B", 1.0),
    "5": ("S", 1.0),
    "2": ("Z", 1.0),
    "6": ("G", 1.0),
    "4": ("A", 1.0),
    "7": ("T", 1.0),
    "1": ("L", 1.0),  # 1, I and L are one look-alike group, and L is the only series letter in it
    "W": ("V", 1.5),
}

# The search key: every member of a look-alike group becomes the group's symbol.
_FOLD = str.maketrans({"O": "0", "D": "0", "Q": "0", "Đ": "0", "I": "1", "L": "1", "B": "8", "S": "5", "Z": "2", "G": "6"})

DROP_END_COST = 1.2  # a character dropped at either end of a line (a border or a bolt read as "1" or "I")
SEPARATOR_COST = 0.9  # a separator where the layout has none
SPLIT_FALLBACK_COST = 0.5  # lines given, but only their concatenation fits a layout
MAX_COST = 3.0  # above this the text is not taken for a plate


@dataclass(frozen=True)
class PlateText:
    """A parsed plate. ``text`` is canonical, ``key`` its search key."""

    text: str
    key: str
    province: str
    series: str
    serial: str
    kind: Kind
    lines: int  # physical lines of the layout: 1 (long car plate) or 2 (square car, motorbike)
    raw: str  # what was parsed, lines joined by " / "
    corrections: int  # characters changed or dropped to fit the grammar
    cost: float  # 0 when the text fitted as read

    @property
    def fit(self) -> float:
        """How well the reading fitted the grammar: 1 as read, 0.8 after one look-alike fix, 0.51 after three."""
        return float(0.8**self.cost)


@dataclass(frozen=True)
class _Template:
    kind: Kind
    series: str  # slot classes of the series: "L", "LL", "LD", "LLD"
    serial: int  # 4 or 5 digits
    lines: int  # the layout it is written in when it wins
    prior: float  # the cost of assuming this rarer layout at all

    @property
    def slots(self) -> str:
        return "DD" + self.series + "D" * self.serial

    @property
    def head(self) -> int:
        return 2 + len(self.series)

    def boundaries(self) -> frozenset[int]:
        """Slot indices before which a separator is expected."""
        marks = {self.head}
        if self.kind == "motorbike":
            marks.add(2)
        if self.serial == 5:
            marks.add(self.head + 3)
        return frozenset(marks)


# Two-letter series are rare, so they cost a little. A moped's two letters cost more than one
# look-alike fix ("59-X8" read as "59-XB" is far likelier than a moped series "XB") but less than
# a car's two letters with a separator after the province ("59-AC" is a moped, not a car "59AC").
RARE_SERIES = 0.25
MOPED_SERIES = 1.05


def _templates(*specs: tuple[Kind, str, int, int, float]) -> tuple[_Template, ...]:
    return tuple(_Template(kind, series, serial, lines, prior) for kind, series, serial, lines, prior in specs)


# In order of preference when two fit equally well.
_ONE_LINE = _templates(
    ("car", "L", 5, 1, 0),
    ("car", "L", 4, 1, 0),
    ("motorbike", "LD", 5, 2, 0),
    ("motorbike", "LD", 4, 2, 0),
    ("car", "LL", 5, 1, RARE_SERIES),
    ("car", "LL", 4, 1, RARE_SERIES),
    ("motorbike", "LLD", 5, 2, RARE_SERIES),
    ("motorbike", "LLD", 4, 2, RARE_SERIES),
    ("motorbike", "LL", 5, 2, MOPED_SERIES),
    ("motorbike", "LL", 4, 2, MOPED_SERIES),
)
_TWO_LINES = _templates(
    ("motorbike", "LD", 5, 2, 0),
    ("motorbike", "LD", 4, 2, 0),
    ("car", "L", 5, 2, 0),
    ("car", "L", 4, 2, 0),
    ("motorbike", "LLD", 5, 2, RARE_SERIES),
    ("motorbike", "LLD", 4, 2, RARE_SERIES),
    ("car", "LL", 5, 2, RARE_SERIES),
    ("car", "LL", 4, 2, RARE_SERIES),
    ("motorbike", "LL", 5, 2, MOPED_SERIES),
    ("motorbike", "LL", 4, 2, MOPED_SERIES),
)


@dataclass(frozen=True)
class _Chars:
    """The letters and digits of a text, and where separators stood between them."""

    chars: str
    breaks: frozenset[int]  # i: a separator stood before chars[i]

    @classmethod
    def of(cls, text: str) -> _Chars:
        text = unicodedata.normalize("NFKC", text).upper()
        text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
        text = unicodedata.normalize("NFC", text)
        chars: list[str] = []
        breaks: set[int] = set()
        for c in text:
            if ("A" <= c <= "Z") or ("0" <= c <= "9") or c == "Đ":
                chars.append(c)
            elif chars:
                breaks.add(len(chars))
        breaks.discard(len(chars))
        return cls("".join(chars), frozenset(breaks))


def _slot_cost(char: str, slot: str) -> tuple[str, float]:
    if slot == "D":
        if char.isdigit():
            return char, 0.0
        return TO_DIGIT.get(char, (char, math.inf))
    if char in SERIES_LETTERS:
        return char, 0.0
    return TO_LETTER.get(char, (char, math.inf))


@dataclass(frozen=True)
class _Aligned:
    cost: float
    text: str
    changes: int


def _align(chars: _Chars, slots: str, *, offset: int, allowed: frozenset[int]) -> _Aligned | None:
    """Best fit of chars to slots (slot ``offset`` onwards of a template whose separators go before ``allowed``).

    Only a first or last character may be dropped, so the candidates are few: try them all.
    """
    best: _Aligned | None = None
    n, m = len(chars.chars), len(slots)
    for first in (0, 1):
        for last in (0, 1):
            if n - first - last != m:
                continue
            cost = (first + last) * DROP_END_COST
            out = []
            for j, slot in enumerate(slots):
                fitted, c = _slot_cost(chars.chars[first + j], slot)
                cost += c
                out.append(fitted)
            for b in chars.breaks:
                j = b - first
                if 0 < j < m and j + offset not in allowed:
                    cost += SEPARATOR_COST
            if cost > MAX_COST or (best is not None and cost >= best.cost):
                continue
            text = "".join(out)
            changes = first + last + sum(a != b for a, b in zip(text, chars.chars[first:], strict=False))
            best = _Aligned(cost, text, changes)
    return best


@dataclass(frozen=True)
class _Fit:
    cost: float
    rank: int
    template: _Template
    text: str
    changes: int


def _fit_joined(chars: _Chars, templates: Sequence[_Template]) -> list[_Fit]:
    fits = []
    for rank, template in enumerate(templates):
        found = _align(chars, template.slots, offset=0, allowed=template.boundaries())
        if found is not None:
            fits.append(_Fit(found.cost + template.prior, rank, template, found.text, found.changes))
    return fits


def _fit_split(head: _Chars, tail: _Chars, templates: Sequence[_Template]) -> list[_Fit]:
    fits = []
    for rank, template in enumerate(templates):
        allowed = template.boundaries()
        top = _align(head, template.slots[: template.head], offset=0, allowed=allowed)
        bottom = _align(tail, template.slots[template.head :], offset=template.head, allowed=allowed)
        if top is not None and bottom is not None:
            fits.append(
                _Fit(
                    top.cost + bottom.cost + template.prior, rank, template, top.text + bottom.text, top.changes + bottom.changes
                )
            )
    return fits


def _format(kind: Kind, province: str, series: str, serial: str) -> str:
    number = f"{serial[:3]}.{serial[3:]}" if len(serial) == 5 else serial
    if kind == "motorbike":
        return f"{province}-{series} {number}"
    return f"{province}{series}-{number}"


def parse(raw_text_lines: str | Sequence[str]) -> PlateText | None:
    """Parse OCR output (a string, or the plate's lines top to bottom) into a canonical plate, or None.

    Letters read where digits belong and digits read where letters belong are fixed by position
    (``59-51 234.56`` → ``59-S1 234.56``, ``5IF-I23.4S`` → ``51F-123.45``); see the module docstring.
    """
    given = [raw_text_lines] if isinstance(raw_text_lines, str) else list(raw_text_lines)
    lines = [_Chars.of(part) for line in given for part in line.splitlines()]
    lines = [line for line in lines if line.chars]
    if not lines:
        return None
    raw = " / ".join(" ".join(line.split()) for line in given if line.strip())

    fits: list[_Fit] = []
    if len(lines) >= 2:
        for k in range(1, len(lines)):
            fits += _fit_split(_join(lines[:k]), _join(lines[k:]), _TWO_LINES)
        if not fits:
            fits = [
                _Fit(f.cost + SPLIT_FALLBACK_COST, f.rank, f.template, f.text, f.changes)
                for f in _fit_joined(_join(lines), _ONE_LINE)
            ]
    else:
        fits = _fit_joined(lines[0], _ONE_LINE)
    fits = [f for f in fits if f.cost <= MAX_COST and 11 <= int(f.text[:2]) <= 99]
    if not fits:
        return None
    best = min(fits, key=lambda f: (round(f.cost, 6), f.rank))
    template = best.template
    province, series, serial = best.text[:2], best.text[2 : template.head], best.text[template.head :]
    text = _format(template.kind, province, series, serial)
    return PlateText(
        text=text,
        key=search_key(text),
        province=province,
        series=series,
        serial=serial,
        kind=template.kind,
        lines=template.lines,
        raw=raw,
        corrections=best.changes,
        cost=round(best.cost - template.prior, 3),
    )


def _join(lines: Sequence[_Chars]) -> _Chars:
    """Lines as one text, with a separator where one line ends and the next begins."""
    chars = ""
    marks: set[int] = set()
    for line in lines:
        if chars:
            marks.add(len(chars))
        marks.update(len(chars) + b for b in line.breaks)
        chars += line.chars
    return _Chars(chars, frozenset(marks))


def search_key(text: str) -> str:
    """Separators dropped and look-alikes folded (0/O/D/Q, 1/I/L, 8/B, 5/S, 2/Z, 6/G): ``51F-123.45`` → ``51F12345``.

    Two readings of one plate that differ only by such OCR slips share a key (``5IF-I23.4S`` too).
    """
    return _Chars.of(text).chars.translate(_FOLD)


def normalise(text: str) -> str:
    """Canonical plate text: the grammar's form when the text parses (``51f 12345`` → ``51F-123.45``).

    Text that is no plate under the grammar is upper-cased with its separators reduced to single
    spaces (``ab--12`` → ``AB 12``), so that it can still be stored and searched.
    """
    plate = parse(text)
    if plate is not None:
        return plate.text
    chars = _Chars.of(text)
    out = []
    for i, c in enumerate(chars.chars):
        if i in chars.breaks:
            out.append(" ")
        out.append(c)
    return "".join(out)
