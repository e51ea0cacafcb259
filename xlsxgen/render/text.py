"""Markdown and plain-text writers; statutory tables as aligned text tables.

Markdown draws a pipe table (merged labels written once, in the top-left cell
of their span, covered cells left empty) padded so the columns line up in a
fixed-width font, and lists the data sources of generated sentences as
footnotes. Plain text draws an ASCII grid whose borders follow the real merged
cells (CJK characters count two columns) and lists the sources in an appendix.
"""

from __future__ import annotations

import unicodedata

from xlsxgen.render.context import provenance
from xlsxgen.render.tables import grid_of

SOURCES_HEADING = "附：生成语句的数据来源"
INDENT = "\u3000\u3000"  # two ideographic spaces: the customary paragraph indent


def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def pad(s: str, w: int, align: str = "left") -> str:
    gap = max(w - width(s), 0)
    if align == "center":
        left = gap // 2
        return " " * left + s + " " * (gap - left)
    if align == "right":
        return " " * gap + s
    return s + " " * gap


NO_LINE_START = "，。、；：？！）》」』”’"


def wrap(s: str, w: int) -> list[str]:
    """Break ``s`` into lines of display width ≤ w (CJK text breaks anywhere, but no line
    starts with closing punctuation: the last character moves down with it)."""
    if width(s) <= w:
        return [s]
    lines, cur = [], ""
    for ch in s:
        if width(cur + ch) > w:
            if ch in NO_LINE_START and len(cur) > 1:
                lines.append(cur[:-1])
                cur = cur[-1] + ch
            else:
                lines.append(cur)
                cur = ch
        else:
            cur += ch
    if cur:
        lines.append(cur)
    return lines


def _cell_texts(ctx, grid):
    out = {}
    for cell in grid.cells():
        if cell.role == "data":
            out[cell] = ctx.cell_text(grid.key, *cell.key)
        else:
            out[cell] = cell.text
    return out


# ---------------------------------------------------------------- markdown


def _md_escape(s: str) -> str:
    for ch in "\\`*_[]<>":
        s = s.replace(ch, "\\" + ch)
    return s


def md_table(ctx, key: str) -> str:
    grid = grid_of(ctx.spec.table(key))
    texts = _cell_texts(ctx, grid)
    rows = []
    for r in range(grid.height):
        line = []
        for c in range(grid.width):
            cell = grid.owner[(r, c)]
            first = cell.row == r and cell.col == c
            line.append(_md_escape(texts[cell]).replace("|", "\\|") if first else "")
        rows.append(line)
    widths = [max(3, *(width(row[c]) for row in rows)) for c in range(grid.width)]
    numeric = [  # right-align the value columns of a single-block table
        bool(grid.header_rows) and all(grid.owner[(r, c)].role == "data" for r in range(grid.header_rows, grid.height))
        for c in range(grid.width)
    ]

    def fmt(row):
        return "| " + " | ".join(pad(v, widths[c], "right" if numeric[c] else "left") for c, v in enumerate(row)) + " |"

    sep = (
        "| "
        + " | ".join(("-" * (widths[c] - 1) + ":") if numeric[c] else "-" * widths[c] for c in range(grid.width))
        + " |"
    )
    return "\n".join([fmt(rows[0]), sep] + [fmt(row) for row in rows[1:]])


def _md_runs(runs, final: bool = False) -> str:
    out = []
    for i, r in enumerate(runs):
        s = _md_escape(r.text)
        out.append(f"**{s}**" if r.lead else s)
        nxt = runs[i + 1].source if i + 1 < len(runs) else None
        if r.source is not None and nxt != r.source and not final:  # footnote after the sentence's last run
            out.append(f"[^{r.source}]")
    return "".join(out)


def write_md(blocks, ctx, final: bool = False) -> str:
    out = []
    for b in blocks:
        if b.kind == "title":
            out.append("# " + _md_runs(b.runs, final))
        elif b.kind == "heading":
            out.append("#" * (b.level + 1) + " " + _md_runs(b.runs, final))
        elif b.kind == "paragraph":
            out.append(_md_runs(b.runs, final))
        elif b.kind == "table":
            out.append(md_table(ctx, b.table))
    if ctx.sources and not final:
        out.append("---")
        out.append(f"**{SOURCES_HEADING}**")
        for src in ctx.sources:
            out.append(f"[^{src.id}]: {_md_escape(provenance(src.cells))}")
    return "\n\n".join(out) + "\n"


