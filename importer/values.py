"""How a typed figure is read: what is accepted, with or without a warning, and what is an error.

The same rules apply to a workbook cell and to a JSON value:

=====================================  ===========================================
accepted as is                         a number; a count may be 12.0; a signed
                                       count (本年增/减) may be negative
accepted with a warning (the value)    number stored as text, full-width digits,
                                       spaces around it, thousands separators
accepted as 0 with a warning           blank; -, /, —, 无 (and their full-width forms)
error (no value)                       negative; decimals in a count; booleans;
                                       error values (#VALUE!); any other text;
                                       outside the domain (:mod:`xlsxgen.spec.domain`:
                                       counts 0 … 10^9, amounts < 10^9 with at most
                                       6 decimals); a formula; a number cell whose
                                       stored text no spreadsheet reads as a number
=====================================  ===========================================

:func:`read_cell` and :func:`read_json_value` return a :class:`Reading`: the
value (``None`` when it is an error) and, when something is worth saying, the
finding code and the original text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

from xlsxgen.numbers import Written
from xlsxgen.spec.domain import AMOUNT_PLACES, INTEGER_KINDS, bounds, decimal_of, places

COUNT_TOLERANCE = 1e-9  # a stored count of 12.000000000001 (15-digit noise of a spreadsheet) is 12
AMOUNT_TOLERANCE = 1e-6
_COUNT_NOISE = Decimal("1e-9")

# full-width digits and signs, full-width and no-break spaces
_FULL_WIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}
_FULL_WIDTH.update({0xFF0E: ord("."), 0xFF0C: ord(","), 0xFF0D: ord("-"), 0xFF0B: ord("+"), 0xFF0F: ord("/"),
                    0x3002: ord(".")})
_SPACES = {0x3000: ord(" "), 0x00A0: ord(" "), 0x2002: ord(" "), 0x2003: ord(" "), 0x2009: ord(" "),
           0x202F: ord(" ")}
PLACEHOLDERS = frozenset({"-", "/", "—", "——", "–", "无", "－", "／", "─", "-/-"})
# ASCII only: str.isdigit(), int() and float() also take Arabic-Indic, superscript and full-width digits and
# underscores, which no spreadsheet reads as a number
_PLAIN = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$", re.ASCII)
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$", re.ASCII)
# what a spreadsheet reads from a number cell's <v> (xsd:double, lexically)
_STORED = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$", re.ASCII)
ERROR_VALUES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA")
KNOWN_TYPES = ("n", "s", "str", "inlineStr", "b", "e", "d")
MAX_SHOWN = 40  # characters of a value quoted in a message


class Reading(NamedTuple):
    value: float | int | None  # None: unusable (an error finding applies)
    code: str | None = None  # finding code, or None when all is well
    text: object = None  # what was there, for the message (clipped)

    @property
    def ok(self) -> bool:
        return self.value is not None


def clip(text) -> object:
    """A value quoted in a message: long texts shortened (a 5,000-digit number stays readable)."""
    if isinstance(text, str) and len(text) > MAX_SHOWN:
        return f"{text[:24]}…（共 {len(text)} 个字符）"
    return text


def _decimal(d: Decimal, kind: str, text, noise: bool = False) -> Reading:
    """Checks on an exact number: sign, domain, integer counts, amount places.

    ``noise``: ``d`` is a spreadsheet's stored double (15 significant digits
    are what it shows; digits beyond are noise of binary floating point).
    """
    lo, hi = bounds(kind)
    if d < 0 and lo == 0:
        return Reading(None, "value.negative", text)
    if d < lo or d > hi or (d == hi and kind not in INTEGER_KINDS):
        return Reading(None, "value.out_of_range", text)
    if noise:
        d = Decimal(f"{float(d):.15g}")
    if kind in INTEGER_KINDS:
        r = d.to_integral_value()
        if d != r and not (noise and abs(d - r) <= _COUNT_NOISE):
            return Reading(None, "value.decimal_in_count", text)
        return Reading(int(r))
    if places(d) > AMOUNT_PLACES:
        q = d.quantize(Decimal(1).scaleb(-AMOUNT_PLACES))
        if not (noise and abs(d - q) <= Decimal("1e-9") * max(1, abs(d))):
            return Reading(None, "value.amount_precision", text)
        d = q
    return Reading(int(d) if d == d.to_integral_value() else Written(str(d)))  # as written: 5949.0880


def read_text(text: str, kind: str) -> Reading:
    """A figure typed as text."""
    original = clip(text)
    t = text.translate(_SPACES)
    full = t.translate(_FULL_WIDTH)
    code = "value.full_width" if full != t else None
    stripped = full.strip()
    if not stripped:
        return Reading(0, "value.blank", original)
    if stripped in PLACEHOLDERS or stripped.replace(" ", "") in PLACEHOLDERS:
        return Reading(0, "value.placeholder", original)
    if stripped.upper() in ERROR_VALUES:
        return Reading(None, "value.error_value", original)
    if code is None and stripped != full:
        code = "value.whitespace"
    if _GROUPED.match(stripped):
        stripped = stripped.replace(",", "")
        code = code or "value.thousands_separator"
    if not _PLAIN.match(stripped):
        return Reading(None, "value.not_a_number", original)
    d = decimal_of(stripped)
    if d is None:
        return Reading(None, "value.out_of_range", original)
    r = _decimal(d, kind, original)
    if r.code is not None:  # an error says more than the text warning
        return r
    return Reading(r.value, code or "value.text_number", original)


def read_cell(raw: str | None, cell_type: str | None, kind: str) -> Reading:
    """A figure from a workbook cell: ``raw`` is the <v> text (strings resolved), ``cell_type`` its t=.

    The stored value is read as a spreadsheet reads it: a number cell's text
    must be a plain number (``１２``, ``١٢``, ``1_000``, ``²`` are not — Excel
    and LibreOffice show 0, blank or another number); a cell type no
    spreadsheet knows shows blank. Either is reported at the cell.
    """
    if cell_type == "n" and raw and len(raw) < 10 and raw.isascii() and raw.isdigit():  # the common case
        return Reading(int(raw))
    if cell_type in ("s", "str", "inlineStr"):
        return read_text(raw or "", kind)
    if cell_type not in KNOWN_TYPES and cell_type is not None:
        return Reading(None, "value.unreadable_number", clip(f"{raw or ''}（单元格类型 {cell_type}）"))
    if raw is None or raw == "":
        return Reading(0, "value.blank", "")
    if cell_type == "b":
        return Reading(None, "value.boolean", "TRUE" if raw in ("1", "true") else "FALSE")
    if cell_type == "e":
        return Reading(None, "value.error_value", clip(raw))
    if cell_type == "d":  # ISO date cell: not a figure
        return Reading(None, "value.not_a_number", clip(raw))
    raw = raw.strip(" \t\r\n")  # XML whitespace around a stored number: spreadsheets read " 12" as 12
    if not _STORED.match(raw):
        if raw.strip().lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
            return Reading(None, "value.not_a_number", clip(raw))
        return Reading(None, "value.unreadable_number", clip(raw))
    d = decimal_of(raw)
    if d is None:
        return Reading(None, "value.out_of_range", clip(raw))
    return _decimal(d, kind, clip(raw), noise=True)


class BigNumber(str):
    """A JSON number too long to be converted safely (kept as its text; see :func:`read_json_value`)."""


def read_json_value(v, kind: str) -> Reading:
    """A figure from canonical JSON (untrusted)."""
    if v is None:
        return Reading(0, "value.blank", None)
    if isinstance(v, bool):
        return Reading(None, "value.boolean", "true" if v else "false")
    if isinstance(v, BigNumber):
        d = decimal_of(v) if _STORED.match(v) else None
        return Reading(None, "value.out_of_range", clip(str(v))) if d is None else _decimal(d, kind, clip(str(v)))
    if isinstance(v, int):
        return _decimal(Decimal(v), kind, v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return Reading(None, "value.not_a_number", v)
        return _decimal(Decimal(getattr(v, "text", None) or repr(v)), kind, v)  # Written: the JSON literal
    if isinstance(v, str):
        return read_text(v, kind)
    return Reading(None, "value.not_a_number", type(v).__name__)


def same(a, b) -> bool:
    """Two figures equal within the amount tolerance (False when either is not a finite number)."""
    try:
        a, b = float(a), float(b)
    except (OverflowError, ValueError, TypeError):
        return False
    return abs(a - b) <= AMOUNT_TOLERANCE * max(1.0, abs(a), abs(b))
