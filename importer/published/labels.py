"""Text normalisation and the spec's labels as matchers.

Published reports print the spec's labels with every kind of variation: full-width
or half-width brackets and digits, spaces and line breaks inside a label, curly or
straight quotes, ``1.`` / ``1、`` / ``1．`` numbering, a parenthetical note after a
label. :func:`compact` reduces a text to a comparable form and keeps, for every
character of the result, its position in the original (for provenance).

:class:`TableLabels` holds, for one table of a format, the variants under which each
row and column may be printed. Everything comes from the format (row and column
labels, the layout's header paths, block titles and corners): nothing here knows
a label of a particular format.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# Characters dropped by compact(): whitespace of every kind and quotes (reports print
# “…”, "…", 「…」 or no quotes at all around the same words).
_DROP = set(" \t\r\n\f\v\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff\"'“”‘’「」『』")
# Numbering written as 1、 or 1． is compared as 1.
_SAME = {"、": ".", "．": ".", "﹒": ".", "。": "."}
# A leading outline number: (一) 一、 1. 1、 （1）
NUMBERING_RE = re.compile(r"^(?:\([一二三四五六七八九十\d]+\)|[一二三四五六七八九十]+\.|\d+\.)")


@functools.lru_cache(maxsize=4096)
def _norm_char(c: str) -> str:
    if c in _DROP:
        return ""
    n = unicodedata.normalize("NFKC", c)
    out = []
    for ch in n:
        if ch in _DROP or ch.isspace():
            continue
        out.append(_SAME.get(ch, ch))
    return "".join(out)


# Runs of characters that compact() keeps as they are (CJK unified ideographs, ASCII letters and digits: no
# NFKC mapping, not dropped, not renumbered) and runs of whitespace (all dropped) are taken at once; every
# other character goes through _norm_char.
PLAIN_RE = re.compile(r"([\u4e00-\u9fff0-9A-Za-z]+)|\s+")


def compact(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace and quotes, NFKC-normalised; and each character's original index."""
    out: list[str] = []
    idx: list[int] = []
    add, at, ats = out.append, idx.append, idx.extend
    pos = 0
    for m in PLAIN_RE.finditer(text):
        start, end = m.span()
        for i in range(pos, start):
            n = _norm_char(text[i])
            if n:
                add(n)
                if len(n) == 1:
                    at(i)
                else:
                    ats([i] * len(n))
        plain = m.group(1)
        if plain:
            add(plain)
            ats(range(start, end))
        pos = end
    for i in range(pos, len(text)):
        n = _norm_char(text[i])
        if n:
            add(n)
            ats([i] * len(n))
    return "".join(out), idx


@functools.lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """The compact form of ``text`` (no index)."""
    if text.isascii() and text.isalnum():
        return text
    return "".join(_norm_char(c) for c in text or "")


def strip_numbering(s: str) -> str:
    """``s`` (compact) without its leading outline number."""
    return NUMBERING_RE.sub("", s, count=1)


def numbering(s: str) -> str:
    m = NUMBERING_RE.match(s)
    return m.group(0) if m else ""


@dataclass
class RowLabels:
    key: str
    leaves: tuple[str, ...]  # compact variants of the row's own label, longest first
    bare: tuple[str, ...]  # the same without the outline number
    ancestors: tuple[str, ...]  # compact group labels above it (e.g. a section and a sub-group)


@dataclass
class ColumnLabels:
    key: str  # column key; for a block column that names a cell: "row.column"
    path: tuple[str, ...]  # compact header path, outermost first
    row: str | None = None  # set when the header names one cell (cell: row.column)


