"""A statutory table as a grid of spanning cells, from :func:`xlsxgen.workbook.layout.build_layout`.

The layout is the one the workbook uses, so the report draws the same merged
headers the agencies filled in. Every writer (HTML, DOCX, Markdown, text) walks
the same :class:`TableGrid`; nothing here knows a particular table.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from xlsxgen.workbook.layout import build_layout


@dataclass(frozen=True)
class GridCell:
    row: int  # 0-based, first row of the table
    col: int
    rowspan: int
    colspan: int
    role: str  # title | corner | column_header | row_header | data | empty
    text: str = ""  # label text; data cells get theirs from the submission
    key: tuple[str, str] | None = None  # (row key, column key) of a data cell

    @property
    def last_row(self) -> int:
        return self.row + self.rowspan - 1

    @property
    def last_col(self) -> int:
        return self.col + self.colspan - 1


@dataclass(frozen=True)
class TableGrid:
    key: str
    heading: str
    width: int
    height: int
    label_cols: int
    header_rows: int  # leading label-only rows to repeat on each page (single-block tables)
    rows: tuple[tuple[GridCell, ...], ...]  # cells starting on each grid row, left to right
    owner: dict  # (row, col) -> the GridCell covering it
    label_widths: tuple[float, ...]
    value_widths: tuple[float, ...]

    def cells(self):
        for row in self.rows:
            yield from row

    def data_cells(self):
        return [c for c in self.cells() if c.role == "data"]

    def column_weights(self) -> list[float]:
        """Relative widths of the grid columns (from the format's widths when given)."""
        out = []
        for c in range(self.width):
            if c < self.label_cols:
                ws = self.label_widths
                i = c
            else:
                ws = self.value_widths
                i = c - self.label_cols
            w = ws[min(i, len(ws) - 1)] if ws else None
            out.append(float(w) if w else 10.0)
        return out


@functools.cache  # specs and tables hash by identity: computed once per object
def grid_of(table) -> TableGrid:
    """The grid of ``table`` (a TableSpec); computed once per table object."""
    return _build(table)


def _build(table) -> TableGrid:
    layout = build_layout(table)
    top = layout.top
    height = layout.bottom - top + 1
    cells: list[GridCell] = []
    for m in layout.labels:
        cells.append(
            GridCell(
                m.first_row - top,
                m.first_col,
                m.last_row - m.first_row + 1,
                m.last_col - m.first_col + 1,
                m.role,
                m.text,
            )
        )
    for d in layout.cells:
        cells.append(GridCell(d.row - top, d.col, 1, d.span, "data", "", d.key))
    owner: dict[tuple[int, int], GridCell] = {}
    for cell in cells:
        for r in range(cell.row, cell.last_row + 1):
            for c in range(cell.col, cell.last_col + 1):
                if (r, c) in owner:
                    raise ValueError(f"layout of {table.key}: cells overlap at ({r}, {c})")
                owner[(r, c)] = cell
    for r in range(height):  # keep the grid rectangular
        for c in range(layout.width):
            if (r, c) not in owner:
                cell = GridCell(r, c, 1, 1, "empty")
                cells.append(cell)
                owner[(r, c)] = cell
    by_row: list[list[GridCell]] = [[] for _ in range(height)]
    for cell in cells:
        by_row[cell.row].append(cell)
    rows = tuple(tuple(sorted(r, key=lambda c: c.col)) for r in by_row)
    first_data = min((c.row for c in cells if c.role == "data"), default=0)
    header_rows = first_data if len(table.blocks) == 1 else 0
    return TableGrid(
        key=table.key,
        heading=table.heading,
        width=layout.width,
        height=height,
        label_cols=layout.label_cols,
        header_rows=header_rows,
        rows=rows,
        owner=owner,
        label_widths=tuple(table.label_widths),
        value_widths=tuple(table.value_widths),
    )
