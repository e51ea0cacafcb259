"""How a typed figure is read: what is accepted, with or without a warning, and what is an error.

The same rules apply to a workbook cell and to a JSON value:

=====================================  ===========================================
accepted as is                         a number; a count may be 12.0; a signed
                                       count (本年增/减) may be negative
accepted with a warning (the value)    number stored as text, full-width digits,
                                       spaces around it, thousands separators
accepted as 0 with a warning           blank; -, /, —, 无 (and their full-width forms)
error (no value)                       negative; decimals in a count; booleans;
                                       error values (#VALUE!); any other text
warning, value kept                    an amount with more than 6 decimals
=====================================  ===========================================

:func:`read_cell` and :func:`read_json_value` return a :class:`Reading`: the
value (``None`` when it is an error) and, when something is worth saying, the
finding code and the original text.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from xlsxgen.numbers import AMOUNT_DECIMALS, Written

INTEGER_KINDS = ("count", "signed_count", "year")  # whole numbers
SIGNED_KINDS = ("signed_count",)  # may be negative (本年增/减)
COUNT_TOLERANCE = 1e-9
AMOUNT_TOLERANCE = 1e-6

# full-width digits and signs, full-width and no-break spaces
_FULL_WIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}
_FULL_WIDTH.update({0xFF0E: ord("."), 0xFF0C: ord(","), 0xFF0D: ord("-"), 0xFF0B: ord("+"), 0xFF0F: ord("/"),
                    0x3002: ord(".")})
_SPACES = {0x3000: ord(" "), 0x00A0: ord(" "), 0x2002: ord(" "), 0x2003: ord(" "), 0x2009: ord(" "),
           0x202F: ord(" ")}
PLACEHOLDERS = frozenset({"-", "/", "—", "——", "–", "无", "－", "／", "─", "-/-"})
_PLAIN = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
ERROR_VALUES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA")


class Reading(NamedTuple):
    value: float | int | None  # None: unusable (an error finding applies)
    code: str | None = None  # finding code, or None when all is well
    text: object = None  # what was there, for the message

    @property
    def ok(self) -> bool:
        return self.value is not None


def _number(v: float, kind: str, text) -> Reading:
    """Checks on a number once it is a number: sign, integer counts, amount precision."""
    if math.isnan(v) or math.isinf(v):
        return Reading(None, "value.not_a_number", text)
    if v < 0 and kind not in SIGNED_KINDS:
        return Reading(None, "value.negative", text)
    if kind in INTEGER_KINDS:
        r = round(v)
        if abs(v - r) > COUNT_TOLERANCE:
            return Reading(None, "value.decimal_in_count", text)
        return Reading(int(r))
    out = v if isinstance(v, Written) else (int(v) if float(v).is_integer() else v)  # Written: as typed
    scaled = v * 10**AMOUNT_DECIMALS
    frac = abs(scaled - round(scaled))
    if frac > AMOUNT_TOLERANCE and frac > abs(scaled) * 1e-12:
        return Reading(out, "value.amount_precision", text)
    return Reading(out)


def read_text(text: str, kind: str) -> Reading:
    """A figure typed as text."""
    original = text
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
    r = _number(Written(stripped) if kind == "amount" else float(stripped), kind, original)
    if r.code is not None:  # an error (or a precision warning) says more than the text warning
        return r
    return Reading(r.value, code or "value.text_number", original)


def read_cell(raw: str | None, cell_type: str | None, kind: str) -> Reading:
    """A figure from a workbook cell: ``raw`` is the <v> text (strings resolved), ``cell_type`` its t=."""
    if cell_type == "n" and raw and raw.isdigit():  # the common case: a plain non-negative integer
        return Reading(int(raw))
    if cell_type in ("s", "str", "inlineStr"):
        return read_text(raw or "", kind)
    if raw is None or raw == "":
        return Reading(0, "value.blank", "")
    if cell_type == "b":
        return Reading(None, "value.boolean", "TRUE" if raw in ("1", "true") else "FALSE")
    if cell_type == "e":
        return Reading(None, "value.error_value", raw)
    if cell_type == "d":  # ISO date cell: not a figure
        return Reading(None, "value.not_a_number", raw)
    try:
        v = float(raw)
    except ValueError:
        return Reading(None, "value.not_a_number", raw)
    return _number(v, kind, raw)


def read_json_value(v, kind: str) -> Reading:
    """A figure from canonical JSON (untrusted)."""
    if v is None:
        return Reading(0, "value.blank", None)
    if isinstance(v, bool):
        return Reading(None, "value.boolean", "true" if v else "false")
    if isinstance(v, int):
        return Reading(None, "value.negative", v) if v < 0 and kind not in SIGNED_KINDS else Reading(v)
    if isinstance(v, float):
        return _number(v, kind, v)
    if isinstance(v, str):
        return read_text(v, kind)
    return Reading(None, "value.not_a_number", type(v).__name__)


def same(a, b) -> bool:
    """Two figures equal within the amount tolerance."""
    return abs(float(a) - float(b)) <= AMOUNT_TOLERANCE * max(1.0, abs(float(a)), abs(float(b)))
