"""Constructed published reports: DOCX in several layouts (python-docx), PDF from them (LibreOffice), text.

The corpus (``tests/published/corpus``, copied from ``../shared/reports-dev``) holds HTML
and page text of one site only. These builders lay a canonical document's tables out
the way other publishers do, from the format's own layout (block titles, corners,
header paths), so every layout exists for both format versions:

* ``official``  — the official format: merged cells (gridSpan / vMerge) for titles,
  corners, header groups and row groups;
* ``flat``      — no merged cell: one label column with the whole label, one header row;
* ``split``     — every block of a table in its own table, labels in separate columns,
  group labels repeated on every row, values left-aligned with a blank spacer column;
* ``borderless`` — the official layout without borders (its PDF has no ruled table: text only);
* ``text``      — no table at all: one paragraph per row, cells separated by ``sep``
  (``""`` glues them: the digit runs of web-page text).

Hard cases are made by editing the document first (:func:`drop_row`,
:func:`blank_column`, :func:`set_cell`).
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _val(doc, table, row, col):
    v = ((doc.get("tables") or {}).get(table) or {}).get(row, {}).get(col)
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def block_grid(doc, t, b, depth_override=None):
    """One block as a list of rows of (text, rowspan, colspan) cells (None = covered)."""
    label_depth = max((len(r.header) for r in b.rows), default=0)
    cols = list(b.columns)
    width_vals = sum(c.span for c in cols)
    hdepth = max((len(c.header) for c in cols), default=0)
    width = label_depth + width_vals
    rows: list[list] = []
    if b.title:
        rows.append([(b.title, 1, width)] + [None] * (width - 1))
    # header rows
    head = [[None] * width for _ in range(hdepth)]
    if label_depth:
        head[0][0] = ((b.corner[0] if b.corner else ""), hdepth, label_depth)
    x = label_depth
    starts = []
    for c in cols:
        starts.append(x)
        x += c.span
    for level in range(hdepth):
        i = 0
        while i < len(cols):
            c = cols[i]
            if len(c.header) <= level:
                i += 1
                continue
            j = i
            span = cols[i].span
            while (j + 1 < len(cols) and len(cols[j + 1].header) > level + 1 and len(c.header) > level + 1
                   and cols[j + 1].header[: level + 1] == c.header[: level + 1]):
                j += 1
                span += cols[j].span
            rowspan = hdepth - level if len(c.header) == level + 1 else 1
            head[level][starts[i]] = (c.header[level], rowspan, span)
            i = j + 1
    rows.extend(head)
    # data rows
    data = []
    for r in b.rows:
        line = [None] * width
        for k, h in enumerate(r.header):
            line[k] = (h, 1, (label_depth - k) if k == len(r.header) - 1 else 1)
        for c, x0 in zip(cols, starts):
            rk, ck = (c.row, c.column) if c.row else (r.row, c.column)
            line[x0] = (_val(doc, t.key, rk, ck), 1, c.span)
        data.append(line)
    # vertical merges of equal group labels
    for level in range(label_depth):
        i = 0
        while i < len(data):
            cell = data[i][level]
            if cell is None or cell[2] != 1 or level == len(b.rows[i].header) - 1:
                i += 1
                continue
            j = i
            while (j + 1 < len(data) and data[j + 1][level] is not None and data[j + 1][level][0] == cell[0]
                   and level < len(b.rows[j + 1].header) - 1):
                j += 1
            if j > i:
                data[i][level] = (cell[0], j - i + 1, 1)
                for k in range(i + 1, j + 1):
                    data[k][level] = None
            i = j + 1
    rows.extend(data)
    return rows, width


def _docx_table(document, rows, width, merged=True, label_cols=None):
    from docx.shared import Cm

    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    table.autofit = False
    if label_cols is None:  # the leading columns holding no number in any data row are label columns
        label_cols = 0
        for ci in range(width):
            if any(line[ci] is not None and str(line[ci][0]).strip().lstrip("-").replace(".", "").isdigit()
                   for line in rows):
                break
            label_cols += 1
    value_cols = max(width - label_cols, 1)
    lw = 7.0 / label_cols if label_cols else 0
    vw = (16.0 - 7.0) / value_cols if label_cols else 16.0 / width
    for ci, col in enumerate(table.columns):
        w = Cm(lw if ci < label_cols else vw)
        col.width = w
        for cell in col.cells:
            cell.width = w
    covered = set()
    for ri, line in enumerate(rows):
        for ci, cell in enumerate(line):
            if cell is None or (ri, ci) in covered:
                continue
            text, rs, cs = cell
            target = table.cell(ri, ci)
            if merged and (rs > 1 or cs > 1):
                target = target.merge(table.cell(ri + rs - 1, ci + cs - 1))
                for a in range(ri, ri + rs):
                    for b in range(ci, ci + cs):
                        covered.add((a, b))
            parts = str(text).split("\n")
            target.paragraphs[0].text = parts[0]
            for p in parts[1:]:
                target.add_paragraph(p)
    return table


def build_docx(doc, spec, path: Path, layout: str = "official", sep: str = " ", title: str | None = None):
    import docx

    d = docx.Document()
    heading = title if title is not None else spec.report_title.format(
        agency=(doc.get("agency") or {}).get("name", ""), year=doc.get("year"))
    d.add_heading(heading, level=1)
    d.core_properties.title = heading
    d.add_paragraph("一、总体情况")
    d.add_paragraph("本年度政府信息公开工作总体情况（示例文字，含数字 2024 年和 12 条信息，不是统计表）。")
    for t in spec.tables:
        d.add_paragraph(t.heading)
        if layout == "text":
            _text_table(d, doc, t, sep)
            continue
        if layout == "split":
            for b in t.blocks:
                rows, width = block_grid(doc, t, b)
                rows = [_unmerge(line, repeat=True) for line in rows]
                if any(r.header for r in b.rows):  # a blank spacer column after the labels
                    rows = [line[:1] + [("", 1, 1)] + line[1:] for line in rows]
                    width += 1
                _docx_table(d, rows, width, merged=False)
                d.add_paragraph("")
            continue
        all_rows, width = [], 0
        for b in t.blocks:
            rows, w = block_grid(doc, t, b)
            width = max(width, w)
            all_rows.append((rows, w))
        grid = []
        for rows, w in all_rows:
            for line in rows:
                line = list(line) + [None] * (width - w)
                if w < width and line[w - 1] is not None:  # stretch the last cell
                    text, rs, cs = line[w - 1]
                    line[w - 1] = (text, rs, cs + width - w)
                elif w < width:
                    for k in range(w - 1, -1, -1):
                        if line[k] is not None:
                            text, rs, cs = line[k]
                            if k + cs == w:
                                line[k] = (text, rs, cs + width - w)
                            break
                grid.append(line)
        if layout == "flat":
            grid = _flatten(grid)
            _docx_table(d, grid, width, merged=False)
        else:
            table = _docx_table(d, grid, width, merged=True)
            if layout == "borderless":  # no ruling lines: a PDF of it has no table to find, only text
                table.style = None
    d.add_paragraph("五、存在的主要问题及改进情况")
    d.add_paragraph("（示例文字）")
    d.save(str(path))
    return path


def _unmerge(line, repeat=False):
    out = []
    last = None
    for cell in line:
        if cell is None:
            out.append((last[0], 1, 1) if repeat and last is not None and False else ("", 1, 1))
        else:
            last = cell
            out.append((cell[0], 1, 1))
    return out


def _flatten(grid):
    """No merges: each row's label cells joined into the first cell; header rows keep their leaves."""
    out = []
    for line in grid:
        cells = [("", 1, 1)] * len(line)
        for ci, cell in enumerate(line):
            if cell is not None:
                cells[ci] = (cell[0], 1, 1)
        out.append(cells)
    return out


