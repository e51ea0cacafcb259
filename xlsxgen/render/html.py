"""HTML writer: one standalone, valid HTML5 page, as government portals publish the report.

* The title (``h1``), the opening paragraph and one ``<section>`` per first-level
  heading (一、… 六、), each labelled by its heading.
* Each statutory table is one ``<table>`` with the official merged cells
  (``rowspan``/``colspan``) and full borders; header cells are ``<th>`` with
  ``id`` and ``scope``, and every data cell names all its header cells
  (``headers="…"``: row labels, column labels, the block's title), so a
  screen reader reads 「行政许可 本年处理决定数量 0」.
* Print styles: A4 with the margins of official documents, header rows
  repeated, rows not split, no screen decoration.
* No script at all, no ``style`` attributes (column widths are rules in the
  page's one ``<style>`` element): the page works under a strict
  Content-Security-Policy that allows that stylesheet (e.g. by its hash).

In a draft, generated sentences are ``<span class="generated" data-cells="…"
title="来源：…">`` followed by an HTML comment naming the cells in Chinese,
and placeholders are ``<mark class="todo">``. A final page (``final=True``) has
neither.
"""

from __future__ import annotations

import functools
from html import escape

from xlsxgen import __version__
from xlsxgen.render.context import provenance
from xlsxgen.render.tables import grid_of

STYLE = """
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; background: #f4f4f4; color: #000; }
.report { box-sizing: border-box; max-width: 52em; margin: 1.5em auto; padding: 3.2em 3.6em; background: #fff;
  font-family: "仿宋_GB2312", "仿宋", FangSong, STFangsong, "Noto Serif CJK SC", serif; font-size: 16pt; line-height: 1.75; }
.report h1 { font-family: "方正小标宋简体", "方正小标宋_GBK", "华文中宋", STZhongsong, "Noto Serif CJK SC", serif;
  font-size: 22pt; font-weight: normal; text-align: center; line-height: 1.5; margin: 0 0 1em; }
.report h2 { font-family: "黑体", SimHei, "Noto Sans CJK SC", sans-serif; font-size: 16pt; font-weight: normal;
  margin: 0.6em 0 0; text-indent: 2em; }
.report h3, .report .lead { font-family: "楷体_GB2312", "楷体", KaiTi, STKaiti, serif; font-size: 16pt; font-weight: normal; }
.report h3 { margin: 0; text-indent: 2em; }
.report p { margin: 0; text-indent: 2em; text-align: justify; }
.report mark.todo { background: #ffe866; }
.report .generated { text-decoration: underline dotted #8aa; text-underline-offset: 0.2em; }
.table-scroll { overflow-x: auto; margin: 0.6em 0 1em; }
table.statutory { border-collapse: collapse; border: 1px solid #000; width: 100%; table-layout: fixed;
  font-size: 10.5pt; line-height: 1.35; }
table.statutory th, table.statutory td { border: 1px solid #000; padding: 0.25em 0.3em; text-align: center;
  vertical-align: middle; font-weight: normal; overflow-wrap: anywhere; }
table.statutory th.title { font-weight: bold; }
table.statutory th.row_header { text-align: left; }
table.statutory th.row_header.group { text-align: center; }
table.statutory td.num { font-variant-numeric: tabular-nums; }
table.statutory.wide { font-size: 9pt; }
@page { size: A4; margin: 37mm 26mm 35mm 28mm; }
@media print {
  body { background: #fff; }
  .report { margin: 0; padding: 0; max-width: none; font-size: 16pt; line-height: 28pt; }
  .report .generated { text-decoration: none; }
  .report mark.todo { background: none; outline: 1px dashed #000; }
  .table-scroll { overflow: visible; }
  table.statutory { font-size: 10.5pt; line-height: 1.3; }
  table.statutory.wide { font-size: 8pt; }
  table.statutory thead { display: table-header-group; }
  table.statutory tr { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
}
""".strip()

WIDE = 9  # grid columns from which a table is set smaller


def _runs(runs, ctx, final=False) -> str:
    out = []
    for r in runs:
        s = escape(r.text, quote=False)
        if r.todo and not final:
            s = f'<mark class="todo">{s}</mark>'
        if r.lead:
            s = f'<span class="lead">{s}</span>'
        out.append((None if final else r.source, s))
    # merge adjacent pieces of the same generated sentence into one span
    html, i = [], 0
    while i < len(out):
        source, s = out[i]
        if source is None:
            html.append(s)
            i += 1
            continue
        parts = [s]
        i += 1
        while i < len(out) and out[i][0] == source:
            parts.append(out[i][1])
            i += 1
        html.append(_generated(source, "".join(parts), ctx))
    return "".join(html)


def _comment(text: str) -> str:
    """Text safe inside an HTML comment (no ``--``, no leading ``>``, no trailing ``-``)."""
    text = text.replace("--", "－－").replace("<!", "＜!")
    return text.lstrip(">").rstrip("-")


def _generated(source_id: int, inner: str, ctx) -> str:
    src = ctx.sources[source_id - 1]
    refs = " ".join(c.ref for c in src.cells)
    note = provenance(src.cells)
    return (
        f'<span class="generated" id="src-{source_id}" data-cells="{escape(refs)}" title="{escape(note)}">{inner}</span>'
        f"<!-- [{source_id}] {_comment(note)} -->"
    )


def _ident(s: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in s)