# ---------------------------------------------------------------- plain text grid


def _col_widths(grid, texts, max_label=24, max_value=12):
    """Content width of each grid column; long labels wrap, spanning cells widen their columns if needed."""
    w = [2] * grid.width
    for cell in sorted(grid.cells(), key=lambda c: c.colspan):
        text = texts[cell]
        if not text:
            continue
        have = sum(w[cell.col : cell.last_col + 1]) + 3 * (cell.colspan - 1)
        cap = max_value if cell.role == "data" else max(max_label, have if cell.colspan > 1 else 0)
        need = min(width(text), cap)
        if need > have:
            extra = need - have
            for k in range(cell.colspan):
                w[cell.col + k] += extra // cell.colspan + (1 if k < extra % cell.colspan else 0)
    return w


def txt_table(ctx, key: str) -> str:
    grid = grid_of(ctx.spec.table(key))
    texts = _cell_texts(ctx, grid)
    w = _col_widths(grid, texts)

    def span_width(cell):
        return sum(w[cell.col : cell.last_col + 1]) + 3 * (cell.colspan - 1)

    lines_of = {cell: wrap(texts[cell], span_width(cell)) if texts[cell] else [] for cell in grid.cells()}
    heights = [1] * grid.height  # text lines of each grid row
    for cell in sorted(grid.cells(), key=lambda c: c.rowspan):
        need = len(lines_of[cell])
        have = sum(heights[cell.row : cell.last_row + 1]) + (cell.rowspan - 1)
        if need > have:
            heights[cell.last_row] += need - have
    xs = [0]
    for c in range(grid.width):
        xs.append(xs[-1] + w[c] + 3)
    ys = [0]
    for r in range(grid.height):
        ys.append(ys[-1] + heights[r] + 1)
    canvas = [[" "] * (xs[-1] + 1) for _ in range(ys[-1] + 1)]

    def put(y, x, ch):
        cur = canvas[y][x]
        if ch == "+" or (cur and cur in "-|+" and cur != ch):
            canvas[y][x] = "+"
        else:
            canvas[y][x] = ch

    for cell in grid.cells():
        x0, x1 = xs[cell.col], xs[cell.last_col + 1]
        y0, y1 = ys[cell.row], ys[cell.last_row + 1]
        for x in range(x0 + 1, x1):
            put(y0, x, "-")
            put(y1, x, "-")
        for y in range(y0 + 1, y1):
            put(y, x0, "|")
            put(y, x1, "|")
        for y, x in ((y0, x0), (y0, x1), (y1, x0), (y1, x1)):
            put(y, x, "+")
        lines = lines_of[cell]
        room = y1 - y0 - 1
        top = y0 + 1 + (room - len(lines)) // 2
        sw = span_width(cell)
        if cell.role == "data":
            align = "right"
        elif cell.role == "row_header" and cell.rowspan == 1:
            align = "left"
        else:
            align = "center"
        for i, line in enumerate(lines):
            x = x0 + 2
            for ch in pad(line, sw, align):
                canvas[top + i][x] = ch
                if width(ch) == 2:
                    canvas[top + i][x + 1] = ""
                    x += 2
                else:
                    x += 1
    return "\n".join("".join(row).rstrip() for row in canvas)


def _plain(runs) -> str:
    return "".join(r.text for r in runs)


def _head(text: str, n: int = 40) -> str:
    """The first ``n`` characters of a sentence, not cutting a number in two."""
    if len(text) <= n:
        return text
    while n < len(text) and (text[n].isdigit() or text[n] == "." and text[n - 1].isdigit()):
        n += 1
    return text[:n] + ("……" if n < len(text) else "")


def write_txt(blocks, ctx, final: bool = False) -> str:
    out = []
    for b in blocks:
        if b.kind == "title":
            out.append(_plain(b.runs))
        elif b.kind == "heading":
            out.append(INDENT + _plain(b.runs))
        elif b.kind == "paragraph":
            out.append(INDENT + _plain(b.runs))
        elif b.kind == "table":
            out.append(txt_table(ctx, b.table))
    if ctx.sources and not final:
        out.append(SOURCES_HEADING)
        for src in ctx.sources:
            head = _head(src.text)
            out.append(f"〔{src.id}〕「{head}」\n    {provenance(src.cells)}")
    return "\n\n".join(out) + "\n"
