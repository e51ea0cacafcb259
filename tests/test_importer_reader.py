"""The expat reader: what Excel, WPS and other writers put in a workbook, read the same way."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from importer import read_workbook, validate_result
from importer.safety import Package
from importer.workbook_import import normalize_formula
from importer.xlsx_reader import read_styles, shift_formula
from tests.hostile import edit_part, make_zip, openpyxl_edit, sheet_part
from xlsxgen.data import to_canonical
from xlsxgen.workbook.plan import build_plan
from xlsxgen.workbook.writer import build_workbook

SHEET = "三、依申请公开"


@pytest.fixture(scope="module")
def seed_wb(spec2021, seed_submission):
    return build_workbook(spec2021, year=2023, agency_name=seed_submission.agency_name,
                          agency_code=seed_submission.agency_code, data=seed_submission)


def clean(data, spec, sub):
    res = validate_result(read_workbook(data))
    assert res.findings == [], [(f.rule, f.message) for f in res.findings]
    assert res.canonical() == to_canonical(spec, sub)


def test_normalize_formula():
    a = normalize_formula("='三、依申请公开'!$D$7 + SUM( D8:I8 )")
    assert a == normalize_formula("三、依申请公开!D7+sum(D8:I8)")
    assert normalize_formula('_xlfn.COUNTIFS(A1,"<>通过 x")') == 'COUNTIFS(A1,"<>通过 x")'  # literal kept
    assert normalize_formula("'It''s'!A1") == "IT'S!A1"
    assert normalize_formula("X!A1", {"Y": "X"}) == normalize_formula("Y!A1", {"Y": "X"})
    assert normalize_formula('IF(A1="a b","x","y")') != normalize_formula('IF(A1="ab","x","y")')


def test_shift_formula():
    assert shift_formula("SUM(D7:I7)", 2, 0) == "SUM(D9:I9)"
    assert shift_formula("$D$7+D7+'S 1'!B2", 1, 1) == "$D$7+E8+'S 1'!C3"
    assert shift_formula('IF(A1="A1",B$2,$C3)', 1, 1) == 'IF(B2="A1",C$2,$C4)'
    assert shift_formula("LOG10(A1)", 1, 0) == "LOG10(A2)"


def test_shared_formulas_as_excel_writes_them(seed_wb, spec2021, seed_submission):
    """Excel stores a filled-down formula once (<f t="shared" ref=.. si=..>) and refers to it below."""
    totals = [c for c in build_plan(spec2021, False).sheet(SHEET).cells if c.role == "total" and c.col == 9]
    first, last = totals[0], totals[-1]

    def share(xml):
        def one(m):
            ref, style, formula = m.group(1), m.group(2), m.group(3)
            if ref == first.address:
                return f'<c r="{ref}"{style}><f t="shared" ref="{first.address}:{last.address}" si="0">{formula}</f>'
            return f'<c r="{ref}"{style}><f t="shared" si="0"/>'

        return re.sub(r'<c r="(J\d+)"( s="\d+")><f>(SUM\(D\d+:I\d+\))</f>', one, xml)

    data = edit_part(seed_wb, sheet_part(seed_wb, SHEET), share)
    from tests.hostile import zip_parts

    xml = zip_parts(data)[sheet_part(data, SHEET)].decode()
    assert xml.count('<f t="shared" si="0"/>') == len(totals) - 1
    clean(data, spec2021, seed_submission)
    # and a shared formula whose children no longer match is still caught
    bad = edit_part(data, sheet_part(data, SHEET), lambda x: x.replace("SUM(D7:I7)", "SUM(D7:H7)"))
    assert {f.rule for f in validate_result(read_workbook(bad)).findings} == {"tamper.formula_changed"}


def test_inline_strings_rich_text_and_phonetics(seed_wb, spec2021, seed_submission):
    def inline(xml):  # every shared string of this sheet written inline, in two rich-text runs
        from tests.hostile import zip_parts

        sst = re.findall(r"<si>(.*?)</si>", zip_parts(seed_wb)["xl/sharedStrings.xml"].decode(), re.S)
        texts = [re.sub(r"<[^>]+>", "", s) for s in sst]

        def one(m):
            t = texts[int(m.group(3))]
            half = len(t) // 2
            return (f'<c r="{m.group(1)}"{m.group(2)} t="inlineStr"><is><r><rPr><b/></rPr><t>{t[:half]}</t></r>'
                    f'<r><t xml:space="preserve">{t[half:]}</t></r><rPh sb="0" eb="1"><t>ヨミ</t></rPh></is></c>')

        return re.sub(r'<c r="([A-Z]+\d+)"( s="\d+")? t="s"><v>(\d+)</v></c>', one, xml)

    clean(edit_part(seed_wb, sheet_part(seed_wb, SHEET), inline), spec2021, seed_submission)


def test_prefixed_namespace(seed_wb, spec2021, seed_submission):
    def prefix(xml):
        xml = xml.replace('<worksheet xmlns="', '<x:worksheet xmlns:x="').replace("</worksheet>", "</x:worksheet>")
        return re.sub(r"<(/?)(?!x:|\?)([A-Za-z]+)", r"<\1x:\2", xml)

    clean(edit_part(seed_wb, sheet_part(seed_wb, SHEET), prefix), spec2021, seed_submission)


def test_cells_without_references(seed_wb, spec2021, seed_submission):
    """The r= attribute is optional: a cell then follows the previous one in its row."""

    def drop(xml):
        def row(m):
            cells = re.findall(r'<c r="([A-Z]+)\d+"', m.group(0))
            cols = [sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(c))) for c in cells]
            if cols != list(range(1, len(cols) + 1)):
                return m.group(0)
            return re.sub(r'<c r="[A-Z]+\d+"', "<c", m.group(0))

        return re.sub(r"<row [^>]*>.*?</row>", row, xml, flags=re.S)

    data = edit_part(seed_wb, sheet_part(seed_wb, SHEET), drop)
    clean(data, spec2021, seed_submission)


def test_date_typed_in_a_text_field(seed_wb, spec2021):
    field = next(c for c in build_plan(spec2021, False).cells if c.role == "field" and c.field.bind == "contact.date")

    def edit(wb):
        wb[field.sheet][field.address] = dt.datetime(2025, 1, 15)
        wb[field.sheet][field.address].number_format = "yyyy/m/d"

    res = read_workbook(openpyxl_edit(seed_wb, edit))
    assert res.submission.contact["date"] == "2025-01-15"


def test_styles_locked_flag():
    styles = b"""<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
    <numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy&quot;\xe5\xb9\xb4&quot;m&quot;\xe6\x9c\x88&quot;"/></numFmts>
    <cellStyleXfs count="2"><xf numFmtId="0"/><xf numFmtId="0"><protection locked="0"/></xf></cellStyleXfs>
    <cellXfs count="6">
      <xf numFmtId="0" xfId="0"/>
      <xf numFmtId="0" xfId="0" applyProtection="1"><protection locked="0"/></xf>
      <xf numFmtId="0" xfId="0" applyProtection="false"><protection locked="false" hidden="false"/></xf>
      <xf numFmtId="0" xfId="1"/>
      <xf numFmtId="164" xfId="0"><protection hidden="1"/></xf>
      <xf numFmtId="14" xfId="0"><protection locked="true"/></xf>
    </cellXfs></styleSheet>"""
    st = read_styles(Package(make_zip({"xl/styles.xml": styles})), "xl/styles.xml")
    assert st.locked == [True, False, False, False, True, True]
    assert st.date == [False, False, False, False, True, True]
    assert st.is_locked(99) and st.is_locked(-1)
