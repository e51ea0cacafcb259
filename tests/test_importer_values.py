"""Values: what a typed figure may look like, in a workbook cell and in JSON."""

from __future__ import annotations

import re

import pytest

from importer import read_json, read_workbook, validate_result
from importer.values import read_cell, read_json_value, read_text
from tests.conftest import all_format_ids
from tests.hostile import edit_part, openpyxl_edit, replace_cell, sheet_part
from tests.hostile.data import filled_workbook
from xlsxgen.data import to_canonical
from xlsxgen.workbook.plan import build_plan

# (typed value, kind, finding code or None, value read)
CASES = [
    (12, "count", None, 12),
    (12.0, "count", None, 12),
    ("12", "count", "value.text_number", 12),
    ("１２", "count", "value.full_width", 12),
    ("1,234", "count", "value.thousands_separator", 1234),
    ("１，２３４", "count", "value.full_width", 1234),
    (" 12 ", "count", "value.whitespace", 12),
    ("\u300012", "count", "value.whitespace", 12),
    (None, "count", "value.blank", 0),
    ("-", "count", "value.placeholder", 0),
    ("/", "count", "value.placeholder", 0),
    ("—", "count", "value.placeholder", 0),
    ("无", "count", "value.placeholder", 0),
    (-3, "count", "value.negative", None),
    ("-3", "count", "value.negative", None),
    (12.5, "count", "value.decimal_in_count", None),
    ("12.5", "count", "value.decimal_in_count", None),
    ("abc", "count", "value.not_a_number", None),
    ("12件", "count", "value.not_a_number", None),
    (True, "count", "value.boolean", None),
    (12.5, "amount", None, 12.5),
    (0.1234, "amount", None, 0.1234),
    (0.123456, "amount", None, 0.123456),  # six places: kept exactly
    (0.1234567, "amount", "value.amount_precision", None),
    (10**9, "count", None, 10**9),
    (10**9 + 1, "count", "value.out_of_range", None),
    (-(10**9), "signed_count", None, -(10**9)),
    (-(10**9) - 1, "signed_count", "value.out_of_range", None),
    (999999999.999999, "amount", None, 999999999.999999),
    (1e9, "amount", "value.out_of_range", None),
    (1e308, "count", "value.out_of_range", None),
    ("9" * 401, "count", "value.out_of_range", None),
    ("12.0000000000000000000000000001", "amount", "value.amount_precision", None),  # beyond 28 digits: exact
    ("12.0000000000000000000000000001", "count", "value.decimal_in_count", None),
    ("12.000000", "amount", "value.text_number", 12),
    ("١٢", "count", "value.not_a_number", None),  # typed as text: only ASCII and full-width digits are numbers
    ("1_000", "count", "value.not_a_number", None),
    ("²", "count", "value.not_a_number", None),
    ("3.5", "amount", "value.text_number", 3.5),
    (-1.5, "amount", "value.negative", None),
    (-7, "signed_count", None, -7),
    ("-7", "signed_count", "value.text_number", -7),
    (1.5, "signed_count", "value.decimal_in_count", None),
]
SEVERITY = {None: None, "value.text_number": "warning", "value.full_width": "warning",
            "value.thousands_separator": "warning", "value.whitespace": "warning", "value.blank": "warning",
            "value.placeholder": "warning"}


@pytest.mark.parametrize("typed,kind,code,value", CASES)
def test_json_values(typed, kind, code, value):
    r = read_json_value(typed, kind)
    assert (r.code, r.value) == (code, value)


def test_text_and_cell_rules():
    assert read_text("１２３", "count").value == 123
    assert read_cell("12.000000000001", "n", "count").value == 12  # 15-digit cached noise is fine
    assert read_cell("1", "b", "count").code == "value.boolean"
    assert read_cell("#VALUE!", "e", "count").code == "value.error_value"
    assert read_cell("NaN", "n", "count").code == "value.not_a_number"
    assert read_cell("1.5E+2", "n", "count").value == 150
    assert read_cell(None, None, "amount").code == "value.blank"


@pytest.fixture(scope="module", params=all_format_ids())
def filled(request):
    return filled_workbook(request.param, 5)


def _input_of_kind(spec, kind):
    for c in build_plan(spec, False).cells:
        if c.role == "input" and c.kind == kind:
            return c
    return None


@pytest.mark.parametrize("typed,kind,code,value", [c for c in CASES if not isinstance(c[0], bool)])
def test_workbook_values_typed_with_openpyxl(filled, typed, kind, code, value):
    spec, sub, data = filled
    cell = _input_of_kind(spec, kind)
    if cell is None:
        pytest.skip(f"{spec.id} has no {kind} input")
    res = validate_result(read_workbook(openpyxl_edit(data, lambda wb: wb[cell.sheet].__setitem__(cell.address,
                                                                                                   typed))))
    mine = [f for f in res.findings if f.rule.startswith("value.")]
    if code is None:
        assert mine == []
        assert res.submission.values[cell.key] == value
        return
    assert [f.rule for f in mine] == [code]
    f = mine[0]
    assert (f.sheet, f.cell) == (cell.sheet, cell.address)
    assert (f.table, f.row, f.column) == cell.key
    assert f.severity == (SEVERITY.get(code) or "error")
    assert f"「{cell.sheet}」工作表 {cell.address}" in f.message
    if value is None:
        assert res.blocking and cell.key not in res.submission.values
    else:
        assert res.submission.values[cell.key] == value and not res.blocking


def test_boolean_and_error_values_in_the_xml(filled):
    spec, sub, data = filled
    cell = _input_of_kind(spec, "count")
    part = sheet_part(data, cell.sheet)
    for new, code in ((f'<c r="{cell.address}" s="{{s}}" t="b"><v>1</v></c>', "value.boolean"),
                      (f'<c r="{cell.address}" s="{{s}}" t="e"><v>#VALUE!</v></c>', "value.error_value"),
                      (f'<c r="{cell.address}" s="{{s}}" t="inlineStr"><is><t>1２</t></is></c>', "value.full_width")):
        def edit(xml, new=new):
            s = re.search(r'<c r="' + cell.address + r'" s="(\d+)"', xml).group(1)
            return replace_cell(xml, cell.address, new.format(s=s))

        res = read_workbook(edit_part(data, part, edit))
        assert [f.rule for f in res.findings] == [code]


def test_value_errors_do_not_cascade_into_rule_findings(filled):
    """A figure that cannot be read is reported once; rules that depend on it are not evaluated."""
    spec, sub, data = filled
    cell = _input_of_kind(spec, "count")
    res = validate_result(read_workbook(openpyxl_edit(data, lambda wb: wb[cell.sheet].__setitem__(cell.address,
                                                                                                   "很多"))))
    assert [f.rule for f in res.findings] == ["value.not_a_number"]


def test_json_value_findings_carry_keys(filled):
    spec, sub, data = filled
    cell = _input_of_kind(spec, "count")
    doc = to_canonical(spec, sub)
    t, r, c = cell.key
    doc["tables"][t][r][c] = "１２"
    import json

    res = read_json(json.dumps(doc, ensure_ascii=False).encode())
    f = next(f for f in res.findings if f.rule == "value.full_width")
    assert (f.table, f.row, f.column) == cell.key and f.sheet is None and f.cell is None
