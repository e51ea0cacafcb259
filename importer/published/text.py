"""Tables read from plain text: labels located in order, the digits between them split with certainty.

A text extraction of a report (a page's text, a PDF without ruled tables, a
``.txt`` or ``.md`` file) runs a table's cells together: ``…申请数量2100000 21
二、…``. For each table, the table is located by its heading and its header words
(the layout's block titles, corners and column headers); then each row's label
(its printed form with or without its outline number; numbering, spacing and
width do not matter) is searched after the previous one. The row's run is the
digits (and spaces) between the end of its label and the start of the next
label: the number of the next label (the ``2`` of ``…0002.其他…``) is part of
that label, never data. Runs are split by :mod:`importer.published.split`.

A table whose layout has no row labels (one row of cells named by their column
headers) takes the first run of digits after its header words.
"""

from __future__ import annotations

import bisect
import functools
import re

from importer.published import split as splitting
from importer.published.labels import compact, labels_of, numbering, strip_numbering
from importer.published.model import Extraction

WINDOW = 400  # compact characters between one row's label and the next (digits included)
_RUN_CHARS = re.compile(r"(?:[0-9０-９\s\u00a0\u3000.,，．]|[-+－](?=[0-9０-９]))*")
_PAREN_RE = re.compile(r"^\s*[（(][^（()）0-9]{0,60}[)）]")


class Located:
    """A text with line starts (and page starts) for provenance."""

    def __init__(self, text, pages: list[int] | None = None, kind: str = "text"):
        """``text``: the text, or a function returning it (called once, when the text is first needed)."""
        self._text = text
        self.kind = kind
        self.pages = pages  # offsets where pages 2, 3, ... start
        self._compact = None
        self._lines = None

    @property
    def text(self) -> str:
        if callable(self._text):
            self._text = self._text()
        return self._text

    @property
    def line_starts(self) -> list[int]:
        if self._lines is None:
            self._lines = [0] + [m.end() for m in re.finditer(r"\n", self.text)]
        return self._lines

    @property
    def ctext(self) -> str:
        if self._compact is None:
            self._compact = compact(self.text)
        return self._compact[0]

    @property
    def cidx(self) -> list[int]:
        if self._compact is None:
            self._compact = compact(self.text)
        return self._compact[1]

    def prov(self, pos: int, run: str) -> dict:
        line = bisect.bisect_right(self.line_starts, pos)
        p = {"kind": self.kind}
        if self.pages is not None:
            page = bisect.bisect_right(self.pages, pos) + 1
            first_line = bisect.bisect_right(self.line_starts, self.pages[page - 2]) if page > 1 else 1
            p.update({"page": page, "line": line - first_line + 1, "source": "text"})
        else:
            p.update({"line": line, "col": pos - self.line_starts[line - 1] + 1})
        p["text"] = run.strip()
        return p

    def orig(self, cpos: int) -> int:
        """Original offset of compact position ``cpos`` (or the end)."""
        return self.cidx[cpos] if cpos < len(self.cidx) else len(self.text)


def _table_spans(doc: Located, spec) -> dict[str, tuple[int, int]]:
    """Compact span (start, end) of each table's region: from its heading to the next table's heading."""
    starts = []
    for t in spec.tables:
        tl = labels_of(spec)[t.key]
        pos = doc.ctext.find(tl.heading) if tl.heading else -1
        if pos < 0:
            # no heading: the first header word of the table
            cands = [doc.ctext.find(w) for w in (tl.block_titles + tl.corners) if w]
            cands = [c for c in cands if c >= 0]
            pos = min(cands) if cands else -1
        starts.append((t.key, pos))
    found = sorted((p, k) for k, p in starts if p >= 0)
    spans = {}
    for i, (p, k) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else len(doc.ctext)
        spans[k] = (p, end)
    return spans


def _anchor(doc: Located, tl, start: int, end: int) -> int:
    """Where the table's grid starts: its first header word after the heading."""
    best = end
    for w in tl.block_titles + tl.corners + sorted({c.path[0] for cols in tl.columns for c in cols if c.path}):
        if not w:
            continue
        p = doc.ctext.find(w, start, end)
        if 0 <= p < best:
            best = p
    return best if best < end else start + len(tl.heading)


_GAP_CACHE: dict = {}


