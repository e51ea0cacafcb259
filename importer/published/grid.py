"""Tables of a published report (HTML, DOCX, PDF) as expanded grids, mapped to the spec by labels.

A reader turns each table of the source into a :class:`Grid`: rows of
:class:`Slot`, with row and column spans expanded (every position covered by a
merged cell holds that cell's text, ``origin`` is False except where the cell
starts). :func:`map_grids` then decides which spec table a grid is, reads its
header rows (column header paths, matched to the layout's header paths), and maps
each data row by its label (:meth:`TableLabels.match_row`), the row order of the
spec only breaking ties. A value cell covered by a vertical span belongs to the
row where the cell starts; the covered rows stay null and are reported.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from importer.published.labels import TableLabels, labels_of, norm
from importer.published.model import Extraction, _read_number, read_number
from importer.published.split import tokens_of


class Slot:
    """One position of a grid: the text of the source cell covering it, and where that cell starts.

    ``n`` (the compact text), ``valueish`` (blank, a number or a run of digits) and ``num`` (a number) are
    computed once per distinct text (:func:`text_info`), not again by every step that looks at the row.
    """

    __slots__ = ("text", "origin", "cell", "row0", "col0", "prov", "n", "valueish", "num")

    def __init__(self, text: str, origin: bool, cell: int, row0: int, col0: int, prov: dict | None = None):
        self.text = text
        self.origin = origin  # the cell starts at this position
        self.cell = cell  # identity of the source cell (positions of one merged cell share it)
        self.row0 = row0  # grid row where the cell starts
        self.col0 = col0  # grid column where the cell starts
        self.prov = {} if prov is None else prov
        info = _INFO.get(text)
        self.n, self.valueish, self.num = info if info is not None else text_info(text)

    def covered(self) -> Slot:
        """The same cell at a position it covers (not where it starts)."""
        s = Slot.__new__(Slot)
        s.text, s.origin, s.cell, s.row0, s.col0, s.prov = self.text, False, self.cell, self.row0, self.col0, self.prov
        s.n, s.valueish, s.num = self.n, self.valueish, self.num
        return s

    def _key(self):
        return (self.text, self.origin, self.cell, self.row0, self.col0, self.prov)

    def __eq__(self, other):
        if other.__class__ is not Slot:
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None

    def __repr__(self) -> str:
        return (f"Slot(text={self.text!r}, origin={self.origin!r}, cell={self.cell!r}, row0={self.row0!r}, "
                f"col0={self.col0!r}, prov={self.prov!r})")


_INFO: dict[str, tuple[str, bool, bool]] = {}


def text_info(text: str) -> tuple[str, bool, bool]:
    """(compact text, value-ish, a number) of a cell's text; remembered per distinct text."""
    hit = _INFO.get(text)
    if hit is None:
        if len(_INFO) > 100_000:
            _INFO.clear()
        n = norm(text)
        hit = _INFO[text] = (n, _is_valueish(text), bool(n) and read_number(text, "amount").value is not None)
    return hit


@dataclass
class Grid:
    rows: list[list[Slot]]
    prov: dict  # where the table is: {"kind": "html", "table": 1} or {"kind": "pdf", "page": 2, "table": 1}
    before: str = ""  # text just before the table (its heading, if any)


class GridBuilder:
    """Expand spans: add cells row by row (``add(r, text, rowspan, colspan, prov)``)."""

    def __init__(self):
        self.cells: dict[tuple[int, int], Slot] = {}
        self.next_id = 0
        self.nrows = 0

    def add_row(self, r: int, cells: list[tuple[str, int, int, dict]]):
        c = 0
        grid = self.cells
        for text, rowspan, colspan, prov in cells:
            while (r, c) in grid:
                c += 1
            cid = self.next_id
            self.next_id += 1
            slot = Slot(text, True, cid, r, c, prov)
            grid[(r, c)] = slot
            if rowspan != 1 or colspan != 1:
                rowspan = max(1, min(rowspan, 200))
                colspan = max(1, min(colspan, 100))
                covered = slot.covered()
                for dr in range(rowspan):
                    for dc in range(colspan):
                        if dr or dc:
                            grid[(r + dr, c + dc)] = covered
            c += colspan
        self.nrows = max(self.nrows, r + 1)

    def grid(self, prov: dict, before: str = "", nrows: int | None = None) -> Grid:
        n = self.nrows if nrows is None else nrows
        width = max((c for (_r, c) in self.cells), default=-1) + 1
        rows = []
        get = self.cells.get
        for r in range(n):
            rows.append([get((r, c)) or Slot("", True, -1 - c, r, c, {}) for c in range(width)])
        return Grid(rows, prov, before)


