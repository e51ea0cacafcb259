"""HTML writer: one self-contained page; each statutory table is one ``<table>``
with the official merged cells (rowspan/colspan) and its data cells in reading order.

Generated sentences are ``<span class="generated" data-cells="…">`` followed by an
HTML comment naming the cells they used; placeholders are ``<mark class="todo">``.
"""

from __future__ import annotations

from html import escape

from xlsxgen import __version__
from xlsxgen.render.tables import grid_of

STYLE = """
body { margin: 0; background: #f4f4f4; }
.report { box-sizing: border-box; max-width: 52em; margin: 1.5em auto; padding: 3.2em 3.6em; background: #fff;
  font-family: "仿宋_GB2312", "仿宋", FangSong, STFangsong, "Noto Serif CJK SC", serif; font-size: 16pt; line-height: 1.75; color: #000; }
.report h1 { font-family: "方正小标宋简体", "华文中宋", STZhongsong, "Noto Serif CJK SC", serif; font-size: 22pt;
  font-weight: normal; text-align: center; line-height: 1.5; margin: 0 0 1em; }
.report h2 { font-family: "黑体", SimHei, "Noto Sans CJK SC", sans-serif; font-size: 16pt; font-weight: normal;
  margin: 0.6em 0 0; text-indent: 2em; }
.report h3, .report .lead { font-family: "楷体_GB2312", "楷体", KaiTi, STKaiti, serif; font-size: 16pt; font-weight: normal; }
.report h3 { margin: 0; text-indent: 2em; }
.report p { margin: 0; text-indent: 2em; text-align: justify; }
.report mark.todo { background: #ffe866; }
.report .generated { text-decoration: underline dotted #8aa; text-underline-offset: 0.2em; }
table.statutory { border-collapse: collapse; width: 100%; margin: 0.6em 0 1em; font-size: 10.5pt; line-height: 1.35; }
table.statutory th, table.statutory td { border: 1px solid #000; padding: 0.25em 0.3em; text-align: center; vertical-align: middle;
  font-weight: normal; }
table.statutory th.row_header { text-align: left; }
table.statutory th.row_header.group { text-align: center; }
table.statutory td.num { font-variant-numeric: tabular-nums; }
@media print { body { background: #fff; } .report { margin: 0; padding: 0; max-width: none; }
  .report .generated { text-decoration: none; } }
""".strip()


def _runs(runs, ctx) -> str:
    out = []
    for r in runs:
        s = escape(r.text, quote=False)
        if r.todo:
            s = f'<mark class="todo">{s}</mark>'
        if r.lead:
            s = f'<span class="lead">{s}</span>'
        out.append((r.source, s))
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


def _generated(source_id: int, inner: str, ctx) -> str:
    src = ctx.sources[source_id - 1]
    refs = " ".join(c.ref for c in src.cells)
    lines = "；".join(f"{c.ref}（{c.label}）＝{c.value}" for c in src.cells)
    title = escape(f"数据来源：{lines}")
    comment = f"数据来源[{source_id}]：{lines}".replace("--", "－－")
    return (
        f'<span class="generated" id="src-{source_id}" data-cells="{escape(refs)}" title="{title}">{inner}</span>'
        f"<!-- {comment} -->"
    )


def table_html(ctx, key: str) -> str:
    table = ctx.spec.table(key)
    grid = grid_of(table)
    # border/cellspacing attributes keep the grid visible where CSS is dropped (CMS editors, word processors)
    out = [f'<table class="statutory" data-table="{escape(key)}" border="1" cellspacing="0" cellpadding="4">']
    weights = grid.column_weights()
    total = sum(weights) or 1
    out.append("<colgroup>" + "".join(f'<col style="width:{w * 100 / total:.2f}%">' for w in weights) + "</colgroup>")
    for r, row in enumerate(grid.rows):
        tag = "thead" if grid.header_rows and r == 0 else None
        if tag:
            out.append("<thead>")
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
                cls = "num todo" if text.startswith("【") else "num"
                out.append(f'<td class="{cls}" data-cell="{rk}.{ck}"{span}>{escape(text)}</td>')
            elif cell.role == "empty":
                out.append(f"<td{span}></td>")
            else:
                cls = cell.role + (" group" if cell.role == "row_header" and cell.rowspan > 1 else "")
                scope = (
                    ' scope="row"'
                    if cell.role == "row_header"
                    else (' scope="col"' if cell.role == "column_header" else "")
                )
                out.append(f'<th class="{cls}"{scope}{span}>{escape(cell.text)}</th>')
        out.append("</tr>")
        if grid.header_rows and r == grid.header_rows - 1:
            out.append("</thead><tbody>")
    if grid.header_rows:
        out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out)


def write(blocks, ctx) -> str:
    title = next((b.text for b in blocks if b.kind == "title"), "")
    body = []
    for b in blocks:
        if b.kind == "title":
            body.append(f"<h1>{_runs(b.runs, ctx)}</h1>")
        elif b.kind == "heading":
            tag = "h2" if b.level == 1 else "h3"
            body.append(f"<{tag}>{_runs(b.runs, ctx)}</{tag}>")
        elif b.kind == "paragraph":
            body.append(f"<p>{_runs(b.runs, ctx)}</p>")
        elif b.kind == "table":
            body.append(table_html(ctx, b.table))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="xlsxgen {__version__} ({escape(ctx.spec.id)})">\n'
        f"<title>{escape(title)}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n"
        '<article class="report">\n' + "\n".join(body) + "\n</article>\n</body>\n</html>\n"
    )