class TableLabels:
    """The matchers of one table of a format."""

    def __init__(self, table):
        self.table = table
        self._cache: dict = {}
        self._col_cache: dict = {}
        self.rows: list[RowLabels] = []
        self.row_index = {a.key: i for i, a in enumerate(table.rows)}
        layout_rows: dict[str, tuple[str, ...]] = {}
        self.block_titles: list[str] = []
        self.corners: list[str] = []
        self.columns: list[list[ColumnLabels]] = []  # per block
        self.block_rows: list[list[str]] = []  # per block: row keys in the block
        for b in table.blocks:
            if b.title:
                self.block_titles.append(norm(b.title))
            self.corners.extend(norm(c) for c in b.corner if c)
            cols = []
            for c in b.columns:
                key = c.column if c.column else None
                cols.append(ColumnLabels(key or "", tuple(norm(h) for h in c.header), c.row))
            self.columns.append(cols)
            self.block_rows.append([r.row for r in b.rows if r.row])
            for r in b.rows:
                if r.row:
                    layout_rows[r.row] = tuple(h for h in r.header if h)
        for a in table.rows:
            label_parts = tuple(p for p in a.label.split(" ") if p)
            header = layout_rows.get(a.key, ())
            leaves = {norm(label_parts[-1])} if label_parts else set()
            if header:
                leaves.add(norm(header[-1]))
            leaves.discard("")
            ancestors = [norm(p) for p in (header[:-1] if header else label_parts[:-1])]
            ancestors += [norm(p) for p in label_parts[:-1] if norm(p) not in ancestors]
            ordered = tuple(sorted(leaves, key=len, reverse=True))
            bare = tuple(dict.fromkeys(strip_numbering(v) for v in ordered if strip_numbering(v)))
            self.rows.append(RowLabels(a.key, ordered, bare, tuple(ancestors)))
        self.unlabeled = not any(layout_rows.values()) and all(
            c.row for cols in self.columns for c in cols)
        self.heading = norm(table.heading)
        # every header word of the table (to recognise header rows of a grid)
        words = set(self.block_titles) | set(self.corners)
        for cols in self.columns:
            for c in cols:
                words.update(c.path)
        words.update(norm(a.label) for a in table.columns)
        self.header_words = {w for w in words if w}
        self._words_longest_first = sorted(self.header_words, key=len, reverse=True)
        self._header_cache: dict[str, bool] = {}

    # ------------------------------------------------------------------ rows
    def match_row(self, text: str, context: str = "") -> tuple[list[str], int]:
        hit = self._cache.get((text, context))
        if hit is None:
            hit = self._cache[(text, context)] = self._match_row(text, context)
        return list(hit[0]), hit[1]

    def _match_row(self, text: str, context: str = "") -> tuple[list[str], int]:
        """Row keys whose label best fits ``text`` (compact); ``context`` is the text of group cells above.

        Returns (keys, quality): quality 3 = the full label with its number, 2 = the label
        without its number, 1 = the printed text is a shorter form of the label (e.g. a
        row printed without a qualifier). Several keys = a tie (order decides).
        """
        if not text:
            return [], 0
        best: list[tuple[int, int, str]] = []
        for r in self.rows:
            q = 0
            length = 0
            for v in r.leaves:
                if text == v or (text.endswith(v) and len(v) >= 2):
                    q, length = 3, len(v)
                    break
            if not q:
                for v in r.bare:
                    if len(v) >= 2 and (text == v or text.endswith(v)):
                        # the number, when printed, must be this row's
                        head = text[: len(text) - len(v)]
                        tail_num = re.search(r"(\([一二三四五六七八九十\d]+\)|[一二三四五六七八九十\d]+\.)$", head)
                        if tail_num and not any(tail_num.group(1) == numbering(leaf) for leaf in r.leaves):
                            continue
                        q, length = 2, len(v)
                        break
            if not q:
                for v in r.bare:
                    core = text
                    if len(core) >= 4 and v.endswith(strip_numbering(core)) and len(strip_numbering(core)) >= 4:
                        q, length = 1, len(core)
                        break
            if not q:
                continue
            whole = context + text
            anc = sum(1 for a in r.ancestors if a and a in whole)
            best.append((q * 1000 + length * 10 + anc, q, r.key))
        if not best:
            return [], 0
        top = max(b[0] for b in best)
        keys = [k for s, _q, k in best if s == top]
        q = next(q for s, q, _k in best if s == top)
        if q == 1 and len(keys) > 1:
            return [], 0  # a shortened label that fits several rows: no row is taken
        return keys, q

    def group_of(self, text: str) -> list[str]:
        """Row keys under the group whose label ``text`` ends with (a group printed as one row)."""
        if not text:
            return []
        for r in self.rows:
            if r.ancestors and len(r.ancestors[-1]) >= 2 and text.endswith(r.ancestors[-1]):
                group = r.ancestors[-1]
                return [x.key for x in self.rows if x.ancestors and x.ancestors[-1] == group]
        return []

    def is_header_text(self, text: str) -> bool:
        """``text`` (compact) is made of header words only (a title, corner or column header)."""
        if not text:
            return False
        if text in self.header_words:
            return True
        hit = self._header_cache.get(text)
        if hit is None:
            rest = text
            for w in self._words_longest_first:
                if w in rest:
                    rest = rest.replace(w, "")
            hit = self._header_cache[text] = not rest
        return hit

    def column_for(self, path: list[str], block_hint: int | None = None) -> list[tuple[int, ColumnLabels]]:
        """Block columns whose header path fits ``path`` (compact header texts, outermost first)."""
        key = (tuple(path), block_hint)
        hit = self._col_cache.get(key)
        if hit is None:
            hit = self._col_cache[key] = self._column_for(list(path), block_hint)
        return hit

    def _column_for(self, path: list[str], block_hint: int | None = None) -> list[tuple[int, ColumnLabels]]:
        path = [p for i, p in enumerate(path) if p and (i == 0 or p != path[i - 1])]
        if not path:
            return []
        leaf = path[-1]
        scored = []
        for bi, cols in enumerate(self.columns):
            for c in cols:
                if not c.path:
                    continue
                cleaf = c.path[-1]
                if leaf == cleaf:
                    q = 2
                elif (leaf in cleaf or cleaf in leaf) and min(len(leaf), len(cleaf)) >= 2:
                    q = 1
                else:
                    continue
                anc = sum(1 for a in c.path[:-1] if any(a == p or a in p for p in path[:-1]))
                scored.append((q * 100 + anc * 10 + (1 if bi == block_hint else 0), bi, c))
        if not scored:
            return []
        top = max(s[0] for s in scored)
        return [(bi, c) for s, bi, c in scored if s == top]


@functools.lru_cache(maxsize=16)
def labels_of(spec) -> dict[str, TableLabels]:
    return {t.key: TableLabels(t) for t in spec.tables}