def _gap_pattern(r):
    """A row's label with its numbers printed inside it: a cell whose label wraps onto more lines than
    its numbers (``1.属于国家 0 0 0 …`` / ``公开 秘密``, a PDF without ruled tables). The numbers come
    between two parts of the label, maybe followed by the wrapped rest of a group label above it."""
    hit = _GAP_CACHE.get(id(r))
    if hit is not None and hit[0] is r:
        return hit[1]
    alts = []
    frags = set()
    for a in r.ancestors:
        frags.update(a[k:] for k in range(1, len(a)) if len(a) - k >= 1)
    frag = "(?:" + "|".join(re.escape(f) for f in sorted(frags, key=len, reverse=True)) + ")?" if frags else ""
    for v in r.leaves:
        lead = len(numbering(v))
        for k in range(lead + 2, len(v) - 1):
            group = f"(?P<run{len(alts)}>" + r"[-+]?\d[\d.,+-]*)"
            alts.append(re.escape(v[:k]) + group + frag + re.escape(v[k:]))
    pat = re.compile("|".join(alts)) if alts else None
    _GAP_CACHE[id(r)] = (r, pat)
    return pat


def _find_gap(doc: Located, r, start: int, end: int):
    pat = _gap_pattern(r)
    if pat is None:
        return None
    m = pat.search(doc.ctext, start, end)
    if m is None:
        return None
    name = next(n for n, v in m.groupdict().items() if v is not None)
    return (m.start(), m.end(), 3, m.span(name))


def _find_label(doc: Located, r, start: int, end: int, others=()) -> tuple | None:
    """(compact start, compact end, quality, gap) of row ``r``'s label after ``start``; ``gap`` is the
    compact span of numbers printed inside the label (else None)."""
    hit = _find_label_plain(doc, r, start, end, others)
    if hit is None or hit[2] == 1 or not _run_follows(doc, hit[1]):
        gap = _find_gap(doc, r, start, end)
        if gap is not None and (hit is None or gap[0] <= hit[0]):
            return gap
    return None if hit is None else hit + (None,)


def _run_follows(doc: Located, cpos: int) -> bool:
    """Digits right after a label (after a note in brackets, if any)."""
    o = doc.orig(cpos) if cpos < len(doc.ctext) else len(doc.text)
    seg = doc.text[o:o + 200]
    m = _PAREN_RE.match(seg)
    off = m.end() if m else 0
    return bool(splitting.tokens_of(_RUN_CHARS.match(seg, off).group(0)))


def _find_label_plain(doc: Located, r, start: int, end: int, others=()) -> tuple[int, int, int] | None:
    best = None
    for q, variants in ((3, r.leaves), (2, r.bare)):
        for v in variants:
            if len(v) < 2:
                continue
            p = doc.ctext.find(v, start, end)
            while p >= 0 and q == 2:
                # an unnumbered label must not be the tail of a longer word or of another numbered label
                prev = doc.ctext[p - 1] if p > 0 else ""
                short = len(v) < 4 and not _followed_by_digits(doc, p + len(v))  # 其他 inside 其他处理
                if short or (prev and not (prev.isdigit() or prev in ".)）") and not _ends_run(doc, p)):
                    p = doc.ctext.find(v, p + 1, end)
                    continue
                break
            if p >= 0 and (best is None or p < best[0] or (p == best[0] and p + len(v) > best[1])):
                best = (p, p + len(v), q)
        if best is not None:
            return best
    # a shorter printed form (the label without a qualifier), at least four characters, that is not
    # the end of another row's label (政府信息公开申请数量 ends the labels of both 一 and 二)
    for v in r.bare:
        for cut in range(1, len(v) - 3):
            tail = v[cut:]
            p = doc.ctext.find(tail, start, end)
            while p >= 0:
                e = p + len(tail)
                inside = any(leaf.endswith(tail) and doc.ctext[max(0, e - len(leaf)):e] == leaf
                             for r2 in others for leaf in r2.leaves + r2.bare if r2 is not r)
                if not inside and _followed_by_digits(doc, e):
                    return (p, e, 1)
                p = doc.ctext.find(tail, p + 1, end)
    return None


def _ends_run(doc: Located, cpos: int) -> bool:
    return cpos > 0 and doc.ctext[cpos - 1].isdigit()


_NUMBERING_AHEAD = re.compile(r"\d+\.(?!\d)")


def _followed_by_digits(doc: Located, cpos: int) -> bool:
    """Data digits follow (not the number of the next label, ``3.危及…``)."""
    return (cpos < len(doc.ctext) and doc.ctext[cpos].isdigit()
            and not _NUMBERING_AHEAD.match(doc.ctext, cpos))