def _headers_of(grid, cell, ids) -> list[str]:
    """Ids of the header cells of a data cell: its row labels, then its column labels (top down)."""
    found: list = []

    def add(c):
        if c.role in ("row_header", "column_header", "title", "corner") and c not in found:
            found.append(c)

    for x in range(grid.label_cols):
        owner = grid.owner[(cell.row, x)]
        if owner.role == "row_header":
            add(owner)
    above, seen = [], False
    for y in range(cell.row - 1, -1, -1):
        owners = [grid.owner[(y, x)] for x in range(cell.col, cell.last_col + 1)]
        heads = [o for o in owners if o.role in ("column_header", "title")]
        if heads:
            seen = True
            for o in heads:
                if o not in above:
                    above.append(o)
            if any(o.role == "title" for o in heads):
                break
        elif seen:
            break  # the header rows of an earlier block
    for o in reversed(above):
        add(o)
    return [ids[c] for c in found if c in ids]


@functools.cache  # tables hash by identity: once per table object
def _header_attrs(table) -> tuple[dict, dict]:
    """(header cell → id, data cell → its ``headers`` value) of a table's grid."""
    grid = grid_of(table)
    tid = f"t-{_ident(table.key)}"
    ids = {}
    for cell in grid.cells():
        if cell.role in ("row_header", "column_header", "title", "corner"):
            ids[cell] = f"{tid}-r{cell.row}c{cell.col}"
    headers = {cell: " ".join(_headers_of(grid, cell, ids)) for cell in grid.cells() if cell.role == "data"}
    return ids, headers


def table_html(ctx, key: str, final: bool = False, labelled_by: str | None = None) -> str:
    table = ctx.spec.table(key)
    grid = grid_of(table)
    tid = f"t-{_ident(key)}"
    ids, data_headers = _header_attrs(table)
    cls = "statutory wide" if grid.width >= WIDE else "statutory"
    label = f' aria-labelledby="{labelled_by}"' if labelled_by else ""
    out = [f'<div class="table-scroll"><table class="{cls}" id="{tid}" data-table="{escape(key)}"{label}>']
    out.append("<colgroup>" + "<col>" * grid.width + "</colgroup>")
    head = grid.header_rows
    if head:
        out.append("<thead>")
    else:
        out.append("<tbody>")
    for r, row in enumerate(grid.rows):
        if head and r == head:
            out.append("</thead>\n<tbody>")
        out.append("<tr>")
        for cell in row:
            span = ""
            if cell.rowspan > 1:
                span += f' rowspan="{cell.rowspan}"'
            if cell.colspan > 1:
                span += f' colspan="{cell.colspan}"'
            if cell.role == "data":
                rk, ck = cell.key
                text = ctx.cell_text(key, rk, ck)
                css = "num todo" if text.startswith("【") and not final else "num"
                headers = data_headers[cell]
                hattr = f' headers="{headers}"' if headers else ""
                out.append(f'<td class="{css}" data-cell="{escape(rk)}.{escape(ck)}"{hattr}{span}>{escape(text)}</td>')
            elif cell.role == "empty":
                out.append(f"<td{span}></td>")
            else:
                css = cell.role + (" group" if cell.role == "row_header" and cell.rowspan > 1 else "")
                if cell.role == "row_header":
                    scope = "rowgroup" if cell.rowspan > 1 else "row"
                elif cell.role == "title" or cell.colspan > 1:
                    scope = "colgroup"
                else:
                    scope = "col"
                out.append(f'<th class="{css}" id="{ids[cell]}" scope="{scope}"{span}>{escape(cell.text)}</th>')
        out.append("</tr>")
    out.append("</tbody>\n</table></div>")
    return "\n".join(out)


def _width_rules(ctx, keys) -> list[str]:
    """Column widths of each table as CSS rules (no style attributes: CSP-friendly)."""
    rules = []
    for key in keys:
        grid = grid_of(ctx.spec.table(key))
        weights = grid.column_weights()
        total = sum(weights) or 1
        tid = f"t-{_ident(key)}"
        for i, w in enumerate(weights, 1):
            rules.append(f"#{tid} col:nth-child({i}) {{ width: {w * 100 / total:.2f}%; }}")
    return rules


def write(blocks, ctx, final: bool = False) -> str:
    """The page of ``blocks``; ``final``: a publishable page (no data sources, no highlights)."""
    title = next((b.text for b in blocks if b.kind == "title"), "")
    body = []
    in_section = False
    heading_id = None
    n_sections = 0
    tables = []
    for b in blocks:
        if b.kind == "title":
            body.append(f"<header>\n<h1>{_runs(b.runs, ctx, final)}</h1>\n</header>")
        elif b.kind == "heading" and b.level == 1:
            if in_section:
                body.append("</section>")
            n_sections += 1
            heading_id = f"sec-{n_sections}"
            body.append(f'<section aria-labelledby="{heading_id}">')
            body.append(f'<h2 id="{heading_id}">{_runs(b.runs, ctx, final)}</h2>')
            in_section = True
        elif b.kind == "heading":
            body.append(f"<h3>{_runs(b.runs, ctx, final)}</h3>")
        elif b.kind == "paragraph":
            body.append(f"<p>{_runs(b.runs, ctx, final)}</p>")
        elif b.kind == "table":
            tables.append(b.table)
            body.append(table_html(ctx, b.table, final, heading_id if in_section else None))
    if in_section:
        body.append("</section>")
    style = STYLE + "\n" + "\n".join(_width_rules(ctx, dict.fromkeys(tables)))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="xlsxgen {__version__} ({escape(ctx.spec.id)})">\n'
        f"<title>{escape(title)}</title>\n<style>\n{style}\n</style>\n</head>\n<body>\n"
        '<main>\n<article class="report">\n' + "\n".join(body) + "\n</article>\n</main>\n</body>\n</html>\n"
    )
