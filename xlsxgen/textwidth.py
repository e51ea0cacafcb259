"""Width of text: in a terminal (display_width, format_table) and in Excel column units (text_width)."""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (CJK and full-width characters count two)."""

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 0 if unicodedata.combining(ch) else 1
               for ch in text)



def _clip(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out, w = "", 0
    for ch in text:
        cw = display_width(ch)
        if w + cw > width - 1:
            break
        out += ch
        w += cw
    return out + "…"



def format_table(headers, rows, *, max_widths=None, align=None) -> str:
    """An aligned plain-text table (CJK-aware widths)."""
    rows = [[str(c) for c in r] for r in rows]
    n = len(headers)
    max_widths = max_widths or [40] * n
    rows = [[_clip(r[i], max_widths[i]) for i in range(n)] for r in rows]
    widths = [max([display_width(headers[i])] + [display_width(r[i]) for r in rows]) for i in range(n)]
    align = align or ["<"] * n

    def fmt(cells):
        out = []
        for i, c in enumerate(cells):
            pad = " " * (widths[i] - display_width(c))
            out.append(pad + c if align[i] == ">" else c + pad)
        return "  ".join(out).rstrip()

    lines = [fmt(headers), "  ".join("─" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def text_width(text: str) -> float:
    """Approximate display width in Excel column units (a CJK character is about two)."""
    return sum(1.75 if ord(ch) > 0x2E80 else 1.0 for ch in text)
