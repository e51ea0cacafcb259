"""The readers of published reports as they were written first: plain, slow, obviously right.

The fast paths of ``importer/published`` (one XSLT pass over a Word document, HTML cells read without a
generator per cell, ``compact`` a run of plain characters at a time, pruned digit splits, a label found
without building its parts) must read exactly what these read; ``tests/test_published_fast_paths.py``
compares them on inputs made to hit every branch.
"""

from __future__ import annotations

import re

from importer.published.grid import Grid, GridBuilder, Slot, _is_valueish
from importer.published.labels import _norm_char, norm

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _T, _TAB, _BR, _CR = W + "p", W + "t", W + "tab", W + "br", W + "cr"


# ------------------------------------------------------------------------------ Word


def docx_text(el) -> str:
    """Paragraphs joined by newlines; w:t, w:tab, w:br in order."""
    paras = []
    for p in el.iter(_P):
        buf = []
        for node in p.iter(_T, _TAB, _BR, _CR):
            tag = node.tag
            if tag == _T:
                if node.text:
                    buf.append(node.text)
            elif tag == _TAB:
                buf.append(" ")
            else:
                buf.append("\n")
        paras.append("".join(buf))
    return "\n".join(paras).strip()


def docx_grid(tbl, ti: int, before: str) -> Grid:
    b = GridBuilder()
    vopen: dict[int, Slot] = {}
    rows = [tr for tr in tbl if tr.tag == W + "tr"]
    for ri, tr in enumerate(rows):
        c = 0
        for tc in tr:
            if tc.tag == W + "sdt":
                inner = tc.find(W + "sdtContent")
                tcs = list(inner) if inner is not None else []
            else:
                tcs = [tc]
            for cell in tcs:
                if cell.tag != W + "tc":
                    continue
                pr = cell.find(W + "tcPr")
                span = 1
                vmerge = None
                if pr is not None:
                    gs = pr.find(W + "gridSpan")
                    if gs is not None:
                        try:
                            span = max(1, int(gs.get(W + "val", "1")))
                        except ValueError:
                            span = 1
                    vm = pr.find(W + "vMerge")
                    if vm is not None:
                        vmerge = vm.get(W + "val", "continue")
                text = docx_text(cell)
                if vmerge == "continue" and c in vopen:
                    top = vopen[c]
                    for dc in range(span):
                        b.cells[(ri, c + dc)] = Slot(top.text, False, top.cell, top.row0, top.col0, top.prov)
                else:
                    cid = b.next_id
                    b.next_id += 1
                    slot = Slot(text, True, cid, ri, c, {})
                    for dc in range(span):
                        b.cells[(ri, c + dc)] = slot if dc == 0 else Slot(text, False, cid, ri, c, {})
                    if vmerge == "restart":
                        vopen[c] = slot
                    else:
                        vopen.pop(c, None)
                c += span
        b.nrows = ri + 1
    return b.grid({"kind": "docx", "table": ti}, before=before, nrows=len(rows))


def docx_read(doc):
    """(grids, body text, first paragraph) of an open python-docx document."""
    body = doc.element.body
    grids, recent, first, ti = [], [], "", 0
    for el in body.iterchildren(W + "p", W + "tbl"):
        if el.tag == W + "p":
            s = docx_text(el)
            if s:
                first = first or s
                recent.append(s)
                recent = recent[-3:]
        else:
            ti += 1
            grids.append(docx_grid(el, ti, "".join(recent)))
            recent = []
    lines = []
    for el in body.iterchildren(W + "p", W + "tbl"):
        if el.tag == W + "p":
            s = docx_text(el)
            if s:
                lines.append(s)
        else:
            for tr in el.iter(W + "tr"):
                lines.append(" ".join(docx_text(tc) for tc in tr.iter(W + "tc")))
    return grids, "\n".join(lines), first


# ------------------------------------------------------------------------------ HTML


