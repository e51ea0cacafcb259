"""The generated workbook, opened with openpyxl and checked against the spec and plan."""

from __future__ import annotations

import io
import random
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils import range_boundaries

from tests.conftest import all_format_ids
from xlsxgen.cli import cli
from xlsxgen.data import Submission
from xlsxgen.spec import load_format
from xlsxgen.spec.rules import recompute_totals
from xlsxgen.workbook.plan import META_SHEET, build_plan
from xlsxgen.workbook.writer import build_workbook


def random_submission(spec, seed: int) -> Submission:
    rnd = random.Random(seed)
    sub = Submission(spec.id, year=spec.years[0] + 1, agency_name="测试单位", agency_code="T01")
    for t in spec.tables:
        for rk, ck in t.input_cells():
            kind = t.kinds[(rk, ck)]
            if kind == "amount":
                sub.values[(t.key, rk, ck)] = round(rnd.uniform(0, 500), 4)
            elif kind == "signed_count":
                sub.values[(t.key, rk, ck)] = rnd.randint(-50, 50)
            else:
                sub.values[(t.key, rk, ck)] = rnd.randint(0, 300)
    return sub


@pytest.fixture(scope="module", params=all_format_ids())
def generated(request):
    spec = load_format(request.param)
    sub = random_submission(spec, 7)
    data = build_workbook(spec, year=sub.year, agency_name=sub.agency_name, agency_code="T01", data=sub)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    return spec, sub, data, wb, cached


def _merged_cells(ws):
    """Every coordinate inside a merged range, except the anchor."""
    out = set()
    for rng in ws.merged_cells.ranges:
        c0, r0, c1, r1 = range_boundaries(str(rng))
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    out.add((r, c))
    return out


def test_sheets_in_order_and_meta_very_hidden(generated):
    spec, _, _, wb, _ = generated
    plan = build_plan(spec)
    assert wb.sheetnames == [s.name for s in plan.sheets]
    assert wb[META_SHEET].sheet_state == "veryHidden"
    assert all(wb[n].sheet_state == "visible" for n in wb.sheetnames if n != META_SHEET)
    meta = {r[0].value: r[1].value for r in wb[META_SHEET].iter_rows()}
    assert meta["format_id"] == spec.id and meta["fingerprint"] == plan.fingerprint
    assert meta["agency_name"] == "测试单位" and meta["year"] == str(spec.years[0] + 1)


def test_every_label_in_place(generated):
    spec, _, _, wb, _ = generated
    for cell in build_plan(spec).cells:
        if cell.role == "label":
            assert wb[cell.sheet][cell.address].value == cell.text, (cell.sheet, cell.address)


def test_protection_sheets_and_structure(generated):
    spec, _, _, wb, _ = generated
    assert wb.security is not None and wb.security.lockStructure
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title


def test_exactly_the_inputs_are_unlocked(generated):
    spec, _, _, wb, _ = generated
    plan = build_plan(spec)
    for sp in plan.sheets:
        ws = wb[sp.name]
        expected = {(c.row + 1, c.col + 1) for c in sp.cells if c.role in ("input", "field")}
        continuation = _merged_cells(ws)
        unlocked = {(c.row, c.column) for row in ws.iter_rows() for c in row
                    if not c.protection.locked and (c.row, c.column) not in continuation}
        assert unlocked == expected, sp.name


def test_formulas_and_cached_values_of_totals(generated):
    spec, sub, _, wb, cached = generated
    values = recompute_totals(spec, dict(sub.values))
    plan = build_plan(spec)
    totals = [c for c in plan.cells if c.role == "total"]
    assert totals
    for c in totals:
        assert wb[c.sheet][c.address].value == "=" + c.formula
        assert cached[c.sheet][c.address].value == pytest.approx(values[c.key]), c.address


def test_inputs_carry_values_and_data_validation(generated):
    spec, sub, _, wb, _ = generated
    plan = build_plan(spec)
    for sp in plan.sheets:
        ws = wb[sp.name]
        covered = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                c0, r0, c1, r1 = range_boundaries(str(rng))
                for r in range(r0, r1 + 1):
                    for col in range(c0, c1 + 1):
                        covered[(r, col)] = dv
        for c in sp.cells:
            if c.role == "input" or (c.role == "field" and c.kind in ("count", "amount")):
                dv = covered.get((c.row + 1, c.col + 1))
                assert dv is not None, (sp.name, c.address)
                assert dv.type == ("decimal" if c.kind == "amount" else "whole")
                if c.kind == "signed_count":
                    assert dv.operator in (None, "between") and int(dv.formula1) < 0 < int(dv.formula2)
                else:
                    assert dv.operator == "greaterThanOrEqual" and dv.formula1 == "0"
                assert dv.prompt and dv.error and dv.showErrorMessage
            if c.role == "input":
                assert ws[c.address].value == pytest.approx(sub.values[c.key])