def map_text(doc: Located, ex: Extraction, only: set[str] | None = None) -> None:
    spec = ex.spec
    spans = _table_spans(doc, spec)
    for t in spec.tables:
        if only is not None and t.key not in only:
            continue
        if t.key not in spans:
            continue
        tl = labels_of(spec)[t.key]
        start, end = spans[t.key]
        cur = _anchor(doc, tl, start, end)
        if tl.unlabeled:
            _unlabeled(doc, t, cur, end, ex)
            continue
        # locate every row's label, in order (order only decides where the search starts)
        found: list[tuple[int, int, int, str]] = []
        for r in tl.rows:
            # a row's label follows the previous one closely (group labels, page breaks in between);
            # one found far away is in the text after the table, not in it
            hit = _find_label(doc, r, cur, min(end, cur + WINDOW), tl.rows)
            if hit is None:
                hit = _find_label(doc, r, start, cur, tl.rows)
                if hit is not None and any(f[0] <= hit[0] < f[1] for f in found):
                    hit = None
            if hit is None:
                continue
            found.append((hit[0], hit[1], hit[2], r.key, hit[3]))
            cur = max(cur, hit[1])
        found = _in_order(found)
        if not found:
            continue
        ex.tables_found.setdefault(t.key, "text")
        _group_rows(doc, t, tl, found, start, end, ex)
        found.sort()
        runs = []
        for i, (cs, ce, q, rkey, gap) in enumerate(found):
            if gap is not None:  # the numbers printed inside the label
                o_start = doc.orig(gap[0])
                run = doc.text[o_start:doc.orig(gap[1] - 1) + 1]
                runs.append((rkey, run, o_start))
                continue
            nxt = found[i + 1][0] if i + 1 < len(found) else end
            o_start, o_next = doc.orig(ce), doc.orig(nxt) if nxt < len(doc.ctext) else len(doc.text)
            seg = doc.text[o_start:o_next]
            m = _PAREN_RE.match(seg)  # a note in brackets after the label
            off = m.end() if m else 0
            run = _RUN_CHARS.match(seg, off).group(0)
            if q == 1:
                ex.add("extract.label_variant", None, doc.prov(doc.orig(cs), run), place=ex.row_place(t.key, rkey),
                       actual=doc.ctext[cs:ce])
            runs.append((rkey, run, o_start + off))
        _split_runs(doc, t, runs, ex)


def _in_order(found: list) -> list:
    """The longest run of labels (in the format's row order) whose positions increase.

    A label found out of order (规章 in a sentence after the table, when the table has no 规章 row) is
    not a row of the table: dropped, so that the row is reported missing rather than read from prose.
    """
    n = len(found)
    if n < 2:
        return found
    best = [1] * n
    prev = [-1] * n
    for i in range(n):
        for j in range(i):
            if found[j][0] < found[i][0] and best[j] + 1 > best[i]:
                best[i], prev[i] = best[j] + 1, j
    i = max(range(n), key=lambda k: best[k])
    keep = []
    while i >= 0:
        keep.append(found[i])
        i = prev[i]
    return keep[::-1]


def _group_rows(doc: Located, t, tl, found, start: int, end: int, ex: Extraction) -> None:
    """A group whose rows are all missing, printed as one row with digits after its label: say so."""
    have = {f[3] for f in found}
    groups: dict[str, list[str]] = {}
    for r in tl.rows:
        if r.ancestors:
            groups.setdefault(r.ancestors[-1], []).append(r.key)
    for g, keys in groups.items():
        if len(g) < 2 or any(k in have for k in keys):
            continue
        p = doc.ctext.find(g, start, end)
        if p < 0:
            continue
        o = doc.orig(p + len(g))
        run = _RUN_CHARS.match(doc.text, o).group(0)
        if run.strip():
            ex.add("extract.group_row", None, doc.prov(o, run), heading=t.heading, label=doc.ctext[p:p + len(g)],
                   values=run.strip(), n=len(keys), rows="、".join(t.row(k).label for k in keys), table=t.key)


def _cells_of_row(t, rkey: str) -> list[tuple[str, str, str]]:
    return list(_row_cells(t)[rkey][0])