def html_cell_text(el) -> str:
    if not len(el):
        return (el.text or "").strip()
    return "\n".join(t for t in el.itertext() if t.strip()).strip()


def _int(v, default=1) -> int:
    if v is None:
        return default
    try:
        return max(1, int(str(v).strip().split(".")[0]))
    except (TypeError, ValueError):
        return default


def html_grids(doc) -> list[tuple[list[list[tuple]], dict]]:
    """Per table not nested in another: the grid's rows as (text, origin, cell, row0, col0) and its place."""
    out = []
    for ti, t in enumerate(doc.xpath("//table"), start=1):
        if t.xpath("ancestor::table"):
            continue
        b = GridBuilder()
        rows = t.xpath("./tr|./tbody/tr|./thead/tr|./tfoot/tr")
        for ri, tr in enumerate(rows):
            cells = []
            for td in tr:
                if not isinstance(td.tag, str) or td.tag.lower() not in ("td", "th"):
                    continue
                cells.append((html_cell_text(td), _int(td.get("rowspan")), _int(td.get("colspan")), {}))
            b.add_row(ri, cells)
        g = b.grid({"kind": "html", "table": ti}, nrows=len(rows))
        out.append(([[(s.text, s.origin, s.cell, s.row0, s.col0) for s in row] for row in g.rows], g.prov))
    return out


def html_page_text(doc) -> str:
    body = doc.find("body")
    root = body if body is not None else doc
    return "\n".join(t.strip() for t in root.itertext() if t.strip())


def html_title(doc) -> str:
    for xp in ("//title", "//h1", "//h2", "//*[contains(@class,'title')]"):
        for el in doc.xpath(xp):
            s = " ".join("".join(el.itertext()).split())
            if s:
                return s
    return ""


# ------------------------------------------------------------------------------ text


def compact(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    idx: list[int] = []
    for i, c in enumerate(text):
        n = _norm_char(c)
        if n:
            out.append(n)
            idx.extend([i] * len(n))
    return "".join(out), idx


_COUNT_RE = re.compile(r"0|[1-9]\d*")
_AMOUNT_RE = re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?")
_SIGNED_RE = re.compile(r"[+-]?(?:0|[1-9]\d*)")


def candidates(tokens: list[str], kinds: list[str], limit: int = 2000) -> list[tuple] | None:
    n = len(kinds)
    out: list[tuple] = []
    over = [False]

    def ok(piece: str, kind: str) -> bool:
        rx = _AMOUNT_RE if kind == "amount" else _SIGNED_RE if kind == "signed_count" else _COUNT_RE
        return bool(rx.fullmatch(piece))

    def rec(ti: int, pos: int, cell: int, acc: list):
        if over[0]:
            return
        if ti == len(tokens):
            if cell == n:
                out.append(tuple(acc))
                if len(out) > limit:
                    over[0] = True
            return
        tok = tokens[ti]
        if cell == n:
            return
        for end in range(pos + 1, len(tok) + 1):
            piece = tok[pos:end]
            if not ok(piece, kinds[cell]):
                if piece.lstrip("+-").startswith("0") and len(piece.lstrip("+-")) > 1 and "." not in piece:
                    break
                continue
            acc.append(float(piece) if "." in piece else int(piece))
            if end == len(tok):
                rec(ti + 1, 0, cell + 1, acc)
            else:
                rec(ti, end, cell + 1, acc)
            acc.pop()

    rec(0, 0, 0, [])
    if over[0]:
        return None
    return out


# ------------------------------------------------------------------------------ grids


def label_span(row: list[Slot], value_cols=()) -> tuple[str, int]:
    parts, seen = [], set()
    end = 0
    for i, s in enumerate(row):
        t = norm(s.text)
        if (t and _is_valueish(s.text)) or (i > 0 and i in value_cols):
            break
        end = i + 1
        if s.cell in seen or not t:
            continue
        seen.add(s.cell)
        parts.append(t)
    return "".join(parts), end