@functools.lru_cache(maxsize=65536)
def _is_valueish(text: str) -> bool:
    s = norm(text)
    if not s:
        return True
    return read_number(text, "amount").code != "extract.unparseable" or (
        bool(tokens_of(text)) and all(t.replace(".", "").isdigit() for t in tokens_of(text)))


def _has_number(row: list[Slot]) -> bool:
    for s in row:
        if s.num:
            return True
    return False


def choose_table(grid: Grid, spec) -> str | None:
    """The spec table whose labels this grid holds most of."""
    best, best_score = None, 0
    heading = norm(grid.before)
    labels = [_label_text(row) for row in grid.rows]
    cells = [s.n for row in grid.rows for s in row if s.origin]
    tables = labels_of(spec)
    rows_of = [0] * len(tables)  # per table: how many of the grid's labels are labels of its rows
    for text in labels:
        for i, fits in enumerate(_row_label_of(spec, text)):
            rows_of[i] += fits
    for (key, tl), n_rows in zip(tables.items(), rows_of):
        score = 2 * n_rows
        score += sum(1 for t in cells if t in tl.header_words)
        if tl.heading and tl.heading in heading:
            score += 5
        if score > best_score:
            best, best_score = key, score
    return best if best_score >= 3 else None


_ROW_LABEL: dict = {}


def _row_label_of(spec, text: str) -> tuple[bool, ...]:
    """Per table of the format (in order): is ``text`` the label of one of its rows (quality 2 or 3)?"""
    hit = _ROW_LABEL.get((spec, text))
    if hit is None:
        if len(_ROW_LABEL) > 100_000:
            _ROW_LABEL.clear()
        out = []
        for tl in labels_of(spec).values():
            keys, q = tl.match_row(text)
            out.append(bool(keys) and q >= 2)
        hit = _ROW_LABEL[(spec, text)] = tuple(out)
    return hit


def _label_text(row: list[Slot], value_cols=()) -> str:
    return _label_span(row, value_cols)[0]


def _label_span(row: list[Slot], value_cols=()) -> tuple[str, int]:
    """(text, end): the leading non-number cells of a row (merged cells once), up to the first number or
    the first column headed as a value column (after the first cell)."""
    n = len(row)
    s0 = row[0] if n else None
    if n > 1 and s0.n and not s0.valueish:
        # the usual row: a label in its first cell (maybe merged over the next positions), then a number or
        # a value column — what the loop below finds, without building the parts
        cell0, k = s0.cell, 1
        while k < n and row[k].cell == cell0 and k not in value_cols and not (row[k].n and row[k].valueish):
            k += 1
        if k == n or k in value_cols or (row[k].n and row[k].valueish):
            return s0.n, k
    parts, seen = [], set()
    end = 0
    for i, s in enumerate(row):
        t = s.n
        if (t and s.valueish) or (i > 0 and i in value_cols):
            break
        end = i + 1
        if not t or s.cell in seen:
            continue
        seen.add(s.cell)
        parts.append(t)
    if len(parts) == 1:
        return parts[0], end
    return "".join(parts), end


class _TableState:
    def __init__(self, tl: TableLabels):
        self.tl = tl
        self.last_row = -1
        self.assigned: set[str] = set()
        self.cols = _NO_COLUMNS

    @property
    def colmap(self) -> dict[int, tuple[str, str | None]]:
        """Grid column -> (column key, row key of a cell header or None)."""
        return self.cols.colmap


