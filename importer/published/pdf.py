"""PDF: pdfplumber's ruled-table finder per page, falling back to the page's text lines.

Why pdfplumber: pure Python on pdfminer.six, it finds tables from the ruling
lines of a page and gives every cell's text and position (page, bounding box);
merged cells come back once (the covered positions empty), like a span. When a
page has no ruled table (tables drawn without lines, or scanned text order), the
page's text lines are read like a text file (:mod:`importer.published.text`).
"""

from __future__ import annotations

import io

from importer.published.grid import Grid, GridBuilder, Slot

MAX_PAGES = 200


def open_pdf(data: bytes):
    import pdfplumber

    return pdfplumber.open(io.BytesIO(data))


def read(data: bytes) -> tuple[list[Grid], str, list[int], str]:
    """(grids, text of all pages, offsets where pages 2.. start, title)."""
    grids: list[Grid] = []
    texts: list[str] = []
    page_starts: list[int] = []
    offset = 0
    ti = 0
    with open_pdf(data) as pdf:
        title = ""
        try:
            title = str((pdf.metadata or {}).get("Title") or "").strip()
        except Exception:  # noqa: BLE001 - metadata is optional
            title = ""
        for pno, page in enumerate(pdf.pages[:MAX_PAGES], start=1):
            text = page.extract_text() or ""
            if pno > 1:
                page_starts.append(offset)
            texts.append(text)
            offset += len(text) + 1
            tables = page.find_tables()
            for t in tables:
                ti += 1
                # text above the table on this page: its heading, if any
                top = t.bbox[1]
                try:
                    above = page.crop((0, max(0, top - 80), page.width, top)).extract_text() or ""
                except ValueError:
                    above = ""
                grids.append(_grid(t, pno, ti, above))
    full = "\n".join(texts)
    first = next((ln for ln in full.splitlines() if ln.strip()), "")
    return grids, full, page_starts, title or first


def _grid(t, pno: int, ti: int, above: str) -> Grid:
    b = GridBuilder()
    rows = t.rows
    data = t.extract()
    for ri, (row, texts) in enumerate(zip(rows, data)):
        for ci, (bbox, text) in enumerate(zip(row.cells, texts)):
            if bbox is None:
                # covered by a merged cell: the one to the left in this row, else the one above
                left = b.cells.get((ri, ci - 1))
                up = b.cells.get((ri - 1, ci))
                src = left if left is not None and left.row0 == ri and _covers(t, left, ri, ci) else up
                if src is None:
                    src = left
                if src is None:
                    b.cells[(ri, ci)] = Slot("", True, -1000 - ci, ri, ci, {})
                else:
                    b.cells[(ri, ci)] = Slot(src.text, False, src.cell, src.row0, src.col0, src.prov)
                continue
            cid = b.next_id
            b.next_id += 1
            prov = {"bbox": [round(v, 1) for v in bbox]}
            b.cells[(ri, ci)] = Slot(text or "", True, cid, ri, ci, prov)
        b.nrows = ri + 1
    return b.grid({"kind": "pdf", "page": pno, "table": ti}, before=above, nrows=len(data))


def _covers(t, slot: Slot, ri: int, ci: int) -> bool:
    """Does the cell of ``slot`` (its bbox) extend over column ``ci`` of row ``ri``?"""
    bbox = slot.prov.get("bbox")
    if not bbox:
        return True
    # the x-range of column ci: from any row that has a cell there
    for row in t.rows:
        cell = row.cells[ci] if ci < len(row.cells) else None
        if cell is not None:
            return bbox[2] >= cell[2] - 1
    return True
