"""Figures printed exactly as entered.

Amounts (万元, 元) keep up to six decimals (``xlsxgen.spec.domain.AMOUNT_PLACES``): published reports
state fees to the 分 in 万元 (``5949.088667``). A figure is never rounded for
printing; it is written as the agency entered it:

* an ``int`` as is (``107``);
* a :class:`decimal.Decimal` with its own digits (``Decimal("5949.0880")`` →
  ``5949.0880``: trailing zeros kept);
* a :class:`Written` float (a number read from text that keeps how it was
  written, e.g. a JSON literal ``5949.0880``) as that text, normalised
  (``+.50`` → ``0.50``);
* any other float as the shortest of its 15 significant digits — what a
  spreadsheet shows in its General format (``5949.088667``, ``0.3`` for
  ``0.1 + 0.2``), never in exponent notation.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

SIGNIFICANT = 15  # digits a float carries reliably (and a spreadsheet shows)


class Written(float):
    """A float that remembers the text it was read from (``"5949.0880"``).

    It is a float everywhere (arithmetic, comparisons, JSON output); only
    :func:`exact` looks at :attr:`text`, to print the figure as it was written.
    Use it as ``json.loads(..., parse_float=Written)``.
    """

    __slots__ = ("text",)

    def __new__(cls, text):
        obj = super().__new__(cls, text)
        obj.text = str(text)
        return obj

    def __reduce__(self):  # pickling (worker processes) keeps the text
        return (Written, (self.text,))

    def __str__(self):  # messages show the figure as typed; repr() and JSON stay a float's
        return exact(self)


def _plain(d: Decimal) -> str:
    s = format(d, "f")
    return "0" if s in ("-0", "+0") else s


def exact(v) -> str:
    """``v`` as entered (see the module docstring); ``""`` for None."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        return _plain(v) if v.is_finite() else str(v)
    text = getattr(v, "text", None)
    if text is not None:
        try:
            d = Decimal(text.strip())
        except (decimal.InvalidOperation, ValueError):
            d = None
        if d is not None and d.is_finite() and float(d) == float(v):
            return _plain(d)
    f = float(v)
    if f != f or f in (float("inf"), float("-inf")):
        return str(f)
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    s = _plain(Decimal(f"{f:.{SIGNIFICANT}g}"))
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def decimals(v) -> int:
    """Number of decimals of ``v`` as :func:`exact` prints it (trailing zeros not counted)."""
    s = exact(v)
    if "." not in s:
        return 0
    return len(s.split(".", 1)[1].rstrip("0"))
