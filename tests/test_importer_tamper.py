"""Tampering, one test per finding kind, on real generated workbooks edited the way a person would."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from openpyxl.styles import Protection

from importer import load_source, read_workbook, validate_result
from tests.conftest import all_format_ids
from tests.hostile import edit_part, openpyxl_edit, replace_cell, sheet_part, zip_parts
from tests.hostile.data import filled_workbook
from xlsxgen.cli import cli
from xlsxgen.data import to_canonical
from xlsxgen.spec.rules import recompute_totals
from xlsxgen.workbook.plan import build_plan
from xlsxgen.workbook.writer import build_workbook


@pytest.fixture(scope="module", params=all_format_ids())
def filled(request):
    return filled_workbook(request.param, 3)


def check(data: bytes):
    return validate_result(read_workbook(data, name="t.xlsx"))


def codes(res) -> list[str]:
    return [f.rule for f in res.findings]


def only(res, code):
    found = [f for f in res.findings if f.rule == code]
    assert len(found) == 1, [(f.rule, f.message) for f in res.findings]
    return found[0]


def cells_of(spec, role):
    return [c for c in build_plan(spec, False).cells if c.role == role]


def first_total(spec):
    return cells_of(spec, "total")[0]


def recomputed(spec, sub):
    return recompute_totals(spec, dict(sub.values))


def test_untouched_workbook_is_clean(filled):
    spec, sub, data = filled
    res = check(data)
    assert res.findings == [] and res.status == "ok"
    assert res.canonical() == to_canonical(spec, sub)


def test_total_typed_over_in_the_xml(filled):
    """The scenario of a person who removed the protection and typed a number over a total."""
    spec, sub, data = filled
    tot = first_total(spec)
    part = sheet_part(data, tot.sheet)
    expected = recomputed(spec, sub)[tot.key]
    typed = expected + 5

    def edit(xml):
        style = re.search(r'<c r="' + tot.address + r'" s="(\d+)"', xml).group(1)
        return replace_cell(xml, tot.address, f'<c r="{tot.address}" s="{style}"><v>{typed}</v></c>')

    res = check(edit_part(data, part, edit))
    f = only(res, "tamper.formula_replaced")
    assert f.severity == "error" and f.sheet == tot.sheet and f.cell == tot.address
    assert (f.table, f.row, f.column) == tot.key
    assert f"「{tot.sheet}」工作表 {tot.address} 的合计公式被改为固定数值" in f.message
    assert f.expected == expected and f.actual == typed
    # the data itself is still the inputs, totals recomputed
    assert res.canonical() == to_canonical(spec, sub)
    assert res.status == "invalid"


def test_literal_message_of_the_reference_format(spec2021, seed_submission):
    data = build_workbook(spec2021, year=2023, agency_name="某局", data=seed_submission)
    part = sheet_part(data, "三、依申请公开")
    bad = edit_part(data, part, lambda x: replace_cell(x, "J12", '<c r="J12" s="14"><v>3</v></c>'))
    f = only(check(bad), "tamper.formula_replaced")
    assert f.message.startswith("「三、依申请公开」工作表 J12 的合计公式被改为固定数值 3")
    assert (f.table, f.row, f.column) == ("applications", "denied_prohibited_by_law", "total")


def test_total_typed_over_with_openpyxl(filled):
    spec, sub, data = filled
    tot = first_total(spec)
    res = check(openpyxl_edit(data, lambda wb: wb[tot.sheet].__setitem__(tot.address, 999)))
    f = only(res, "tamper.formula_replaced")
    assert f.actual == 999


def test_total_formula_changed(filled):
    spec, sub, data = filled
    tot = first_total(spec)
    part = sheet_part(data, tot.sheet)
    res = check(edit_part(data, part, lambda x: x.replace(f"<f>{tot.formula}</f>", f"<f>{tot.formula}+1</f>", 1)))
    f = only(res, "tamper.formula_changed")
    assert f.cell == tot.address and f.expected == tot.formula and f.actual == tot.formula + "+1"


def test_formula_spelling_differences_are_not_tampering(filled):
    """$, spaces, case, quotes around sheet names, a leading = and _xlfn. are normalised away."""
    spec, sub, data = filled
    checks = [c for c in cells_of(spec, "check") if "!" in c.formula]
    c = checks[0]
    part = sheet_part(data, c.sheet)

    def respell(xml):
        def one(m):
            body = m.group(1).replace("&apos;", "'")
            body = re.sub(r"'([^']+)'!", r"\1!", body)  # unquoted sheet names, as LibreOffice writes them
            body = re.sub(r"\b([A-Z]+)(\d+)\b", r"$\1$\2", body).replace("IF(", "_xlfn.if( ")
            return "<f>" + body.replace("'", "&apos;") + "</f>"

        return re.sub(r"<f>(.*?)</f>", one, xml)

    res = check(edit_part(data, part, respell))
    assert not [f for f in res.findings if f.rule.startswith("tamper.formula")], res.findings


def test_stale_cached_total(filled):
    spec, sub, data = filled
    tot = first_total(spec)
    part = sheet_part(data, tot.sheet)
    expected = recomputed(spec, sub)[tot.key]

    def edit(xml):
        pat = re.compile(r'(<c r="' + tot.address + r'"[^>]*><f>[^<]*</f><v>)([^<]*)(</v>)')
        assert pat.search(xml)
        return pat.sub(lambda m: m.group(1) + str(expected + 1) + m.group(3), xml, count=1)

    res = check(edit_part(data, part, edit))
    f = only(res, "tamper.stale_total")
    assert f.severity == "warning" and f.expected == expected and f.actual == expected + 1
    assert res.status == "ok"  # a warning: the data is the inputs; the workbook recalculates on opening


def test_check_formula_replaced_by_text(filled):
    spec, sub, data = filled
    c = cells_of(spec, "check")[0]
    res = check(openpyxl_edit(data, lambda wb: wb[c.sheet].__setitem__(c.address, "通过")))
    f = only(res, "tamper.formula_replaced")
    assert "校验公式被改为固定文字「通过」" in f.message and f.cell == c.address


def test_label_changed(filled):
    spec, sub, data = filled
    lab = next(c for c in cells_of(spec, "label") if c.text and build_plan(spec, False).sheet(c.sheet).kind == "table"
               and c.row > 2)
    res = check(openpyxl_edit(data, lambda wb: wb[lab.sheet].__setitem__(lab.address, lab.text + "（改）")))
    f = only(res, "tamper.label_changed")
    assert f.sheet == lab.sheet and f.cell == lab.address
    assert f.expected == lab.text and f.actual == lab.text + "（改）"


def _table_sheet(spec):
    plan = build_plan(spec, False)
    return max((s for s in plan.sheets if s.kind == "table"), key=lambda s: len(s.cells))


@pytest.mark.parametrize("how", ["insert_rows", "delete_rows", "insert_cols"])
def test_rows_or_columns_inserted_or_deleted(filled, how, tmp_path):
    spec, sub, data = filled
    sp = _table_sheet(spec)
    body = min(c.row for c in sp.cells if c.role == "input") + 2  # 0-based: a row inside the table body
    first_input_col = min(c.col for c in sp.cells if c.role == "input") + 1

    def edit(wb):
        ws = wb[sp.name]
        if how == "insert_rows":
            ws.insert_rows(body + 1)
        elif how == "delete_rows":
            ws.delete_rows(body + 1)
        else:
            ws.insert_cols(first_input_col + 1)

    bad = openpyxl_edit(data, edit)
    res = check(bad)
    f = only(res, "tamper.rows_shifted")
    assert f.sheet == sp.name and "疑似插入或删除了行/列" in f.message
    assert not [x for x in res.findings if x.sheet == sp.name and x.rule != "tamper.rows_shifted"]
    assert res.blocking
    p = tmp_path / "shifted.xlsx"
    p.write_bytes(bad)
    r = CliRunner().invoke(cli, ["export", str(p)])
    assert r.exit_code == 1 and r.stdout == ""


def test_sheet_removed(filled, tmp_path):
    spec, sub, data = filled
    sp = _table_sheet(spec)
    res = check(openpyxl_edit(data, lambda wb: wb.remove(wb[sp.name])))
    f = only(res, "tamper.sheet_removed")
    assert f.severity == "error" and f.sheet == sp.name and res.blocking


def test_sheet_added(filled):
    spec, sub, data = filled
    res = check(openpyxl_edit(data, lambda wb: wb.create_sheet("备注")))
    assert [f.rule for f in res.findings if f.rule != "tamper.structure_unlocked"] == ["tamper.sheet_added"]
    assert res.status == "ok" and res.canonical() == to_canonical(spec, sub)


def test_sheet_renamed_as_excel_does(filled):
    """Excel renames the sheet and rewrites every formula and defined name that refers to it."""
    spec, sub, data = filled
    sp = _table_sheet(spec)
    new = sp.name[:-1] + "表"
    parts = zip_parts(data)
    for name, body in list(parts.items()):
        if name.endswith(".xml"):
            text = body.decode("utf-8")
            text = text.replace(f'name="{sp.name}"', f'name="{new}"').replace(f"&apos;{sp.name}&apos;!",
                                                                            f"&apos;{new}&apos;!")
            text = text.replace(f"'{sp.name}'!", f"'{new}'!")
            parts[name] = text.encode("utf-8")
    from tests.hostile import make_zip

    res = check(make_zip(parts))
    f = only(res, "tamper.sheet_renamed")
    assert f.expected == sp.name and f.actual == new and f.severity == "error"
    assert [x.rule for x in res.findings] == ["tamper.sheet_renamed"]
    assert res.canonical() == to_canonical(spec, sub)


def test_structure_lock_removed_is_a_warning(filled):
    spec, sub, data = filled
    res = check(edit_part(data, "xl/workbook.xml", lambda x: re.sub(r"<workbookProtection[^>]*/>", "", x)))
    assert codes(res) == ["tamper.structure_unlocked"] and res.status == "ok"


def test_sheet_protection_removed(filled):
    spec, sub, data = filled
    sp = _table_sheet(spec)
    part = sheet_part(data, sp.name)
    res = check(edit_part(data, part, lambda x: re.sub(r"<sheetProtection[^>]*/>", "", x)))
    f = only(res, "tamper.sheet_unprotected")
    assert f.severity == "warning" and f.sheet == sp.name and res.status == "ok"


def test_input_cell_locked(filled):
    spec, sub, data = filled
    inp = cells_of(spec, "input")[0]

    def edit(wb):
        wb[inp.sheet][inp.address].protection = Protection(locked=True)

    f = only(check(openpyxl_edit(data, edit)), "tamper.input_locked")
    assert f.severity == "warning" and f.cell == inp.address


def test_locked_cell_unlocked(filled):
    spec, sub, data = filled
    tot = first_total(spec)

    def edit(wb):
        wb[tot.sheet][tot.address].protection = Protection(locked=False)

    f = only(check(openpyxl_edit(data, edit)), "tamper.cell_unlocked")
    assert f.severity == "warning" and f.cell == tot.address and "合计" in f.message


def test_every_input_locked_is_reported_once_per_sheet(filled):
    """A style edit that locks all inputs gives one finding per sheet, not one per cell."""
    spec, sub, data = filled

    def edit(xml):
        return xml.replace('<protection locked="0"/>', "")

    res = check(edit_part(data, "xl/styles.xml", edit))
    found = [f for f in res.findings if f.rule == "tamper.input_locked"]
    sheets_with_inputs = {c.sheet for c in build_plan(spec, False).cells if c.role in ("input", "field")}
    assert sorted(f.sheet for f in found) == sorted(sheets_with_inputs)


def test_prefilled_cover_field_changed(filled):
    spec, sub, data = filled
    bound = next(c for c in build_plan(spec, False).cells if c.role == "bound" and c.field.bind == "agency.name")
    res = check(openpyxl_edit(data, lambda wb: wb[bound.sheet].__setitem__(bound.address, "别的单位")))
    f = only(res, "tamper.bound_changed")
    assert f.expected == sub.agency_name and f.actual == "别的单位"


def test_validate_cli_exit_code_1_on_tampering(filled, tmp_path):
    spec, sub, data = filled
    tot = first_total(spec)
    p = tmp_path / "t.xlsx"
    p.write_bytes(openpyxl_edit(data, lambda wb: wb[tot.sheet].__setitem__(tot.address, 1)))
    r = CliRunner().invoke(cli, ["validate", str(p), "--json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    f = next(x for x in doc["files"][0]["findings"] if x["rule"] == "tamper.formula_replaced")
    assert f["sheet"] == tot.sheet and f["cell"] == tot.address and f["table"] == tot.key[0]
    assert load_source(p).status == "invalid"


def test_added_sheet_whose_part_is_missing_is_only_reported(filled):
    """A sheet listed in workbook.xml without a part (e.g. a chart sheet from another tool) is not needed."""
    spec, sub, data = filled
    sp = _table_sheet(spec)

    def add(xml):
        return xml.replace("</sheets>", '<sheet name="图表1" sheetId="99" r:id="rId999"/></sheets>')

    res = check(edit_part(data, "xl/workbook.xml", add))
    assert codes(res) == ["tamper.sheet_added"]
    # ... also while looking for a renamed sheet among the added ones
    renamed = edit_part(edit_part(data, "xl/workbook.xml", add), "xl/workbook.xml",
                        lambda x: x.replace(f'name="{sp.name}"', 'name="改名"'))
    res = check(renamed)
    assert res.status != "unreadable" and "tamper.sheet_renamed" in codes(res)
