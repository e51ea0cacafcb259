"""Word documents (.docx): python-docx opens the package; tables are read from their XML with spans.

Why python-docx: already a dependency (the report drafts), it validates the
package and exposes the body's XML (``lxml`` elements) in document order. Merged
cells are read from the XML directly: ``w:gridSpan`` (horizontal) and
``w:vMerge`` (vertical: ``restart`` starts a merged cell, a bare ``vMerge``
continues the one above), so every grid position knows the cell it belongs to.
"""

from __future__ import annotations

import io

from importer.published.grid import Grid, Slot

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def open_document(data: bytes):
    import docx

    return docx.Document(io.BytesIO(data))


# The body read in one pass by libxslt over python-docx's own tree: every body paragraph's text, and every
# table's rows and cells with their gridSpan and vMerge. Walking that tree from Python instead makes a
# python-docx element object (CT_P, CT_R, CT_Text, ...) for each of its thousands of elements.
#
# A paragraph's text is that of :func:`_text`: the paragraph and the paragraphs inside it, each its w:t, w:tab
# (a space), w:br and w:cr (a line break) in order, joined by newlines.
_PARA = """
<xsl:template match="w:p" mode="para">
  <xsl:for-each select="descendant-or-self::w:p">
    <xsl:if test="position() &gt; 1"><xsl:text>&#10;</xsl:text></xsl:if>
    <xsl:apply-templates select="descendant::*" mode="run"/>
  </xsl:for-each>
</xsl:template>
<xsl:template match="w:tc" mode="cell">
  <xsl:for-each select="descendant::w:p">
    <xsl:if test="position() &gt; 1"><xsl:text>&#10;</xsl:text></xsl:if>
    <xsl:apply-templates select="descendant::*" mode="run"/>
  </xsl:for-each>
</xsl:template>
<xsl:template match="w:t" mode="run"><xsl:value-of select="text()[1]"/></xsl:template>
<xsl:template match="w:tab" mode="run"><xsl:text> </xsl:text></xsl:template>
<xsl:template match="w:br|w:cr" mode="run"><xsl:text>&#10;</xsl:text></xsl:template>
<xsl:template match="*" mode="run"/>
<xsl:template match="*" mode="span"/>
<xsl:template match="w:tcPr[1]/w:gridSpan[1]" mode="span">
  <xsl:attribute name="s"><xsl:value-of select="@w:val"/></xsl:attribute>
</xsl:template>
<xsl:template match="w:tcPr[1]/w:vMerge[1]" mode="span">
  <xsl:attribute name="v">
    <xsl:choose><xsl:when test="@w:val"><xsl:value-of select="@w:val"/></xsl:when>
    <xsl:otherwise>continue</xsl:otherwise></xsl:choose>
  </xsl:attribute>
</xsl:template>
"""
_HEAD = ('<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
         'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">')
