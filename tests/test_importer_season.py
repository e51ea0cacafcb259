"""Issue 12, items 2, 3 and 6 in the importer and the workbook: what an office sees on real returns.

- "submission.untouched": a template sent back as distributed (prefill included) is an error;
- "narrative.empty", "contact.empty": one warning each;
- "value.blank_cells": deleted zeros give one finding per table, with cell ranges;
- "tamper.structure_unlocked" is an ``info`` note when the sheets are intact (exit code 0, status ok);
- the cover of a fresh workbook reads 待填写 (cached value), and the instructions name the prefilled cells.
"""

from __future__ import annotations

import io

import openpyxl
from click.testing import CliRunner

from importer import load_source, read_workbook, validate_result
from tests.hostile import openpyxl_edit
from xlsxgen import messages
from xlsxgen.cli import cli
from xlsxgen.collection.distribute import prefill_from_previous
from xlsxgen.workbook.plan import build_plan
from xlsxgen.workbook.writer import build_workbook


def rules(res):
    return [f.rule for f in res.findings]


def test_untouched_template_is_an_error(spec2021):
    blank = build_workbook(spec2021, year=2024, agency_name="甲局", agency_code="001")
    res = validate_result(read_workbook(blank))
    assert rules(res) == ["submission.untouched"] and res.status == "invalid"


def test_untouched_prefilled_template_is_an_error_and_one_change_is_data(spec2021, seed_submission):
    data, keys = prefill_from_previous(spec2021, seed_submission, year=2024, agency_name="甲局", agency_code="001")
    assert keys
    wb = build_workbook(spec2021, year=2024, agency_name="甲局", agency_code="001", data=data, previous=seed_submission,
                        prefilled=keys)
    res = validate_result(read_workbook(wb))
    assert "submission.untouched" in rules(res)
    assert "包括按上年数据预填的数" in res.findings[0].message
    # the cover reads 待填写 and the instructions name the prefilled cells
    book = openpyxl.load_workbook(io.BytesIO(wb))
    plan = build_plan(spec2021, True)
    status = next(c for c in plan.cells if c.role == "status")
    cached = openpyxl.load_workbook(io.BytesIO(wb), data_only=True)[status.sheet][status.address].value
    assert cached == messages.STATUS_PENDING
    instructions = " ".join(str(c.value) for row in book[spec2021.sheets["instructions"]].iter_rows() for c in row
                            if c.value)
    first = plan.figure_cells[sorted(keys)[0]]
    assert first.address in instructions and messages.STATUS_PENDING in instructions
    # typing one figure makes it a submission (no longer untouched)
    other = next(c for c in plan.cells if c.role == "input" and c.key not in keys)
    typed = openpyxl_edit(wb, lambda b: b[other.sheet].__setitem__(other.address, 3))
    assert "submission.untouched" not in rules(validate_result(read_workbook(typed)))


def test_filled_workbook_reads_its_status_not_pending(spec2021, seed_submission):
    wb = build_workbook(spec2021, year=2023, agency_name="甲局", agency_code="001", data=seed_submission)
    plan = build_plan(spec2021, False)
    status = next(c for c in plan.cells if c.role == "status")
    cached = openpyxl.load_workbook(io.BytesIO(wb), data_only=True)[status.sheet][status.address].value
    assert cached == messages.STATUS_OK


def test_empty_narrative_and_contact_are_one_warning_each(spec2021, seed_submission):
    import copy

    sub = copy.deepcopy(seed_submission)
    sub.narrative = {k: (v if not isinstance(v, str) else None) for k, v in sub.narrative.items()}
    sub.contact = {}
    res = validate_result(read_workbook(build_workbook(spec2021, year=2023, agency_name="甲局", agency_code="001",
                                                       data=sub)))
    assert rules(res).count("narrative.empty") == 1 and rules(res).count("contact.empty") == 1
    narr = next(f for f in res.findings if f.rule == "narrative.empty")
    texts = [f.label for f in spec2021.narrative_fields if f.kind == "text"]
    assert all(t in narr.message for t in texts)
    assert res.status == "ok"  # warnings


def test_deleted_zeros_give_one_finding_per_table(spec2021, seed_submission, tmp_path):
    wb = build_workbook(spec2021, year=2023, agency_name="甲局", agency_code="001", data=seed_submission)
    plan = build_plan(spec2021, False)
    zeros = [c for c in plan.cells if c.role == "input" and not seed_submission.values.get(c.key)]
    assert len(zeros) > 20

    def clear(b):
        for c in zeros:
            b[c.sheet][c.address] = None

    res = validate_result(read_workbook(openpyxl_edit(wb, clear)))
    blanks = [f for f in res.findings if f.rule.startswith("value.blank")]
    sheets = {c.sheet for c in zeros}
    assert len(blanks) <= len(sheets)
    assert sum(f.extra.get("count", 1) for f in blanks) == len(zeros)
    multi = [f for f in blanks if f.rule == "value.blank_cells"]
    assert multi and all(":" in f.message and "按 0 计" in f.message for f in multi)
    assert res.status == "ok"


def test_structure_lock_dropped_by_a_resave_is_information(spec2021, seed_submission, tmp_path):
    from tests.hostile import edit_part

    wb = build_workbook(spec2021, year=2023, agency_name="甲局", agency_code="001", data=seed_submission)
    p = tmp_path / "resaved.xlsx"
    p.write_bytes(edit_part(wb, "xl/workbook.xml", lambda x: x.replace('<workbookProtection lockStructure="1"/>', "")))
    res = load_source(p)
    assert rules(res) == ["tamper.structure_unlocked"]
    assert res.findings[0].severity == "info" and res.status == "ok" and not res.warnings
    r = CliRunner().invoke(cli, ["validate", str(p)])
    assert r.exit_code == 0 and "提示" in r.output
