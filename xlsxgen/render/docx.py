"""DOCX writer following the conventions of Chinese official documents (GB/T 9704-2012).

* A4, margins top 3.7 cm, bottom 3.5 cm, left 2.8 cm, right 2.6 cm; page number
  「— n —」 centred in the footer.
* Title: 方正小标宋简体 二号 (22 pt), centred.
* Body: 仿宋_GB2312 三号 (16 pt), first-line indent two characters, fixed line
  spacing 28 pt, justified; Latin letters and digits in Times New Roman.
* First-level headings (「一、」): 黑体 三号, style ``Heading 1``; second-level
  headings (「（一）」): 楷体_GB2312 三号, style ``Heading 2``; a run-in
  second-level heading at the start of a paragraph is set in 楷体_GB2312.
* Statutory tables: full single borders, the official merged headers
  (``w:gridSpan`` / ``w:vMerge``), 仿宋_GB2312 五号 (10.5 pt), header rows
  repeated on every page for one-block tables, rows not split across pages.
* Generated sentences carry a Word comment naming the cells they used;
  placeholders 【待补充：…】 are highlighted yellow.

The file is deterministic: fixed document dates and fixed ZIP timestamps.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import zipfile

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

from xlsxgen.render.context import provenance
from xlsxgen.render.tables import grid_of

FONT_TITLE = "方正小标宋简体"
FONT_BODY = "仿宋_GB2312"
FONT_H1 = "黑体"
FONT_H2 = "楷体_GB2312"
FONT_TABLE = "仿宋_GB2312"
FONT_PAGE_NUMBER = "宋体"
FONT_LATIN = "Times New Roman"

BODY_SIZE = Pt(16)  # 三号
TITLE_SIZE = Pt(22)  # 二号
TABLE_SIZE = Pt(10.5)  # 五号
LINE = Pt(28)
MARGINS = {"top": Cm(3.7), "bottom": Cm(3.5), "left": Cm(2.8), "right": Cm(2.6)}
PAGE = (Cm(21.0), Cm(29.7))

STYLE_TABLE_TEXT = "Table Text"
COMMENT_AUTHOR = "xlsxgen"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
KEEP_TOGETHER_ROWS = 20
LINES_PER_PAGE = 22  # GB/T 9704: 22 lines of 28 characters
CHARS_PER_LINE = 28
# 28 characters of 三号 (16 pt) in the 156 mm text width need a pitch of 15.79 pt: characters
# condensed by 0.25 pt (w:spacing in twentieths of a point)
CHAR_SPACING = -5


# ---------------------------------------------------------------- styles


def _fonts(rpr, east_asia: str, latin: str = FONT_LATIN):
    """Set explicit fonts on an rPr element (dropping theme fonts, which would win)."""
    rfonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:cs"), latin)


def _first_line_chars(pf_element, chars: int, size: Pt):
    """First-line indent in characters (w:firstLineChars) with the twips equivalent."""
    ppr = pf_element.get_or_add_pPr()
    ind = ppr.get_or_add_ind()
    ind.set(qn("w:firstLineChars"), str(chars * 100))
    ind.set(qn("w:firstLine"), str(int(size.pt * chars * 20)))


_AFTER_SPACING = ("w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
                  "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish",
                  "w:oMath")


def _char_spacing(rpr, twentieths: int):
    """Character spacing (condensed when negative) on an rPr, in schema order."""
    old = rpr.find(qn("w:spacing"))
    if old is not None:
        rpr.remove(old)
    rpr.insert_element_before(_el("w:spacing", val=twentieths), *_AFTER_SPACING)


def _style(doc, name, east_asia, size, *, align=None, indent_chars=0, line=LINE, bold=False, outline=None,
           condense=False, grid=True):
    styles = doc.styles
    try:
        style = styles[name]
    except KeyError:
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles["Normal"]
    el = style.element
    for tag in ("w:pPr", "w:rPr"):  # start from a clean definition
        old = el.find(qn(tag))
        if old is not None:
            el.remove(old)
    font = style.font
    font.size = size
    font.bold = bold
    font.italic = False
    font.color.rgb = RGBColor(0, 0, 0)
    _fonts(el.get_or_add_rPr(), east_asia)
    if condense:  # 28 characters a line (GB/T 9704)
        _char_spacing(el.get_or_add_rPr(), CHAR_SPACING)
    pf = style.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    if line is None:
        pf.line_spacing = 1.0
    else:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = line
    pf.alignment = align
    pf.widow_control = True
    if indent_chars:
        _first_line_chars(el, indent_chars, size)
    else:
        pf.first_line_indent = Pt(0)
    if not grid:  # off the line grid (tables, title, footer): their own line spacing
        el.get_or_add_pPr().insert_element_before(
            _el("w:snapToGrid", val=0), "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
            "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl",
            "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
    if outline is not None:
        pf.keep_with_next = True
        ppr = el.get_or_add_pPr()
        lvl = OxmlElement("w:outlineLvl")
        lvl.set(qn("w:val"), str(outline))
        ppr.append(lvl)
    return style


def _prepare(doc):
    # document defaults: fonts and Chinese language for line breaking
    rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(rpr_default, FONT_BODY)
    lang = rpr_default.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    ppr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing = ppr_default.find(qn("w:spacing"))
    if spacing is not None:
        ppr_default.remove(spacing)

    _style(doc, "Normal", FONT_BODY, BODY_SIZE, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent_chars=2, condense=True)
    _style(doc, "Title", FONT_TITLE, TITLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER, line=Pt(36), grid=False)
    _style(doc, "Heading 1", FONT_H1, BODY_SIZE, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent_chars=2, outline=0,
           condense=True)
    _style(doc, "Heading 2", FONT_H2, BODY_SIZE, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent_chars=2, outline=1,
           condense=True)
    _style(doc, STYLE_TABLE_TEXT, FONT_TABLE, TABLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER, line=Pt(15), grid=False)
    _style(doc, "Footer", FONT_PAGE_NUMBER, Pt(14), align=WD_ALIGN_PARAGRAPH.CENTER, line=None, grid=False)

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE
    section.top_margin = MARGINS["top"]
    section.bottom_margin = MARGINS["bottom"]
    section.left_margin = MARGINS["left"]
    section.right_margin = MARGINS["right"]
    section.header_distance = Cm(1.5)
    section.footer_distance = Cm(2.5)
    _document_grid(section)
    footer = section.footer.paragraphs[0]
    footer.style = doc.styles["Footer"]
    footer.add_run("— ")
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), " PAGE ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    footer._p.append(fld)
    footer._p.append(footer.add_run(" —")._r)

    _declare_fonts(doc)

    # no thumbnail of the template document, no stale Word 2010 copy of the styles
    for rels, kind in ((doc.part.package.rels, "/thumbnail"), (doc.part.rels, "/stylesWithEffects")):
        for rid, rel in list(rels.items()):
            if rel.reltype.endswith(kind):
                rels.pop(rid)


def _document_grid(section):
    """The line grid of official documents: 22 lines a page (w:docGrid, line pitch = text height ÷ 22).

    The 28 characters a line come from the body's character spacing (:data:`CHAR_SPACING`):
    a character grid (``linesAndChars``) is drawn differently by LibreOffice, which makes the PDFs.
    """
    height = section.page_height - section.top_margin - section.bottom_margin
    sect_pr = section._sectPr
    grid = sect_pr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect_pr.append(grid)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(int(height / 635 / LINES_PER_PAGE)))  # twips
    grid.attrib.pop(qn("w:charSpace"), None)


# Chinese fonts declared in the font table (GB2312 character set, fixed pitch, with the
# usual Windows name as altName), so that Word and WPS substitute sensibly where a
# _GB2312 font is not installed.
FONT_DECLARATIONS = (  # (name, altName, panose, family: roman = serif, swiss = sans, for the fallback)
    (FONT_BODY, "仿宋", "02010609030101010101", "roman"),
    (FONT_H2, "楷体", "02010609030101010101", "roman"),
    (FONT_H1, "SimHei", "02010609060101010101", "swiss"),
    (FONT_TITLE, "宋体", "02010600030101010101", "roman"),
    (FONT_PAGE_NUMBER, "SimSun", "02010600030101010101", "roman"),
)


def _declare_fonts(doc):
    from lxml import etree

    for rel in doc.part.rels.values():
        if rel.reltype.endswith("/fontTable"):
            part = rel.target_part
            root = etree.fromstring(part.blob)
            known = {f.get(qn("w:name")) for f in root.findall(qn("w:font"))}
            for name, alt, panose, family in FONT_DECLARATIONS:
                if name in known:
                    continue
                font = etree.SubElement(root, qn("w:font"))
                font.set(qn("w:name"), name)
                for tag, val in (
                    ("altName", alt),
                    ("panose1", panose),
                    ("charset", "86"),
                    ("family", family),
                    ("pitch", "fixed"),
                ):
                    etree.SubElement(font, qn(f"w:{tag}")).set(qn("w:val"), val)
            part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


@functools.lru_cache(maxsize=1)
def _base() -> bytes:
    """The styled, empty document, built once per process."""
    doc = Document()
    _prepare(doc)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- body


_NEEDS_MARKUP = re.compile(r"[\t\n\r]")


def _add_run(paragraph, text: str):
    """``paragraph.add_run(text)`` without python-docx's character-by-character text setter (the same XML:
    one ``w:t``, ``xml:space="preserve"`` when the text starts or ends with a space; tabs and breaks, which
    need their own elements, still go through python-docx). A consolidated draft has tens of thousands of runs."""
    run = paragraph.add_run()
    if text and not _NEEDS_MARKUP.search(text):
        t = OxmlElement("w:t")
        t.text = text
        if text != text.strip():
            t.set(qn("xml:space"), "preserve")
        run._r.append(t)
    elif text:
        run.text = text
    return run


_W_R, _W_T, _W_RPR, _W_RFONTS = qn("w:r"), qn("w:t"), qn("w:rPr"), qn("w:rFonts")
_XML_SPACE = qn("xml:space")
_LEAD_FONTS = {qn("w:ascii"): FONT_LATIN, qn("w:hAnsi"): FONT_LATIN, qn("w:eastAsia"): FONT_H2,
               qn("w:cs"): FONT_LATIN}  # what _fonts(…, FONT_H2) sets, in its order


def _add_runs(paragraph, runs, spans: dict, final: bool = False):
    """The runs of a paragraph. Plain runs (no tab or break) are built as lxml elements directly — the same
    XML as ``add_run`` + ``_fonts``, without python-docx's child-order search per element (a consolidated
    draft has tens of thousands of runs); the others go through python-docx."""
    p_el = paragraph._p
    for r in runs:
        text = r.text
        if text and _NEEDS_MARKUP.search(text):
            run = _add_run(paragraph, text)
            if r.lead:
                _fonts(run._r.get_or_add_rPr(), FONT_H2)
        else:
            r_el = etree.SubElement(p_el, _W_R)
            if r.lead:
                etree.SubElement(etree.SubElement(r_el, _W_RPR), _W_RFONTS, _LEAD_FONTS)
            if text:
                t = etree.SubElement(r_el, _W_T)
                t.text = text
                if text != text.strip():
                    t.set(_XML_SPACE, "preserve")
            run = Run(r_el, paragraph)
        if r.todo and not final:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        if r.source is not None and not final:
            spans.setdefault(r.source, []).append(run)


def _el(tag, **attrs):
    e = OxmlElement(tag)
    for k, v in attrs.items():
        e.set(qn(f"w:{k}"), str(v))
    return e


def _table(doc, ctx, key: str, text_width: int, final: bool = False):
    grid = grid_of(ctx.spec.table(key))
    weights = grid.column_weights()
    total = sum(weights)
    widths = [int(text_width * w / total) for w in weights]
    widths[-1] += text_width - sum(widths)

    tbl = _el("w:tbl")
    tblpr = _el("w:tblPr")
    tblpr.append(_el("w:tblW", w=text_width, type="dxa"))
    tblpr.append(_el("w:jc", val="center"))
    borders = _el("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(_el(f"w:{side}", val="single", sz=4, space=0, color="000000"))
    tblpr.append(borders)
    tblpr.append(_el("w:tblLayout", type="fixed"))
    mar = _el("w:tblCellMar")
    mar.append(_el("w:left", w=57, type="dxa"))
    mar.append(_el("w:right", w=57, type="dxa"))
    tblpr.append(mar)
    tblpr.append(_el("w:tblLook", val="0000", firstRow=0, lastRow=0, firstColumn=0, lastColumn=0, noHBand=1, noVBand=1))
    tbl.append(tblpr)
    tblgrid = _el("w:tblGrid")
    for w in widths:
        tblgrid.append(_el("w:gridCol", w=w))
    tbl.append(tblgrid)

    style_id = doc.styles[STYLE_TABLE_TEXT].style_id
    keep_together = grid.height <= KEEP_TOGETHER_ROWS  # a short table is not split across pages
    for r in range(grid.height):
        tr = _el("w:tr")
        trpr = _el("w:trPr")
        trpr.append(_el("w:cantSplit"))
        if r < grid.header_rows:
            trpr.append(_el("w:tblHeader"))
        tr.append(trpr)
        c = 0
        while c < grid.width:
            cell = grid.owner[(r, c)]
            tc = _el("w:tc")
            tcpr = _el("w:tcPr")
            tcpr.append(_el("w:tcW", w=sum(widths[cell.col : cell.last_col + 1]), type="dxa"))
            if cell.colspan > 1:
                tcpr.append(_el("w:gridSpan", val=cell.colspan))
            if cell.rowspan > 1:
                tcpr.append(_el("w:vMerge", val="restart") if cell.row == r else _el("w:vMerge"))
            tcpr.append(_el("w:vAlign", val="center"))
            tc.append(tcpr)
            p = _el("w:p")
            ppr = _el("w:pPr")
            ppr.append(_el("w:pStyle", val=style_id))
            if keep_together and r < grid.height - 1:
                ppr.append(_el("w:keepNext"))
            if cell.role == "row_header" and cell.rowspan == 1:
                ppr.append(_el("w:jc", val="left"))
            p.append(ppr)
            if cell.row == r:
                if cell.role == "data":
                    text = ctx.cell_text(key, *cell.key)
                else:
                    text = cell.text
                if text:
                    run = _el("w:r")
                    if text.startswith("【") and not final:
                        rpr = _el("w:rPr")
                        rpr.append(_el("w:highlight", val="yellow"))
                        run.append(rpr)
                    t = _el("w:t")
                    t.text = text
                    run.append(t)
                    p.append(run)
            tc.append(p)
            tr.append(tc)
            c = cell.last_col + 1
        tbl.append(tr)
    return tbl


CORE_PROPERTY_MAX = 255


def _fix_dates(doc, year):
    when = dt.datetime(int(year) + 1 if isinstance(year, int) else 2000, 1, 1, tzinfo=dt.timezone.utc)
    props = doc.core_properties
    props.created = when
    props.modified = when
    props.last_printed = when
    props.revision = 1
    props.author = COMMENT_AUTHOR
    props.last_modified_by = COMMENT_AUTHOR
    props.comments = "由 xlsxgen 根据报送数据生成的年度报告草稿"
    props.language = "zh-CN"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _deterministic_zip(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def write(blocks, ctx, final: bool = False) -> bytes:
    """The DOCX of ``blocks``; ``final``: a publishable document (no comments, no highlights)."""
    doc = Document(io.BytesIO(_base()))
    section = doc.sections[0]
    text_width = int((section.page_width - section.left_margin - section.right_margin) / 635)  # EMU → twips
    title = next((b.text for b in blocks if b.kind == "title"), "")
    # a core property holds at most 255 characters (python-docx raises beyond): a long agency name is clipped
    doc.core_properties.title = title if len(title) <= CORE_PROPERTY_MAX else title[:CORE_PROPERTY_MAX - 1] + "…"
    stamp = _fix_dates(doc, ctx.sub.year)
    body = doc.element.body
    sect_pr = body.find(qn("w:sectPr"))
    spans: dict[int, list] = {}
    style_ids = {name: doc.styles[name].style_id for name in ("Title", "Heading 1", "Heading 2")}
    after_table = False
    for b in blocks:
        if b.kind == "table":
            sect_pr.addprevious(_table(doc, ctx, b.table, text_width, final))
            after_table = True
            continue
        # Normal; other styles set by id (python-docx's name lookup is slow). Inserted before sectPr directly:
        # doc.add_paragraph() looks for sectPr among all the body's children each time (quadratic in paragraphs)
        p_el = OxmlElement("w:p")
        sect_pr.addprevious(p_el)
        p = Paragraph(p_el, doc._body)
        if b.kind == "title":
            p._p.style = style_ids["Title"]
            p.paragraph_format.space_after = LINE
        elif b.kind == "heading":
            p._p.style = style_ids["Heading 1" if b.level == 1 else "Heading 2"]
        if after_table:
            p.paragraph_format.space_before = Pt(14)
            after_table = False
        _add_runs(p, b.runs, spans, final)
    if after_table:
        doc.add_paragraph()
    for sid, runs in spans.items():
        src = ctx.sources[sid - 1]
        text = provenance(src.cells)
        comment = doc.add_comment(runs, text=text, author=COMMENT_AUTHOR, initials="xg")
        comment._comment_elm.set(qn("w:date"), stamp)
    buf = io.BytesIO()
    doc.save(buf)
    return _deterministic_zip(buf.getvalue())
