"""Excel computes what Python computes.

For every installed format, random workbooks (valid data, and data with
imbalances, negative counts, decimals in counts, amounts with more than 4
decimals, blank inputs, big values; some with last year's data) are generated,
every cached formula value is removed from the XML, LibreOffice recalculates
and saves them all in one headless run, and every formula cell -- totals, the
live checks of the checks sheet, the check rows under the tables, the cover's
status -- is compared, read back with openpyxl, with what Python computes for
the same data (``xlsxgen.spec.rules`` / ``xlsxgen.spec.expr``). A difference names the
workbook (its seed and mutations), the sheet and the cell, Python's value and
LibreOffice's.

It cannot pass vacuously: a workbook whose cached total is left in place but
set to 999999 must come back recalculated, and the cases must reach every
cover status and make every rule instance both pass and fail.

Workbooks per format: 50; ``XLSXGEN_SLOW=1`` makes it 400, ``XLSXGEN_PARITY_N``
sets any number. Seeds are ``XLSXGEN_PARITY_SEED`` (default fixed) + 0, 1, 2, ...
Skipped only when LibreOffice (``soffice``) is not installed; CI installs it (.ci/run).
What it found so far: Python's ``round`` is not the spreadsheets' ``ROUND``
(fixed: ``expr.excel_round``); text typed in an input cell (a known difference,
pinned by a strict xfail below).
"""

from __future__ import annotations

import os
import zipfile
from io import BytesIO

import pytest

from tests.conftest import all_format_ids
from tests.excel_parity import (
    FORMULA_ROLES,
    SOFFICE,
    build_case_workbook,
    make_case,
    python_values,
    read_formula_cells,
    recalculate,
    same,
    set_cached_value,
    strip_cached_values,
)
from xlsxgen import messages
from xlsxgen.spec import expr, load_format
from xlsxgen.spec.rules import compile_spec
from xlsxgen.workbook.plan import build_plan

SLOW = os.environ.get("XLSXGEN_SLOW", "") not in ("", "0")
N_PER_FORMAT = int(os.environ.get("XLSXGEN_PARITY_N") or (400 if SLOW else 50))
SEED = int(os.environ.get("XLSXGEN_PARITY_SEED") or 20261202)
POISON = b"999999"

needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: "
                                   "the Excel/Python parity test needs it to recalculate the workbooks")


def _formula_cells(plan):
    return [c for c in plan.cells if c.role in FORMULA_ROLES]


def test_both_formats_are_covered():
    assert {"gov-info-2021", "gov-info-2019"} <= set(all_format_ids())


@pytest.mark.parametrize("fid", all_format_ids())
def test_stripping_removes_every_cached_value_and_nothing_else(fid):
    spec = load_format(fid)
    for seed in (SEED, SEED + 1, SEED + 2):
        case = make_case(spec, seed)
        data = build_case_workbook(case)
        stripped, n = strip_cached_values(data)
        assert n == len(_formula_cells(build_plan(spec, case.previous is not None)))
        assert strip_cached_values(stripped)[1] == 0
        before, after = zipfile.ZipFile(BytesIO(data)), zipfile.ZipFile(BytesIO(stripped))
        assert [i.filename for i in before.infolist()] == [i.filename for i in after.infolist()]
        for info in before.infolist():
            old, new = before.read(info), after.read(info.filename)
            if b"<f>" not in old:
                assert old == new, info.filename
            else:
                assert b"</f><v>" not in new and new.count(b"<f>") == old.count(b"<f>"), info.filename


@pytest.mark.parametrize("fid", all_format_ids())
def test_generator_caches_what_python_computes(fid):
    """The cached values the generator writes (what a file shows before any recalculation) are Python's values."""
    import openpyxl

    import importer

    spec = load_format(fid)
    for seed in range(SEED, SEED + 8):
        case = make_case(spec, seed)
        plan = build_plan(spec, case.previous is not None)
        data = build_case_workbook(case)
        # the case's numbers are the workbook's: the importer reads every valid one as the case holds it
        read = importer.read_workbook(data).submission.values
        assert all(read[k] == (v or 0) for k, v in case.values.items() if read.get(k) is not None), case.describe()
        wb = openpyxl.load_workbook(BytesIO(data), data_only=True)
        cached = {(c.sheet, c.address): wb[c.sheet][c.address].value for c in _formula_cells(plan)}
        want = python_values(case)
        bad = [f"{case.describe()}: 「{s}」!{a}: Python {want[(s, a)]!r}, cached {v!r}"
               for (s, a), v in cached.items() if not same(want[(s, a)], v)]
        assert not bad, "\n".join(bad[:20])