def test_defined_names_for_inputs_and_totals(generated):
    spec, _, _, wb, _ = generated
    names = wb.defined_names
    for c in build_plan(spec).cells:
        if c.role in ("input", "total"):
            dn = names[".".join(c.key)]
            sheet, ref = next(iter(dn.destinations))
            assert sheet == c.sheet and ref.replace("$", "") == c.address


@pytest.fixture(params=all_format_ids())
def example(request):
    """(spec, submission) of each installed format's example report (examples/)."""
    from tests.conftest import example_doc
    from xlsxgen.data import from_canonical_trusted

    spec = load_format(request.param)
    return spec, from_canonical_trusted(spec, example_doc(spec.id))


def test_live_checks_pass_on_consistent_data_and_fail_on_imbalance(example):
    spec2021, seed_submission = example  # every installed format (names kept from the 2021-only suite)
    data = build_workbook(spec2021, year=seed_submission.year, agency_name="x", data=seed_submission)
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    plan = build_plan(spec2021)
    (status,) = [c for c in plan.cells if c.role == "status"]
    assert wb[status.sheet][status.address].value == "全部通过"
    checks = [c for c in plan.cells if c.role == "check"]
    assert all(wb[c.sheet][c.address].value == "通过" for c in checks)

    bad = Submission(spec2021.id, values=dict(seed_submission.values))
    bad.values[("applications", "carried_forward", "natural_person")] += 2
    wb = openpyxl.load_workbook(io.BytesIO(build_workbook(spec2021, year=seed_submission.year, agency_name="x",
                                                          data=bad)), data_only=True)
    texts = [wb[c.sheet][c.address].value for c in checks if c.style == "check_full"]
    failing = [t for t in texts if t != "通过"]
    assert len(failing) == 2  # the 自然人 column and the 总计 column
    v = seed_submission.values
    left = v[("applications", "new_received", "natural_person")] + v[("applications", "carried_over", "natural_person")]
    assert "「自然人」列不平衡" in failing[0] and f"＝{left}，" in failing[0] and f"＝{left + 2}" in failing[0]
    assert wb[status.sheet][status.address].value.startswith("有2项错误")


def test_deterministic_bytes(example):
    spec2021, seed_submission = example
    year = seed_submission.year
    a = build_workbook(spec2021, year=year, agency_name="甲", data=seed_submission)
    b = build_workbook(spec2021, year=year, agency_name="甲", data=seed_submission)
    assert a == b
    c = build_workbook(spec2021, year=year, agency_name="乙", data=seed_submission)
    assert a != c


@pytest.mark.parametrize("fid", all_format_ids())
def test_no_inline_strings_and_short_sheet_names(fid):
    spec2021 = load_format(fid)
    data = build_workbook(spec2021, year=spec2021.years[0] + 1, agency_name="某某市某某局")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"inlineStr" not in z.read(name)
    assert all(len(s.name) <= 31 for s in build_plan(spec2021).sheets)


def test_cli_generate_twice_identical(tmp_path):
    runner = CliRunner()
    for name in ("a.xlsx", "b.xlsx"):
        r = runner.invoke(cli, ["generate", "--year", "2024", "--agency", "某某市某某局", "--code", "001",
                                "-o", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


@pytest.mark.parametrize("args, fragment", [
    (["--year", "2024", "--agency", "x", "--format", "gov-info-1999"], "未知的报告格式"),
    (["--year", "1990", "--agency", "x"], "不是格式"),
    (["--year", "2024", "--agency", "  "], "不能为空"),
])
def test_cli_bad_arguments(tmp_path, args, fragment):
    if "-o" not in args:
        args = args + ["-o", str(tmp_path / "x.xlsx")]
    r = CliRunner().invoke(cli, ["generate", *args])
    assert r.exit_code == 2
    assert fragment in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "x.xlsx").exists()


def test_existing_output_survives_a_failed_write(tmp_path, monkeypatch):
    out = tmp_path / "x.xlsx"
    out.write_bytes(b"old")
    import xlsxgen.workbook.writer as gen

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(gen, "build_workbook", boom)
    r = CliRunner().invoke(cli, ["generate", "--year", "2024", "--agency", "x", "-o", str(out)])
    assert r.exit_code != 0
    assert out.read_bytes() == b"old"


@pytest.mark.parametrize(("args", "expected"), [
    (["--year", "2020"], "gov-info-2019"),  # the only format covering 2020
    (["--year", "2022"], "gov-info-2021"),  # both cover 2022: the newer one by default
    (["--year", "2022", "--format", "gov-info-2019"], "gov-info-2019"),  # agencies that kept the trial format
])
def test_cli_generate_chooses_the_format_version(tmp_path, args, expected):
    from importer import read_workbook

    out = tmp_path / "f.xlsx"
    r = CliRunner().invoke(cli, ["generate", *args, "--agency", "某某局", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert expected in r.output
    res = read_workbook(out)
    assert res.spec.id == expected and res.metadata["format_id"] == expected
    assert [f.rule for f in res.findings if f.is_error] == ["submission.untouched"]  # a fresh template
