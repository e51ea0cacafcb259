"""Small Jinja filters for Chinese report wording (registered on every report environment).

=================  ==========================================================
``num``            a figure as written in a report: ``107``, ``0.35``, ``96171.6``
                   (integers without ``.0``, amounts without trailing zeros)
``pct``            a ratio as a percentage: ``0.10909 → 10.9%``, ``1 → 100%``
``cn``             an integer in Chinese numerals, for enumerations: ``3 → 三``,
                   ``12 → 十二`` (``（{{ 2|cn }}）`` → ``（二）``)
``paragraphs``     the paragraphs (non-empty lines) of a text, as a list
``split_lead``     ``[lead, rest]``: the text's first sentence when it is a short
                   run-in heading (``主动公开进一步加强。``), else ``["", text]``
``lead``           marks text as a run-in heading (楷体 in DOCX, bold in Markdown)
``unnumbered``     an agency text without its own leading numbering (``（一）``,
                   ``一、``, ``1.``) and without a first line that only repeats
                   the heading: the report numbers it (``text|unnumbered(label)``)
=================  ==========================================================

Figures (:class:`xlsxgen.render.context.Figure`) and plain numbers are both accepted.
"""

from __future__ import annotations

import re

from xlsxgen.numbers import exact
from xlsxgen.render import markup

_DIGITS = "零一二三四五六七八九"


def _raw(v):
    """The number behind a Figure (or the value itself)."""
    return getattr(v, "value", v)


def format_number(v) -> str:
    """A figure exactly as entered (:func:`xlsxgen.numbers.exact`): ``107``, ``5949.088667``,
    ``5949.0880`` when the source kept the trailing zero; never rounded."""
    return exact(v)


def num(v) -> str:
    if hasattr(v, "value") and hasattr(v, "missing"):
        return str(v)  # a Figure formats itself (placeholder when missing)
    return format_number(v)


def format_percent(ratio, digits: int = 1) -> str:
    if ratio is None:
        return ""
    return format_number(round(float(ratio) * 100, digits)) + "%"


def pct(v, digits: int = 1) -> str:
    if hasattr(v, "value") and hasattr(v, "missing"):  # a Figure
        if v.missing or v.value is None:
            return str(v)  # its placeholder
        return format_percent(float(v), digits)
    return format_percent(v, digits)


def cn(n) -> str:
    """Chinese numerals for 0–9999 (enumerations: 一、二、…十一…)."""
    n = int(_raw(n))
    if n < 0 or n > 9999:
        return str(n)
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    out = ""
    units = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
    zero = False
    for size, name in units:
        d = n // size % 10
        if d:
            if zero and out:
                out += "零"
            out += _DIGITS[d] + name
            zero = False
        elif out:
            zero = True
    return out


def paragraphs(text) -> list[str]:
    """The non-empty lines of a text (a missing text gives its placeholder)."""
    if text is None:
        return []
    return [p.strip() for p in str(text).split("\n") if p.strip()]


def split_lead(text, max_len: int = 30) -> list[str]:
    """Split off a short first sentence ending in 。 as a run-in heading."""
    if getattr(text, "missing", False) or text is None:
        return ["", text]
    s = str(text)
    first, nl, more = s.partition("\n")
    end = first.find("。")
    if 0 < end < max_len and end + 1 < len(first):
        lead = first[: end + 1]
        rest = first[end + 1 :] + nl + more
        if markup.SENTINELS & set(lead):
            return ["", text]
        return [lead, rest]
    return ["", text]


def lead(text) -> str:
    return markup.mark("L", str(text))


_CN_NUM = "一二三四五六七八九十百"
_NUMBERING = (  # (style, pattern) of a leading enumeration mark
    ("paren", re.compile(rf"^[（(]\s*(?:[{_CN_NUM}]+|\d+)\s*[）)]\s*")),
    ("cn", re.compile(rf"^[{_CN_NUM}]+\s*[、．.]\s*")),
    ("arabic", re.compile(r"^\d+\s*(?:[、．]|\.(?!\d))\s*")),
)
_TRAILING = "。．.：:；;，, \u3000"


def _numbering(paragraph: str):
    for style, rx in _NUMBERING:
        m = rx.match(paragraph)
        if m:
            return style, m.end()
    return None, 0


def unnumbered(text, label=None):
    """An agency text without its own leading numbering, which the report supplies.

    「（一）主动公开。本年度…」 → 「主动公开。本年度…」, so that the draft does not say
    「（一）（一）主动公开」. A text whose paragraphs are an enumeration of their own
    (「1.…」「2.…」) keeps its numbers. When ``label`` (the field's label, e.g.
    「（一）主动公开」) is given, a first paragraph that only repeats it is dropped.
    A missing text (its placeholder) is returned as is.
    """
    if text is None or getattr(text, "missing", False):
        return text
    paras = str(text).split("\n\n")
    style, end = _numbering(paras[0])
    if style and not (len(paras) > 1 and _numbering(paras[1])[0] == style):
        paras[0] = paras[0][end:]
    if label:
        core = str(label)
        s, e = _numbering(core)
        core = core[e:].strip(_TRAILING)
        if core and paras[0].strip(_TRAILING) == core and len(paras) > 1:
            paras = paras[1:]
    out = "\n\n".join(paras)
    if out == str(text):
        return text
    lab = getattr(text, "label", None)
    return type(text)(out, lab) if lab is not None else out


FILTERS = {
    "num": num,
    "pct": pct,
    "cn": cn,
    "paragraphs": paragraphs,
    "split_lead": split_lead,
    "lead": lead,
    "unnumbered": unnumbered,
}