@needs_soffice
@pytest.mark.parametrize("fid", all_format_ids())
def test_excel_computes_what_python_computes(fid, tmp_path):
    spec = load_format(fid)
    cases = [make_case(spec, SEED + i) for i in range(N_PER_FORMAT)]
    files, counts = {}, {}
    for case in cases:
        stripped, n = strip_cached_values(build_case_workbook(case))
        files[case.name + ".xlsx"] = stripped
        counts[case.name] = n

    # Sanity: a cached value that is *not* stripped must be recalculated too (the profile's
    # "always recalculate"), so the comparison below cannot pass on values nobody computed.
    base = cases[0]
    plan0 = build_plan(spec, base.previous is not None)
    total = next(c for c in plan0.cells if c.role == "total")
    files["poisoned.xlsx"] = set_cached_value(build_case_workbook(base), total.sheet, total.address, POISON)

    saved = recalculate(files, tmp_path)

    poisoned = read_formula_cells(saved["poisoned.xlsx"], plan0)[(total.sheet, total.address)]
    want = python_values(base)[(total.sheet, total.address)]
    assert poisoned != int(POISON), "LibreOffice kept a stale cached value: it did not recalculate on load"
    assert same(want, poisoned), (want, poisoned)

    diffs, compared = [], 0
    statuses, outcomes = set(), set()  # what the cases reached: cover statuses, (rule instance, passed)
    for case in cases:
        plan = build_plan(spec, case.previous is not None)
        expected = python_values(case)
        got = read_formula_cells(saved[case.name + ".xlsx"], plan)
        assert len(expected) == len(got) == counts[case.name], case.describe()
        for (sheet, addr), py in expected.items():
            compared += 1
            lo = got[(sheet, addr)]
            if not same(py, lo):
                diffs.append(f"{case.describe()}: 「{sheet}」!{addr}: Python {py!r} vs LibreOffice {lo!r}")
        for c in plan.cells:
            if c.role == "status":
                statuses.add(_status_kind(expected[(c.sheet, c.address)]))
            elif c.role == "check" and c.style == "check_full":
                outcomes.add((c.rule.instance_id, expected[(c.sheet, c.address)] == messages.PASS))
    print(f"{fid}: {len(cases)} workbooks, {compared} formula cells compared (seeds {SEED}..{SEED + len(cases) - 1})")
    assert not diffs, (f"{len(diffs)} formula cells differ (reproduce with XLSXGEN_PARITY_SEED={SEED} "
                       f"XLSXGEN_PARITY_N={N_PER_FORMAT}):\n" + "\n".join(diffs[:40]))

    if N_PER_FORMAT >= 50:  # the cases reach every outcome (so the comparison above means something)
        rules = compile_spec(spec).rules
        want = {"ok", "errors"} | ({"warnings"} if any(ru.severity == "warning" for ru in rules) else set())
        assert want <= statuses, f"no case reached the cover status {want - statuses}"
        never = [(ru.instance_id, ok) for ru in rules for ok in (True, False) if (ru.instance_id, ok) not in outcomes]
        assert not never, f"rule instances never passing (True) / failing (False) in these cases: {never}"


def _status_kind(text: str) -> str:
    if text == messages.STATUS_OK:
        return "ok"
    return "errors" if text.startswith(messages.STATUS_ERRORS_PREFIX) else "warnings"


# A number typed as text, full-width digits, a dash: the importer reads them as numbers (with a warning).
TEXT_INPUTS = [("12", 12, "value.text_number"), ("１２", 12, "value.full_width"), ("-", 0, "value.placeholder")]


@needs_soffice
@pytest.mark.xfail(strict=True, reason=(
    "known difference (issue 10, reported to the lead): in the workbook SUM() skips text and '+' gives #VALUE! "
    "for full-width digits or '-', while the importer reads them as numbers; the totals, live checks and status "
    "then differ. Strict: fixing it (formulas or importer) makes this test pass, and the marker must go."))
@pytest.mark.parametrize("fid", ["gov-info-2021"])
def test_text_typed_in_an_input_cell(fid, tmp_path):
    import importer

    spec = load_format(fid)
    compiled = compile_spec(spec)
    in_rules = {(r.table, r.row, r.column) for ru in compiled.rules for r in ru.refs}
    in_totals = {(r.table, r.row, r.column) for t in compiled.totals for r in expr.refs_of(t.node)}
    plan = build_plan(spec, False)
    # an input that both a total and a rule use
    key = next(k for k, c in plan.figure_cells.items() if c.role == "input" and k in in_rules and k in in_totals)
    files, cases = {}, []
    for i, (text, value, code) in enumerate(TEXT_INPUTS):
        case = make_case(spec, SEED + 1000 + i)
        case.previous, case.mutations = None, [f"text {text!r}"]
        case.values = {k: (0 if v is None else v) for k, v in case.values.items()}
        case.values[key], case.texts = value, {key: text}
        data = build_case_workbook(case)
        res = importer.read_workbook(data)  # the Python side reads the text as this number
        assert res.submission.values[key] == value and code in {f.rule for f in res.findings}
        files[case.name + ".xlsx"] = strip_cached_values(data)[0]
        cases.append(case)
    saved = recalculate(files, tmp_path)
    diffs = []
    for case in cases:
        expected, got = python_values(case), read_formula_cells(saved[case.name + ".xlsx"], plan)
        diffs += [f"{case.describe()}: 「{s}」!{a}: Python {py!r} vs LibreOffice {got[(s, a)]!r}"
                  for (s, a), py in expected.items() if not same(py, got[(s, a)])]
    assert not diffs, "\n".join(diffs)
