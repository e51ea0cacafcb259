"""HTML pages: lxml's HTML parser (libxml2, tolerant of broken markup), tables with spans expanded.

Why lxml: it parses the tag soup of government portals (unclosed ``<td>``, ``<p>``
inside cells, ``&nbsp;`` padding, stray ``</table>``) the way browsers recover,
fast (C), and gives the element tree the grids are built from. It never fetches
anything (no network, no external entities: ``no_network`` and ``resolve_entities``
off).
"""

from __future__ import annotations

from importer.published.grid import Grid, GridBuilder

_BLOCK_TAGS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article"}


def _parser():
    from lxml import html as lhtml

    return lhtml.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, recover=True,
                            default_doctype=False)


def parse(data: bytes):
    """The lxml document of ``data`` (bytes; the encoding is sniffed from a BOM or meta charset, else UTF-8)."""
    from lxml import html as lhtml

    enc = _encoding(data)
    text = data.decode(enc, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise ValueError("页面没有内容")
    return lhtml.document_fromstring(text, parser=_parser())


def _encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    head = data[:4096].lower()
    import re

    m = re.search(rb"charset\s*=\s*[\"']?([a-z0-9_\-]+)", head)
    if m:
        enc = m.group(1).decode("ascii", "replace")
        if enc in ("gb2312", "gbk", "gb18030"):
            return "gb18030"
        try:
            "".encode(enc)
            return enc
        except LookupError:
            pass
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def cell_text(el) -> str:
    """The text of a cell: paragraphs and line breaks become newlines (a label broken over lines joins back)."""
    parts: list[str] = []

    def walk(e):
        tag = e.tag if isinstance(e.tag, str) else ""
        if tag in ("script", "style"):
            if e.tail:
                parts.append(e.tail)
            return
        if tag in _BLOCK_TAGS and parts:
            parts.append("\n")
        if e.text:
            parts.append(e.text)
        for ch in e:
            walk(ch)
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        if e.tail and e is not el:
            parts.append(e.tail)

    walk(el)
    return "".join(parts).strip()


def _int(v, default=1) -> int:
    try:
        return max(1, int(str(v).strip().split(".")[0]))
    except (TypeError, ValueError):
        return default


def grids(doc) -> list[Grid]:
    out = []
    tables = doc.xpath("//table")
    for ti, t in enumerate(tables, start=1):
        if t.xpath("ancestor::table"):
            continue  # a table nested in a cell: its text is part of that cell
        b = GridBuilder()
        rows = [tr for tr in t.xpath(".//tr") if _own(tr, t)]
        for ri, tr in enumerate(rows):
            cells = []
            for td in tr:
                if not isinstance(td.tag, str) or td.tag.lower() not in ("td", "th"):
                    continue
                cells.append((cell_text(td), _int(td.get("rowspan")), _int(td.get("colspan")), {}))
            b.add_row(ri, cells)
        out.append(b.grid({"kind": "html", "table": ti}, before=_before(t), nrows=len(rows)))
    return out


def _own(tr, table) -> bool:
    anc = tr.xpath("ancestor::table[1]")
    return bool(anc) and anc[0] is table


def _before(t, limit: int = 200) -> str:
    """The text just before a table (its heading)."""
    texts: list[str] = []
    total = 0
    for el in t.itersiblings(preceding=True):
        if not isinstance(el.tag, str):
            continue
        if el.tag == "table":
            break
        s = el.text_content().strip()
        if s:
            texts.insert(0, s)
            total += len(s)
            if total >= limit:
                break
    return "".join(texts)[-limit:]


def page_text(doc) -> str:
    """The visible text of the page, blocks on their own lines, for the text fallback and the title."""
    body = doc.find("body")
    root = body if body is not None else doc
    return cell_text(root)


def title(doc) -> str:
    for xp in ("//title", "//h1", "//h2", "//*[contains(@class,'title')]"):
        for el in doc.xpath(xp):
            s = " ".join(el.text_content().split())
            if s:
                return s
    return ""