def map_grids(grids: list[Grid], ex: Extraction) -> None:
    spec = ex.spec
    states: dict[str, _TableState] = {}
    chosen = [choose_table(g, spec) for g in grids]
    for i in range(1, len(grids)):
        if chosen[i] is None and chosen[i - 1] is not None and len(grids[i].rows) <= 3:
            chosen[i] = chosen[i - 1]  # a few rows continued on the next page: no labels of their own to go by
        if chosen[i] is not None and chosen[i] == chosen[i - 1]:
            _join_split_row(grids[i - 1], grids[i], labels_of(spec)[chosen[i]])
    for grid, tkey in zip(grids, chosen):
        if tkey is None:
            continue
        ex.tables_found[tkey] = "grid"
        _map_grid(grid, tkey, states, ex)


def _other_table(row: list[Slot], label: str, numbers: bool, tkey: str, spec) -> str | None:
    """Another table of the format this row belongs to (one grid holding several statutory tables):
    its heading, one of its row labels, or a header row of its own header words."""
    texts = [s.n for s in row if s.origin and s.n]
    for key, tl in labels_of(spec).items():
        if key == tkey:
            continue
        if tl.heading and any(tl.heading in t for t in texts):
            return key
        if label and tl.match_row(label)[1] >= 2:
            return key
        if not numbers and texts and sum(1 for t in dict.fromkeys(texts) if tl.is_header_text(t)) >= 2:
            return key
    return None


def _map_grid(grid: Grid, tkey: str, states: dict, ex: Extraction) -> None:
    st = states.setdefault(tkey, _TableState(labels_of(ex.spec)[tkey]))
    tl = st.tl
    header = _Header()
    context = ""
    in_header = False
    for ri, row in enumerate(grid.rows):
        label, label_end = _label_span(row, st.colmap)
        numbers = _has_number(row)
        keys, quality = tl.match_row(label, context) if label else ([], 0)
        texts = headerish = None  # computed when needed: not for a row of numbers under a label of its table
        if not keys or quality < 2:
            texts = [s.n for s in row if s.n]
            headerish = sum(1 for t in dict.fromkeys(texts) if tl.is_header_text(t))
        if (not keys or quality < 2) and headerish < 2:
            other = _other_table(row, label, numbers, tkey, ex.spec)
            if other is not None:  # this grid goes on with another statutory table
                tkey = other
                st = states.setdefault(tkey, _TableState(labels_of(ex.spec)[tkey]))
                tl = st.tl
                ex.tables_found[tkey] = "grid"
                header, context, in_header = _Header(), "", False
                label, label_end = _label_span(row, st.colmap)
                keys, quality = tl.match_row(label, context) if label else ([], 0)
                headerish = sum(1 for t in dict.fromkeys(texts) if tl.is_header_text(t))
                if tl.heading and any(tl.heading in t for t in texts) and not numbers:
                    continue  # the heading row itself
        if not numbers and texts is None:
            texts = [s.n for s in row if s.n]
            headerish = sum(1 for t in dict.fromkeys(texts) if tl.is_header_text(t))
        is_header = not numbers and bool(texts) and (tl.is_header_text(texts[-1]) or headerish >= 2) and (
            not keys or quality < 3 or len(set(texts)) > 1 and tl.is_header_text(texts[0]))
        if is_header:
            if not in_header:
                header = _Header()
            in_header = True
            header.add(row)
            st.cols = header.columns(tl)
            continue
        in_header = False
        if not keys and not (tl.unlabeled and numbers):
            if label and not numbers:
                context = label  # a group label on a row of its own
            elif numbers:
                _unknown_row(row, label, ex, tkey)
            continue
        if keys:
            rkey = _pick(keys, st, tl)
            st.last_row = tl.row_index[rkey]
            if rkey in st.assigned:
                pass  # duplicate rows are reported cell by cell (Extraction.set)
            st.assigned.add(rkey)
            if quality == 1:
                ex.add("extract.label_variant", None, _prov(grid, ri, 0, row[0]),
                       place=ex.row_place(tkey, rkey), actual=label)
        else:
            rkey = None
        context = label if label and not keys else context
        _read_values(grid, ri, row, rkey, tkey, st, ex, label_end)


