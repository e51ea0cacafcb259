"""The numeric domain of every figure, decided once (issue 11).

=================  ==========================================================
kind               values accepted
=================  ==========================================================
``count``          integers 0 … 10^9
``signed_count``   integers −10^9 … 10^9 (本年增/减)
``year``           integers 0 … 10^9 (as counts)
``amount``         decimals 0 ≤ x < 10^9 with at most 6 decimal places
=================  ==========================================================

Representation: counts are Python ``int``; an amount is a Python ``float``
(an ``int`` when integral). Within this domain an amount has at most 15
significant digits (9 before the point, 6 after), so the double holding it
is the nearest double to exactly one such decimal, and ``repr(value)`` gives
that decimal back: ``decimal.Decimal(repr(v))`` is the amount exactly as it
was typed, to the last of its 6 places (a spreadsheet keeps 15 significant
digits too). Sums of in-domain figures stay far below 2^53, so every total
is exact for counts and within 1e-6 for amounts.

Everything outside the domain is refused by the importer with a finding at
its cell (``value.out_of_range``, ``value.amount_precision``); writers use
:func:`writable` for values that come from elsewhere (a collection store
filled by an older release), so that no stored value can crash them.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

COUNT_MAX = 10**9
AMOUNT_LIMIT = 10**9  # amounts are < AMOUNT_LIMIT
AMOUNT_PLACES = 6
INTEGER_KINDS = ("count", "signed_count", "year")
SIGNED_KINDS = ("signed_count",)
MAX_EXACT = 2**53  # integers above this are not exact as a double (a spreadsheet cell)


def bounds(kind: str) -> tuple[int, int]:
    """(lowest, highest) of ``kind``; amounts exclude the highest."""
    if kind in SIGNED_KINDS:
        return -COUNT_MAX, COUNT_MAX
    if kind in INTEGER_KINDS:
        return 0, COUNT_MAX
    return 0, AMOUNT_LIMIT


def describe(kind: str) -> str:
    """The domain of ``kind`` in Chinese, for messages."""
    if kind in SIGNED_KINDS:
        return "−1000000000 至 1000000000 之间的整数（可为负）"
    if kind in INTEGER_KINDS:
        return "0 至 1000000000 之间的整数"
    return f"0 至 1000000000 之间（不含 1000000000）、最多 {AMOUNT_PLACES} 位小数的数"


def in_domain(v, kind: str) -> bool:
    """True when ``v`` (int/float) is a value of ``kind``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    lo, hi = bounds(kind)
    if isinstance(v, float):
        if not math.isfinite(v):
            return False
        if kind in INTEGER_KINDS:
            return v.is_integer() and lo <= v <= hi
        return lo <= v < hi and places(Decimal(repr(v))) <= AMOUNT_PLACES
    if kind in INTEGER_KINDS:
        return lo <= v <= hi
    return lo <= v < hi


def places(d: Decimal) -> int:
    """Decimal places of ``d`` once trailing zeros are dropped (0 for integers).

    Exact for any number of digits (``Decimal.normalize`` would round to the
    context's 28 digits and call 12.0000000000000000000000000001 an integer).
    """
    _sign, digits, exp = d.as_tuple()
    if not isinstance(exp, int) or exp >= 0:
        return 0
    i = len(digits)
    while exp < 0 and i > 0 and digits[i - 1] == 0:
        i -= 1
        exp += 1
    return -exp


def decimal_of(text: str) -> Decimal | None:
    """``text`` as an exact Decimal (plain ASCII number syntax assumed checked by the caller), or None."""
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def writable(v):
    """``v`` as a number a writer can put in a spreadsheet cell or JSON, or None.

    Any value a store may hold (an older release kept 401-digit integers and
    infinities): an int beyond 2^53 or a float that is not finite gives None,
    never an exception. Booleans and non-numbers give None too.
    """
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if -MAX_EXACT <= v <= MAX_EXACT else None
    if isinstance(v, float):
        return v if math.isfinite(v) and abs(v) <= MAX_EXACT else None
    return None


def doc_in_domain(spec, doc) -> bool:
    """True when every figure of the canonical object ``doc`` (as a store holds it) is in the domain.

    Inputs are checked against their kind, totals only for being writable
    (a total of in-domain inputs may exceed 10^9). Missing values are fine.
    """
    if not isinstance(doc, dict):
        return False
    tables = doc.get("tables") or {}
    if not isinstance(tables, dict):
        return False
    for t in spec.tables:
        rows = tables.get(t.key) or {}
        if not isinstance(rows, dict):
            return False
        for (rk, ck), kind in t.kinds.items():
            row = rows.get(rk) or {}
            v = row.get(ck) if isinstance(row, dict) else None
            if v is None:
                continue
            if kind == "total":
                if writable(v) is None:
                    return False
            elif not in_domain(v, kind):
                return False
    narrative = doc.get("narrative") or {}
    if isinstance(narrative, dict):
        for f in spec.narrative_fields:
            v = narrative.get(f.key)
            if f.kind in ("count", "amount") and v is not None and not in_domain(v, f.kind):
                return False
    return True