# <p>text</p> per body paragraph; <t><r><c s="gridSpan" v="vMerge">text</c>...</r>...</t> per body table: its
# own rows (w:tr children), each its cells (w:tc children, or inside a content control w:sdt)
_GRIDS = _HEAD + _PARA + """
<xsl:template match="/"><b>
  <xsl:for-each select="w:document/w:body[1]/w:p|w:document/w:body[1]/w:tbl">
    <xsl:choose>
      <xsl:when test="self::w:p"><p><xsl:apply-templates select="." mode="para"/></p></xsl:when>
      <xsl:otherwise><t><xsl:for-each select="w:tr"><r>
        <xsl:for-each select="w:tc|w:sdt/w:sdtContent[1]/w:tc"><c>
          <xsl:apply-templates select="w:tcPr/*" mode="span"/>
          <xsl:for-each select="descendant::w:p">  <!-- mode="cell", written out: a call less per cell -->
            <xsl:if test="position() &gt; 1"><xsl:text>&#10;</xsl:text></xsl:if>
            <xsl:apply-templates select="descendant::*" mode="run"/>
          </xsl:for-each>
        </c></xsl:for-each>
      </r></xsl:for-each></t></xsl:otherwise>
    </xsl:choose>
  </xsl:for-each>
</b></xsl:template>
</xsl:stylesheet>"""
# the body as text: each paragraph, and each row of a table (its rows at any depth) with its cells' text
_BODY = _HEAD + _PARA + """
<xsl:template match="/"><b>
  <xsl:for-each select="w:document/w:body[1]/w:p|w:document/w:body[1]/w:tbl">
    <xsl:choose>
      <xsl:when test="self::w:p"><p><xsl:apply-templates select="." mode="para"/></p></xsl:when>
      <xsl:otherwise><xsl:for-each select="descendant::w:tr"><r>
        <xsl:for-each select="descendant::w:tc"><c><xsl:apply-templates select="." mode="cell"/></c></xsl:for-each>
      </r></xsl:for-each></xsl:otherwise>
    </xsl:choose>
  </xsl:for-each>
</b></xsl:template>
</xsl:stylesheet>"""

_XSLT: dict = {}


def _transform(name: str, source: str):
    hit = _XSLT.get(name)
    if hit is None:
        from lxml import etree

        hit = _XSLT[name] = etree.XSLT(etree.XML(source))
    return hit


def _grid(t, ti: int, before: str) -> Grid:
    """The grid of one <t> of :data:`_GRIDS`: gridSpan widens a cell, vMerge="restart" starts a merged
    cell that a bare vMerge (``continue``) below it continues. A row shorter than the table is padded
    with positions that have no cell (as :meth:`GridBuilder.grid` does)."""
    vopen: dict[int, Slot] = {}  # grid column -> the slot of the cell a vMerge continues
    rows: list[list[Slot]] = []
    cid = 0
    for ri, tr in enumerate(t):
        row: list[Slot] = []
        c = 0
        for cell in tr:
            s = cell.get("s")
            span = 1
            if s is not None:
                try:
                    span = max(1, int(s or "1"))
                except ValueError:
                    span = 1
            vmerge = cell.get("v")
            text = cell.text
            text = text.strip() if text else ""
            if vmerge == "continue" and c in vopen:
                top = vopen[c]
                for _dc in range(span):
                    row.append(top.covered())
            else:
                slot = Slot(text, True, cid, ri, c, {})
                row.append(slot)
                if span > 1:
                    covered = Slot(text, False, cid, ri, c, {})
                    for _dc in range(1, span):
                        row.append(covered)
                cid += 1
                if vmerge == "restart":
                    vopen[c] = slot
                else:
                    vopen.pop(c, None)
            c += span
        rows.append(row)
    width = max(map(len, rows), default=0)
    for ri, row in enumerate(rows):
        for c in range(len(row), width):
            row.append(Slot("", True, -1 - c, ri, c, {}))
    return Grid(rows, {"kind": "docx", "table": ti}, before)


def read(data: bytes):
    """(grids, a function returning the body text, title) of a .docx."""
    doc = open_document(data)
    if doc.element.body is None:
        raise ValueError("文档没有正文（w:body）")
    tree = doc.element.getroottree()
    grids: list[Grid] = []
    recent: list[str] = []
    first = ""
    ti = 0
    for el in _transform("grids", _GRIDS)(tree).getroot():
        if el.tag == "p":
            s = (el.text or "").strip()
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
        for el in _transform("body", _BODY)(tree).getroot():
            if el.tag == "p":
                s = (el.text or "").strip()
                if s:
                    lines.append(s)
            else:
                lines.append(" ".join((c.text or "").strip() for c in el))
        return "\n".join(lines)

    title = ""
    try:
        title = (doc.core_properties.title or "").strip()
    except Exception:  # noqa: BLE001 - a broken docProps part only loses the title
        title = ""
    return grids, body_text, title or first
