"""Word documents (.docx): python-docx opens the package; tables are read from their XML with spans.

Why python-docx: already a dependency (the report drafts), it validates the
package and exposes the body's XML (``lxml`` elements) in document order. Merged
cells are read from the XML directly: ``w:gridSpan`` (horizontal) and
``w:vMerge`` (vertical: ``restart`` starts a merged cell, a bare ``vMerge``
continues the one above), so every grid position knows the cell it belongs to.
"""

from __future__ import annotations

import io

from importer.published.grid import Grid, GridBuilder, Slot

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def open_document(data: bytes):
    import docx

    return docx.Document(io.BytesIO(data))


def _text(el) -> str:
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


_P, _T, _TAB, _BR, _CR = W + "p", W + "t", W + "tab", W + "br", W + "cr"


def _grid(tbl, ti: int, before: str) -> Grid:
    b = GridBuilder()
    vopen: dict[int, Slot] = {}  # grid column -> the slot of the cell a vMerge continues
    rows = [tr for tr in tbl if tr.tag == W + "tr"]
    for ri, tr in enumerate(rows):
        c = 0
        for tc in tr:
            if tc.tag == W + "sdt":  # content control wrapping a cell
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
                text = _text(cell)
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


def read(data: bytes):
    """(grids, a function returning the body text, title) of a .docx."""
    doc = open_document(data)
    body = doc.element.body
    grids: list[Grid] = []
    recent: list[str] = []
    first = ""
    ti = 0
    for el in body.iterchildren(W + "p", W + "tbl"):
        if el.tag == W + "p":
            s = _text(el)
            if s:
                first = first or s
                recent.append(s)
                recent = recent[-3:]
        else:
            ti += 1
            grids.append(_grid(el, ti, "".join(recent)))
            recent = []

    def body_text() -> str:  # paragraphs, and each table row's cells, in document order
        lines = []
        for el in body.iterchildren(W + "p", W + "tbl"):
            if el.tag == W + "p":
                s = _text(el)
                if s:
                    lines.append(s)
            else:
                for tr in el.iter(W + "tr"):
                    lines.append(" ".join(_text(tc) for tc in tr.iter(W + "tc")))
        return "\n".join(lines)

    title = ""
    try:
        title = (doc.core_properties.title or "").strip()
    except Exception:  # noqa: BLE001 - a broken docProps part only loses the title
        title = ""
    return grids, body_text, title or first
