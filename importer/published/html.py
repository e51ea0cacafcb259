"""HTML pages: lxml's HTML parser (libxml2, tolerant of broken markup), tables with spans expanded.

Why lxml: it parses the tag soup of government portals (unclosed ``<td>``, ``<p>``
inside cells, ``&nbsp;`` padding, stray ``</table>``) the way browsers recover,
fast (C), and gives the element tree the grids are built from. It never fetches
anything (no network, no external entities: ``no_network`` and ``resolve_entities``
off).
"""

from __future__ import annotations

from importer.published.grid import Grid, GridBuilder


def _parser():
    from lxml import etree

    # plain elements (no lxml.html class lookup per element: faster), never the network
    return etree.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, recover=True,
                            default_doctype=False)


def parse(data: bytes):
    """The lxml document of ``data`` (bytes; the encoding is sniffed from a BOM or meta charset, else UTF-8)."""
    from lxml import etree

    enc = _encoding(data)
    text = data.decode(enc, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise ValueError("页面没有内容")
    doc = etree.fromstring(text, parser=_parser())
    if doc is None:
        raise ValueError("页面没有内容")
    for el in doc.xpath("//script|//style"):
        el.clear(keep_tail=True)
    return doc


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
    """The text of a cell; its text nodes (paragraphs, line breaks, spans) joined by newlines."""
    if not len(el):
        return (el.text or "").strip()
    return "\n".join(t for t in el.itertext() if t.strip()).strip()


def _cell_text(td) -> str:
    """:func:`cell_text`, without a generator per cell: the text nodes that are not blank, in document order.

    A tail is placed right after its element's own text, which is its document order when the element
    has no children; a non-blank tail after children (rare) takes :func:`cell_text`."""
    pieces = []
    x = td.text
    if x and not x.isspace():
        pieces.append(x)
    for el in td.iterdescendants():
        x = el.text
        if x and not x.isspace():
            pieces.append(x)
        x = el.tail
        if x and not x.isspace():
            if len(el):
                return cell_text(td)
            pieces.append(x)
    if len(pieces) == 1:
        return pieces[0].strip()
    return "\n".join(pieces).strip()


def _int(v, default=1) -> int:
    if v is None:
        return default
    try:
        return max(1, int(str(v).strip().split(".")[0]))
    except (TypeError, ValueError):
        return default


def grids(doc) -> list[Grid]:
    rows_of = _xp("./tr|./tbody/tr|./thead/tr|./tfoot/tr")
    out = []
    tables = doc.xpath("//table")
    nested = set(doc.xpath("//table//table")) if len(tables) > 1 else ()
    for ti, t in enumerate(tables, start=1):
        if t in nested:
            continue  # a table nested in a cell: its text is part of that cell
        b = GridBuilder()
        rows = rows_of(t)
        for ri, tr in enumerate(rows):
            cells = []
            for td in tr:
                tag = td.tag
                if tag != "td" and tag != "th" and (not isinstance(tag, str) or tag.lower() not in ("td", "th")):
                    continue
                if len(td):
                    text = _cell_text(td)
                else:
                    text = td.text
                    text = text.strip() if text else ""
                rs, cs = td.get("rowspan"), td.get("colspan")
                cells.append((text, 1 if rs is None else _int(rs), 1 if cs is None else _int(cs), None))
            b.add_row(ri, cells)
        out.append(b.grid({"kind": "html", "table": ti}, before=_before(t), nrows=len(rows)))
    return out


def _before(t, limit: int = 200) -> str:
    """The text just before a table (its heading)."""
    texts: list[str] = []
    total = 0
    for el in t.itersiblings(preceding=True):
        if not isinstance(el.tag, str):
            continue
        if el.tag == "table":
            break
        s = "".join(el.itertext()).strip()
        if s:
            texts.insert(0, s)
            total += len(s)
            if total >= limit:
                break
    return "".join(texts)[-limit:]


def page_text(doc) -> str:
    """The visible text of the page, one text node a line, for the text fallback and the title."""
    body = doc.find("body")
    root = body if body is not None else doc
    # the text nodes in document order (what itertext() gives), without a Python generator per node
    return "\n".join(t.strip() for t in _xp("descendant::text()", smart_strings=False)(root) if t.strip())


def title(doc) -> str:
    # the last one is //*[contains(@class,'title')], written as the same elements found from their attribute
    for xp in ("//title", "//h1", "//h2", "//@class[contains(.,'title')]/.."):
        for el in _xp(xp)(doc):
            s = " ".join("".join(el.itertext()).split())
            if s:
                return s
    return ""


_XPATHS: dict = {}


def _xp(expr: str, **kw):
    """A compiled XPath (compiled once)."""
    hit = _XPATHS.get(expr)
    if hit is None:
        from lxml import etree

        hit = _XPATHS[expr] = etree.XPath(expr, **kw)
    return hit