def _text_table(d, doc, t, sep):
    words = []
    for b in t.blocks:
        if b.title:
            words.append(b.title)
        words.extend(b.corner)
        seen = []
        for c in b.columns:
            for h in c.header:
                if h not in seen:
                    seen.append(h)
        words.extend(seen)
        for r in b.rows:
            label = "".join(r.header)
            vals = [_val(doc, t.key, c.row or r.row, c.column) for c in b.columns]
            if label:
                d.add_paragraph(" ".join(words) + label + sep.join(vals) if words else label + sep.join(vals))
                words = []
            else:
                d.add_paragraph(" ".join(words))
                d.add_paragraph(sep.join(vals))
                words = []


def text_report(doc, spec, sep: str = "") -> str:
    """The report as one page text (cells glued by ``sep``), like the corpus's ``.txt``."""
    out = [spec.report_title.format(agency=(doc.get("agency") or {}).get("name", ""), year=doc.get("year")),
           "一、总体情况 本年度共收到申请若干件。"]
    for t in spec.tables:
        line = [t.heading]
        for b in t.blocks:
            if b.title:
                line.append(b.title)
            line.extend(b.corner)
            seen = []
            for c in b.columns:
                for h in c.header:
                    if h not in seen:
                        seen.append(h)
            line.extend(seen)
            for r in b.rows:
                line.append("".join(r.header) + sep.join(_val(doc, t.key, c.row or r.row, c.column)
                                                         for c in b.columns))
        out.append("".join(line))
    out.append("五、存在的主要问题及改进情况 无。")
    return "\n".join(out) + "\n"


def drop_row(doc, spec, table, row):
    """The document and the same spec with ``row`` missing from the layout (a row the publisher dropped)."""
    import dataclasses

    t = spec.table(table)
    blocks = tuple(dataclasses.replace(b, rows=tuple(r for r in b.rows if r.row != row)) for b in t.blocks)
    new_t = copy.copy(t)
    object.__setattr__(new_t, "blocks", blocks)
    tables = tuple(new_t if x.key == table else x for x in spec.tables)
    new_spec = copy.copy(spec)
    object.__setattr__(new_spec, "tables", tables)
    return new_spec


def blank_column(doc, table, column):
    d = copy.deepcopy(doc)
    for row in d["tables"][table].values():
        if column in row:
            row[column] = None
    return d


def set_cell(doc, table, row, column, value):
    d = copy.deepcopy(doc)
    d["tables"][table][row][column] = value
    return d


def to_pdf(paths: list[Path], outdir: Path, profile: Path) -> list[Path]:
    """Convert DOCX files to PDF with one headless LibreOffice run."""
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(outdir), *map(str, paths)], check=True, capture_output=True, timeout=300)
    return [outdir / (p.stem + ".pdf") for p in paths]
