"""Plate search: exact, partial (wildcards) and fuzzy (one edit away) matching on the search key.

Everything works on the *folded* key (``grammar.search_key``: separators dropped, OCR look-alikes
folded), so ``51F-l23.4S`` and ``51F-123.45`` are one plate to every mode.

- exact: ``search_key = key`` (index ``(ward, search_key, -seen_at)``);
- partial: ``*`` stands for any run of characters and ``?`` for one (``51F-*``, ``*123.45``,
  ``59-X1 2??.56``); without a wildcard the text may stand anywhere in the plate. Written as SQL
  ``LIKE``, which a trigram index (PostgreSQL, ``pg_trgm``) serves even with a leading wildcard;
- fuzzy: every key one substitution, insertion or deletion away, listed and looked up with
  ``search_key = ANY(...)`` (``IN`` on SQLite): a few hundred index probes, one parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, Lookup
from django.utils.translation import gettext as _

from analytics.plates.grammar import search_key

__all__ = ["FOLDED_ALPHABET", "MIN_LITERALS", "AnyOf", "Like", "PatternError", "fuzzy_keys", "like_pattern", "match_filter"]

# What a folded key is made of: digits and the letters that no look-alike folds away.
FOLDED_ALPHABET = "0123456789" + "".join(sorted(set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") - set("ODQILBSZG")))
MIN_LITERALS = 3
MATCH_MODES = ("exact", "partial", "fuzzy")


class PatternError(ValueError):
    """A plate or pattern that cannot be searched for; the message says what to fix."""


@CharField.register_lookup
class Like(Lookup):
    """``field LIKE pattern`` with the pattern as given (``%`` and ``_`` are wildcards)."""

    lookup_name = "plate_like"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", [*lhs_params, *rhs_params]


@CharField.register_lookup
class AnyOf(Lookup):
    """``field = ANY(array)`` on PostgreSQL (one parameter however many keys), ``IN (…)`` elsewhere."""

    lookup_name = "plate_any"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [str(v) for v in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::text[])", [*lhs_params, values]
        return f"{lhs} IN ({', '.join('%s' for _ in values)})", [*lhs_params, *values]


def exact_key(plate: str) -> str:
    key = search_key(plate)
    if not key:
        raise PatternError(_("Give a plate with letters or digits, e.g. 51F-123.45."))
    return key


def like_pattern(pattern: str) -> str:
    """``51F-*`` → ``51F%``, ``59-X1 2??.56`` → ``59X12__56``; no wildcard → ``%text%``."""
    out: list[str] = []
    run: list[str] = []
    literals = 0

    def close_run() -> None:
        nonlocal literals
        folded = search_key("".join(run))
        literals += len(folded)
        out.append(folded)
        run.clear()

    for char in pattern:
        if char in "*?":
            close_run()
            out.append("%" if char == "*" else "_")
        else:
            run.append(char)
    close_run()
    like = "".join(out)
    while "%%" in like:
        like = like.replace("%%", "%")
    if literals < MIN_LITERALS:
        raise PatternError(
            _("This pattern would match almost every plate: give at least %(n)d letters or digits besides * and ?.")
            % {"n": MIN_LITERALS}
        )
    if "%" not in like and "_" not in like:
        like = f"%{like}%"
    return like


def fuzzy_keys(key: str) -> list[str]:
    """The key and every key one edit (substitution, insertion, deletion) away from it."""
    found = {key}
    for i in range(len(key) + 1):
        for c in FOLDED_ALPHABET:
            found.add(key[:i] + c + key[i:])
        if i < len(key):
            found.add(key[:i] + key[i + 1 :])
            for c in FOLDED_ALPHABET:
                found.add(key[:i] + c + key[i + 1 :])
    return sorted(k for k in found if k and len(k) <= 32)


@dataclass(frozen=True)
class Match:
    mode: str
    key: str  # the folded key (exact, fuzzy) or the LIKE pattern (partial)
    lookup: dict[str, Any]


def match_filter(plate: str, mode: str) -> Match:
    """The queryset filter for one plate or pattern in one mode."""
    if mode == "partial":
        like = like_pattern(plate)
        return Match(mode, like, {"search_key__plate_like": like})
    if "*" in plate or "?" in plate:
        raise PatternError(_("* and ? are wildcards of a partial search: add match=partial, or leave them out."))
    key = exact_key(plate)
    if mode == "fuzzy":
        return Match(mode, key, {"search_key__plate_any": fuzzy_keys(key)})
    return Match(mode, key, {"search_key": key})