@functools.lru_cache(maxsize=64)
def _row_cells(t) -> dict[str, tuple[tuple, list[str]]]:
    """Per row key of table ``t``: its cell keys in order, and the kind each cell's number is read as."""
    out: dict[str, tuple[list, list]] = {}
    for r, c in t.cells:
        keys, kinds = out.setdefault(r, ([], []))
        keys.append((t.key, r, c))
        kinds.append(_kind(t, r, c))
    return {r: (tuple(keys), kinds) for r, (keys, kinds) in out.items()}


def _kind(t, r: str, c: str) -> str:
    k = t.kinds.get((r, c)) or "count"
    return "amount" if k == "amount" else ("signed_count" if k == "signed_count" else "count")


def _split_runs(doc: Located, t, runs: list[tuple[str, str, int]], ex: Extraction) -> None:
    rowruns = []
    for rkey, run, pos in runs:
        keys = _cells_of_row(t, rkey)
        toks = splitting.tokens_of(run.replace("．", ".").translate(_FW))
        prov = doc.prov(pos, run)
        if not toks:
            for k in keys:
                ex.set(k, None, prov)
                ex.add("extract.blank", k, prov, actual="")
            continue
        kinds = _row_cells(t)[rkey][1]
        cands = splitting.candidates(toks, kinds)
        rowruns.append((splitting.RowRun(keys, run.strip(), cands), prov))
    _decide(rowruns, t, ex)


_FW = str.maketrans("０１２３４５６７８９－＋", "0123456789-+")


@functools.lru_cache(maxsize=64)
def _table_identities(spec, tkey: str) -> list:
    """The identities whose cells are all in one table."""
    from importer.published.identities import identities_of

    return [i for i in identities_of(spec) if all(c[0] == tkey for c in i.cells)]


def _decide(rowruns, t, ex: Extraction) -> None:
    known = {k: v for k, v in ex.values.items() if v is not None}
    idents = _table_identities(ex.spec, t.key)
    splitting.solve([rr for rr, _ in rowruns], known, idents)
    for rr, prov in rowruns:
        ex.splits["runs"] += 1
        if rr.chosen is not None:
            n = len(rr.cands or [])
            if n > 1:
                ex.splits["by_identity"] += 1
            if len(splitting.tokens_of(rr.run)) != len(rr.keys):
                ex.splits["split"] += 1
            for k, v in zip(rr.keys, rr.chosen):
                ex.set(k, v, dict(prov, split={"candidates": n, "by": rr.by}) if n > 1 or rr.by != "digits"
                       else dict(prov, split={"candidates": 1, "by": "digits"}))
            continue
        for k in rr.keys:
            ex.set(k, None, prov)
        if rr.cands is None or (rr.cands and rr.survivors):
            ex.splits["ambiguous"] += 1
            shown = rr.survivors or rr.cands or []
            cand_text = "；".join(" | ".join(_fmt(v) for v in c) for c in shown[:6])
            if rr.cands is None or len(shown) > 6:
                cand_text += "；……"
            ex.add("extract.ambiguous", None, prov, place=ex.row_place(*rr.keys[0][:2]), run=rr.run,
                   count=len(shown) if rr.cands is not None else f"{splitting.MAX_CANDIDATES}+", n=len(rr.keys),
                   candidates=cand_text, table=rr.keys[0][0], row=rr.keys[0][1],
                   split_keys=list(rr.keys), split_candidates=[list(c) for c in shown] if rr.cands is not None else [])
        else:
            ex.splits["unparseable"] += 1
            ex.add("extract.unparseable_run", None, prov, place=ex.row_place(*rr.keys[0][:2]), run=rr.run,
                   n=len(rr.keys), table=rr.keys[0][0], row=rr.keys[0][1])


def _fmt(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _unlabeled(doc: Located, t, cur: int, end: int, ex: Extraction) -> None:
    o_cur, o_end = doc.orig(cur), doc.orig(end) if end < len(doc.ctext) else len(doc.text)
    m = re.search(r"[0-9０-９]", doc.text[o_cur:o_end])
    if not m:
        return
    pos = o_cur + m.start()
    run = _RUN_CHARS.match(doc.text, pos).group(0)
    ex.tables_found.setdefault(t.key, "text")
    keys = [(t.key, r, c) for r, c in t.cells]
    toks = splitting.tokens_of(run.translate(_FW))
    kinds = [_kind(t, k[1], k[2]) for k in keys]
    rr = splitting.RowRun(keys, run.strip(), splitting.candidates(toks, kinds))
    _decide([(rr, doc.prov(pos, run))], t, ex)


__all__ = ["Located", "map_text", "strip_numbering"]
