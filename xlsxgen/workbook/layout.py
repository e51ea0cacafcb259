"""Where every label and every data cell of a statutory table sits on its sheet.

The layout is derived from the spec alone (header paths, spans), so the
generator writes, the importer reads and the renderer draws the same grid.
Merges follow the usual pivot-table convention:

* adjacent headers with the same path prefix merge across (columns) or down (rows);
* a header path shorter than the header depth spans the remaining levels;
* the corner cell spans the row-label columns and the column-header rows.

Coordinates are 0-based (row, col) as in xlsxwriter; :func:`a1` converts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

# first grid row of the table body area on a table sheet (row 0: heading, row 1: agency line)
TABLE_TOP = 3


@dataclass(frozen=True)
class Merge:
    """A label cell; ``first_row == last_row and first_col == last_col`` when not merged."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int
    text: str
    role: str  # title | corner | column_header | row_header

    @property
    def merged(self) -> bool:
        return (self.first_row, self.first_col) != (self.last_row, self.last_col)


@dataclass(frozen=True)
class DataCell:
    row_key: str
    column_key: str
    row: int
    col: int
    span: int = 1

    @property
    def key(self) -> tuple[str, str]:
        return (self.row_key, self.column_key)


@dataclass(frozen=True)
class CheckPlace:
    """Where the live check of one rule instance sits (same sheet as its table)."""

    rule_index: int  # index into compile_spec(spec).rules
    row: int
    col: int
    label_cell: tuple[int, int, int, int] | None  # merged label range, when it has its own row


@dataclass
class TableLayout:
    table: object  # TableSpec
    width: int  # grid columns
    label_cols: int  # row-label columns of the widest block
    top: int
    bottom: int  # last grid row of the table (inclusive)
    labels: list[Merge] = field(default_factory=list)
    cells: list[DataCell] = field(default_factory=list)  # official reading order

    @functools.cached_property
    def by_key(self) -> dict[tuple[str, str], DataCell]:
        return {c.key: c for c in self.cells}

    def address(self, row_key: str, column_key: str) -> str:
        c = self.by_key[(row_key, column_key)]
        return a1(c.row, c.col)


def col_letter(col: int) -> str:
    s = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        s = chr(65 + rem) + s
    return s


def a1(row: int, col: int, absolute: bool = False) -> str:
    d = "$" if absolute else ""
    return f"{d}{col_letter(col)}{d}{row + 1}"


def _spans(paths: list[tuple[str, ...]], depth: int):
    """Yield (level_from, level_to, index_from, index_to, text) header spans.

    ``paths[i]`` is the header path of position i; a shorter path's last label
    extends to ``depth - 1``. Adjacent positions sharing a prefix merge.
    """
    n = len(paths)
    for level in range(depth):
        i = 0
        while i < n:
            p = paths[i]
            if level >= len(p):
                i += 1
                continue
            terminal = level == len(p) - 1
            j = i
            if not terminal:  # a group label: merge with neighbours under the same prefix
                while j + 1 < n and len(paths[j + 1]) > level + 1 and paths[j + 1][: level + 1] == p[: level + 1]:
                    j += 1
            yield level, (depth - 1 if terminal else level), i, j, p[level]
            i = j + 1


def build_layout(table) -> TableLayout:
    """Lay out ``table`` (a TableSpec) starting at :data:`TABLE_TOP`."""
    label_depths = [max((len(r.header) for r in b.rows), default=0) for b in table.blocks]
    widths = [ld + sum(c.span for c in b.columns) for ld, b in zip(label_depths, table.blocks)]
    width = max(widths)
    layout = TableLayout(table=table, width=width, label_cols=max(label_depths), top=TABLE_TOP, bottom=TABLE_TOP)
    r0 = TABLE_TOP
    for block, ld in zip(table.blocks, label_depths):
        if block.title:
            layout.labels.append(Merge(r0, 0, r0, width - 1, block.title, "title"))
            r0 += 1
        hdepth = max(len(c.header) for c in block.columns)
        # column start positions (grid columns)
        starts, c0 = [], ld
        for c in block.columns:
            starts.append(c0)
            c0 += c.span
        if ld and hdepth:
            text = block.corner[0] if block.corner else ""
            layout.labels.append(Merge(r0, 0, r0 + hdepth - 1, ld - 1, text, "corner"))
        for lvl_from, lvl_to, i, j, text in _spans([c.header for c in block.columns], hdepth):
            last_col = starts[j] + block.columns[j].span - 1
            layout.labels.append(Merge(r0 + lvl_from, starts[i], r0 + lvl_to, last_col, text, "column_header"))
        body = r0 + hdepth
        for lvl_from, lvl_to, i, j, text in _spans([r.header for r in block.rows], ld):
            layout.labels.append(Merge(body + i, lvl_from, body + j, lvl_to, text, "row_header"))
        for ri, hr in enumerate(block.rows):
            for hc, start in zip(block.columns, starts):
                rk = hc.row if hc.row is not None else hr.row
                layout.cells.append(DataCell(rk, hc.column, body + ri, start, hc.span))
        r0 = body + len(block.rows)
    layout.bottom = r0 - 1
    return layout


def place_checks(layout: TableLayout, instances: list[tuple[int, object]]) -> list[CheckPlace]:
    """Place the live checks of this table's rule instances.

    A rule repeated per column whose columns each occupy one grid column gets an
    aligned check row under the table; per row, an aligned check column to the
    right; anything else one row each below the table.
    """
    places: list[CheckPlace] = []
    col_of: dict[str, set[int]] = {}
    row_of: dict[str, set[int]] = {}
    for c in layout.cells:
        col_of.setdefault(c.column_key, set()).add(c.col)
        row_of.setdefault(c.row_key, set()).add(c.row)
    next_row = layout.bottom + 2
    next_col = layout.width
    groups: dict[str, list[tuple[int, object]]] = {}
    for idx, inst in instances:
        groups.setdefault(inst.id, []).append((idx, inst))
    for members in groups.values():
        aligned_cols = all(inst.column and len(col_of.get(inst.column, ())) == 1 for _, inst in members)
        aligned_rows = all(inst.row and len(row_of.get(inst.row, ())) == 1 for _, inst in members)
        if aligned_cols:
            label = (next_row, 0, next_row, max(layout.label_cols - 1, 0))
            for idx, inst in members:
                places.append(CheckPlace(idx, next_row, next(iter(col_of[inst.column])), label))
            next_row += 1
        elif aligned_rows:
            for idx, inst in members:
                places.append(CheckPlace(idx, next(iter(row_of[inst.row])), next_col, None))
            next_col += 1
        else:
            for idx, _inst in members:
                places.append(CheckPlace(idx, next_row, layout.label_cols, (next_row, 0, next_row, 0)))
                next_row += 1
    return places