def _join_split_row(g1: Grid, g2: Grid, tl: TableLabels) -> None:
    """A row broken across a page: the end of ``g1`` and the start of ``g2`` are one row when only
    their joined label is a label of the format (and no column holds text on both sides)."""
    if not g1.rows or not g2.rows or len(g1.rows[-1]) != len(g2.rows[0]):
        return
    a, b = g1.rows[-1], g2.rows[0]
    if not _has_number(a) and not _has_number(b):  # a header row broken across the page
        texts = [(x.text.strip(), y.text.strip()) for x, y in zip(a, b)]
        joined = [norm(tx + ty) for tx, ty in texts]
        if (any(tx and ty for tx, ty in texts) and all(not j or tl.is_header_text(j) for j in joined)
                and not all(not ty or tl.is_header_text(norm(ty)) for _tx, ty in texts)):
            g1.rows[-1] = [Slot(tx + ty, x.origin, x.cell, x.row0, x.col0, x.prov)
                           for (tx, ty), x in zip(texts, a)]
            del g2.rows[0]
        return
    la, lb = _label_text(a), _label_text(b)
    if not la or not lb:
        return
    if tl.match_row(la)[1] == 3 and tl.match_row(lb)[1] >= 2:
        return
    merged = []
    for x, y in zip(a, b):
        tx, ty = x.text.strip(), y.text.strip()
        if tx and ty and (_is_valueish(tx) or _is_valueish(ty)):
            return  # values on both sides: not one row
        if tx and ty and x.cell != a[max(0, a.index(x) - 1)].cell or tx and ty and a.index(x) == 0:
            text = tx + ty
        else:
            text = tx or ty
        merged.append(Slot(text, x.origin, x.cell, x.row0, x.col0, x.prov if tx or not ty else y.prov))
    keys, q = tl.match_row(_label_text(merged))
    if not keys or q < 3:
        return
    g1.rows[-1] = merged
    del g2.rows[0]


def _pick(keys: list[str], st: _TableState, tl: TableLabels) -> str:
    if len(keys) == 1:
        return keys[0]
    after = [k for k in keys if tl.row_index[k] > st.last_row and k not in st.assigned]
    if after:
        return min(after, key=lambda k: tl.row_index[k])
    free = [k for k in keys if k not in st.assigned]
    return (free or keys)[0]


_COLUMNS: dict = {}


class _Header:
    """The header rows read so far, and what :func:`_columns` depends on: each position's compact text,
    whether a cell starts there, and which positions belong to the same cell (numbered in order)."""

    def __init__(self):
        self.rows: list[list[Slot]] = []
        self.sig: list[tuple] = []
        self._cells: dict[int, int] = {}

    def add(self, row: list[Slot]) -> None:
        cells = self._cells
        self.rows.append(row)
        self.sig.append(tuple((s.n, s.origin, cells.setdefault(s.cell, len(cells))) for s in row))

    def columns(self, tl: TableLabels) -> _Columns:
        """:func:`_columns` of these rows, remembered per layout (header rows are printed alike in every
        report of a layout)."""
        key = (tl, tuple(self.sig))
        hit = _COLUMNS.get(key)
        if hit is None:
            if len(_COLUMNS) > 10_000:
                _COLUMNS.clear()
            hit = _COLUMNS[key] = _Columns(_columns(self.rows, tl), tl.table)
        return hit


class _Columns:
    """The value columns a header gives (never changed once made: shared by every report of a layout),
    and per row key the cells a row under it is read into."""

    def __init__(self, colmap: dict, table):
        self.colmap = colmap
        self.items = sorted(colmap.items())
        self.min = min(colmap) if colmap else 0
        self.max = max(colmap) if colmap else 0
        self.table = table
        self._plans: dict = {}

    def plan(self, rkey: str | None) -> list[tuple]:
        """(grid column, cell key, how the cell is read) of each value column that is a cell of row
        ``rkey`` (or names its own row), in column order."""
        if not self.items:
            return []
        hit = self._plans.get(rkey)
        if hit is None:
            table = self.table
            meta = _cell_meta(table)
            hit = []
            for ci, (ckey, crow) in self.items:
                r = crow or rkey
                if r is None or not ckey:
                    continue
                how = meta.get((r, ckey))
                if how is not None:  # else not a cell of the table
                    hit.append((ci, (table.key, r, ckey), how))
            self._plans[rkey] = hit
        return hit


_NO_COLUMNS = _Columns({}, None)


def _columns(header_rows: list[list[Slot]], tl: TableLabels) -> dict[int, tuple[str, str | None]]:
    """Grid column -> (column key, row key of a cell header or None), from the header rows' paths."""
    width = max(len(r) for r in header_rows)
    out: dict[int, tuple[str, str | None]] = {}
    used_cells: set[int] = set()
    ties: dict[tuple, int] = {}
    block_hint = None
    for r in header_rows:
        texts = {norm(s.text) for s in r if s.origin}
        for bi, title in enumerate(tl.block_titles):
            if title in texts:
                block_hint = bi
    for c in range(width):
        path = []
        leaf_cell = None
        for r in header_rows:
            if c < len(r):
                t = norm(r[c].text)
                if t and (not path or path[-1] != t):
                    path.append(t)
                    leaf_cell = r[c].cell
        if not path or leaf_cell in used_cells:
            continue
        if path[-1] in tl.corners or path[-1] in tl.block_titles:
            continue
        found = tl.column_for(path, block_hint)
        if not found:
            continue
        # several blocks may share a header (the same column key): any is fine when they agree
        options = list(dict.fromkeys((c2.key, c2.row) for _bi, c2 in found))
        used_cells.add(leaf_cell)
        if len(options) == 1:
            out[c] = options[0]
            continue
        # the same header printed over several groups (结果维持 under each group) with the group
        # header not above this column: the n-th occurrence is the n-th group, in the layout's order
        seen = ties.setdefault(tuple(options), 0)
        ties[tuple(options)] = seen + 1
        if seen < len(options):
            out[c] = options[seen]
    return out


def _prov(grid: Grid, ri: int, ci: int, slot: Slot) -> dict:
    p = dict(grid.prov)
    p.update({"row": slot.row0 + 1, "col": slot.col0 + 1})
    p.update(slot.prov)
    return p


def _read_values(grid: Grid, ri: int, row: list[Slot], rkey: str | None, tkey: str, st: _TableState,
                 ex: Extraction, label_end: int = 0) -> None:
    table = st.tl.table
    columns = st.cols
    cols = columns.colmap
    taken: set[int] = set()
    if cols and rkey is not None and columns.min < label_end:
        # the header is not aligned with this row (a header row without the corner cell): the value
        # columns start right after the label, or the row is not read at all — never read shifted
        shift = label_end - columns.min
        if columns.max + shift < len(row) and all(row[c + shift].valueish for c in cols):
            cols = {c + shift: v for c, v in cols.items()}
            columns = _Columns(cols, table)
        else:
            n = sum(1 for r, _c in table.cells if r == rkey)
            ex.add("extract.columns_unknown", None, _prov(grid, ri, 0, row[0]), place=ex.row_place(tkey, rkey),
                   count=len(row) - label_end, expected=n)
            return
    last = columns.max if cols else len(row)
    if cols and last + 1 < len(row) and any(s.origin and s.cell >= 0 and s.num for s in row[last + 1:]):
        # numbers right of the last value column: this row's cells are not where the header says
        n = sum(1 for r, _c in table.cells if r == rkey) if rkey else len(cols)
        ex.add("extract.columns_unknown", None, _prov(grid, ri, 0, row[0]),
               place=ex.row_place(tkey, rkey) if rkey else f"表「{table.heading}」的一行", count=len(row) - label_end,
               expected=n)
        return
    gprov = grid.prov
    values, provs = ex.values, ex.prov
    width = len(row)
    for ci, key, how in columns.plan(rkey):
        if ci >= width:
            continue
        slot = row[ci]
        cell = slot.cell
        if cell in taken or cell < 0:  # < 0: a position the source row has no cell for
            continue
        taken.add(cell)
        if not slot.origin and slot.row0 != ri:
            # covered by a value printed once for several rows: it belongs to the row where it starts
            if key not in ex.values:
                prov = _prov(grid, ri, ci, slot)
                ex.set(key, None, prov)
                ex.add("extract.spanned", key, prov)
            continue
        text = slot.text
        stripped = text.strip()
        # the provenance of _prov(), with the cell's text
        prov = {**gprov, "row": slot.row0 + 1, "col": slot.col0 + 1, **slot.prov, "text": stripped}
        kind, col_label, count = how
        value, code, _raw = _read_number(text, kind, col_label)
        if count and value is not None and isinstance(value, float) and not value.is_integer():
            value, code = None, "extract.unparseable"
        if values.get(key) is None:  # Extraction.set, without a call for the first reading of a cell
            values[key] = value
            provs[key] = prov
        else:
            ex.set(key, value, prov)
        if code:
            ex.add(code, key, prov, actual=stripped, detail="")
    if rkey is not None and not cols:
        _by_order(grid, ri, row, rkey, tkey, ex)


@functools.lru_cache(maxsize=64)
def _cell_meta(table) -> dict[tuple[str, str], tuple[str, str, bool]]:
    """(row, column) -> (the kind a cell's text is read as, its column's label, whether it is a count)."""
    out = {}
    for (r, c), kind in table.kinds.items():
        kind = kind or "count"
        kind = "amount" if kind == "total" else kind
        out[(r, c)] = ("amount" if kind == "amount" else kind, table.column(c).label, kind == "count")
    return out


def _store(key, text: str, stripped: str, prov: dict, how: tuple, ex: Extraction) -> None:
    kind, col_label, count = how
    value, code, _raw = _read_number(text or "", kind, col_label)
    if count and value is not None and isinstance(value, float) and not value.is_integer():
        value, code = None, "extract.unparseable"
    ex.set(key, value, prov)
    if code:
        ex.add(code, key, prov, actual=stripped, detail="")


def _read_cell(key, text: str, prov: dict, ex: Extraction) -> None:
    stripped = text.strip()
    _store(key, text, stripped, dict(prov, text=stripped), _cell_meta(ex.spec.table(key[0]))[(key[1], key[2])], ex)


def _by_order(grid: Grid, ri: int, row: list[Slot], rkey: str, tkey: str, ex: Extraction) -> None:
    """No column headers: the row's value cells in printed order, only when their number is the row's."""
    table = ex.spec.table(tkey)
    cells = [(r, c) for r, c in table.cells if r == rkey]
    slots, seen = [], set()
    started = False
    for ci, s in enumerate(row):
        if s.cell in seen or s.cell < 0:
            continue
        seen.add(s.cell)
        if not started and not s.valueish:
            continue
        started = True
        slots.append((ci, s))
    if len(slots) != len(cells):
        ex.add("extract.columns_unknown", None, _prov(grid, ri, 0, row[0]), place=ex.row_place(tkey, rkey),
               count=len(slots), expected=len(cells))
        return
    for (ci, s), (r, c) in zip(slots, cells):
        _read_cell((tkey, r, c), s.text, _prov(grid, ri, ci, s), ex)


def _unknown_row(row: list[Slot], label: str, ex: Extraction, tkey: str) -> None:
    vals = [s.text.strip() for s in row if s.origin and s.n and s.valueish]
    group = labels_of(ex.spec)[tkey].group_of(label)
    if group:
        t = ex.spec.table(tkey)
        ex.add("extract.group_row", None, None, heading=t.heading, label=label, values="、".join(vals), n=len(group),
               rows="、".join(t.row(k).label for k in group), table=tkey)
        return
    zero = all(read_number(v, "amount").value == 0 for v in vals)
    ex.add("extract.unknown_row", None, None, heading=ex.spec.table(tkey).heading, label=label or "（无标签）",
           values="、".join(vals), note="（全为 0，已忽略）" if zero else "（已忽略）")
