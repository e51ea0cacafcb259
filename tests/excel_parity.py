"""Helpers of the Excel/Python parity test (tests/test_excel_parity.py).

The parity test proves that the formulas the generator writes compute what
the Python side computes for the same data. This module

- makes random cases (:func:`make_case`): valid data of a format, then, by
  the case's seed, some of imbalances, negative counts, decimals in counts,
  amounts with more than 4 decimals, blank inputs and big values, optionally
  with last year's data (the last-year sheet and its cross-year checks);
- builds each case's workbook with the generator and removes every cached
  formula value at the XML level (:func:`strip_cached_values`), so nothing
  Python computed can survive into what is compared;
- recalculates all workbooks in one headless LibreOffice run
  (:func:`recalculate`) with a profile that recalculates Excel 2007+ files on
  load (``OOXMLRecalcMode`` = 0, "always");
- computes the expected value of every formula cell of the plan in Python
  (:func:`python_values`) from the rules and totals of ``xlsxgen.spec.rules`` and
  ``xlsxgen.spec.expr`` -- not from what the generator cached -- and reads the
  LibreOffice results with openpyxl, an independent reader.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.hostile.data import random_submission
from xlsxgen import messages
from xlsxgen.data import Submission
from xlsxgen.spec.rules import compile_spec, recompute_totals
from xlsxgen.workbook.plan import build_plan
from xlsxgen.workbook.writer import build_workbook

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
FORMULA_ROLES = ("total", "check", "status")

# LibreOffice keeps the cached values of an .xlsx by default ("never recalculate"),
# even with fullCalcOnLoad="1" (which xlsxwriter writes): the profile says "always".
RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""

# LibreOffice 7.4 silently stopped after ~250 files of one --convert-to run: longer lists go in runs of this many.
BATCH = 100
MUTATIONS = ("imbalance", "negative", "decimal_count", "long_decimals", "blank", "big")


@dataclass
class Case:
    """One workbook's data: ``values`` maps every input key to a number, or None for a blank cell."""

    name: str
    seed: int
    spec: object
    year: int
    values: dict
    previous: dict | None = None  # last year's inputs (the last-year sheet), when present
    mutations: list = field(default_factory=list)
    texts: dict = field(default_factory=dict)  # input key -> text typed in the cell (values[key]: as the importer reads it)

    @property
    def blanks(self) -> set:
        return {k for k, v in self.values.items() if v is None}

    def describe(self) -> str:
        prev = ", with last year's data" if self.previous is not None else ""
        return f"{self.name} (seed {self.seed}: {', '.join(self.mutations) or 'valid'}{prev})"


def _input_kinds(spec) -> dict:
    return {(t.key, rk, ck): t.kinds[(rk, ck)] for t in spec.tables for rk, ck in t.input_cells()}


def _mutate(rnd: random.Random, values: dict, kinds: dict, mutation: str) -> None:
    keys = sorted(values)
    picked = rnd.sample(keys, k=min(len(keys), rnd.randint(1, 6)))
    for key in picked:
        kind = kinds[key]
        v = values[key] or 0
        if mutation == "imbalance":
            values[key] = v + rnd.choice([1, 2, 7, 100]) * rnd.choice([1, -1]) if v else rnd.randint(1, 9)
            if kind == "amount" and rnd.random() < 0.5:
                values[key] = round(values[key] + rnd.choice([0.0001, 0.5, 0.1234]), 4)
        elif mutation == "negative":
            values[key] = -rnd.choice([1, 3, 50, 1234]) if kind != "amount" else -round(rnd.uniform(0.0001, 99), 4)
        elif mutation == "decimal_count":
            if kind != "amount":
                values[key] = v + rnd.choice([0.5, 0.25, 0.1, 0.3, 0.0001, 0.99999])
        elif mutation == "long_decimals":
            # more than 4 decimals (the importer warns and keeps them): exercises ROUND at the 5th place
            values[key] = round(rnd.uniform(0, 10), rnd.choice([5, 6, 9])) + rnd.choice([0, 0.00005, -0.00005])
        elif mutation == "blank":
            values[key] = None
        elif mutation == "big":
            values[key] = (rnd.randint(10**8, 10**9) if kind != "amount"
                           else round(rnd.uniform(10**6, 10**8), rnd.choice([0, 2, 4])))
            if kind == "signed_count" and rnd.random() < 0.5:
                values[key] = -values[key]


def make_case(spec, seed: int) -> Case:
    """A random case of ``spec``: valid data, then (mostly) a few kinds of invalid data on top.

    About a third of the cases carry last year's data (the last-year sheet and
    the cross-year checks); some of those fail only a warning rule, so the
    cover's "warnings only" status is reached too. The numbers are held as the
    workbook holds them: xlsxwriter writes 16 significant digits, so a float
    artefact such as 1.7564499999999998 is in the cell (and in the importer's
    reading) as 1.75645.
    """
    case = _make_case(spec, seed)
    case.values = {k: _as_written(v) for k, v in case.values.items()}
    if case.previous is not None:
        case.previous = {k: _as_written(v) for k, v in case.previous.items()}
    return case


def _as_written(v):
    return v if v is None or isinstance(v, int) else float(f"{v:.16G}")


def _make_case(spec, seed: int) -> Case:
    rnd = random.Random(seed)
    kinds = _input_kinds(spec)
    year = spec.years[0] + 2
    previous = None
    consistent = False  # this year's data repaired against last year's: the cross-year rules pass
    if rnd.random() < 0.35:
        prev_sub = random_submission(spec, seed * 7 + 1, year=year - 1)
        previous = dict(prev_sub.values)
        prev_mutated = rnd.random() < 0.3
        if prev_mutated:
            _mutate(rnd, previous, kinds, rnd.choice(("imbalance", "big", "negative")))
            previous = {k: (0 if v is None else v) for k, v in previous.items()}
        repaired = rnd.random() < 0.8
        consistent = repaired and not prev_mutated
        sub = random_submission(spec, seed, year=year, previous=prev_sub if repaired else None)
    else:
        sub = random_submission(spec, seed, year=year)
    values = {k: sub.values.get(k, 0) for k in kinds}
    case = Case(f"{spec.id}-{seed}", seed, spec, year, values, previous)
    if consistent and rnd.random() < 0.5 and _fail_one_warning(case, rnd):
        return case
    case.mutations = [] if rnd.random() < 0.15 else rnd.sample(MUTATIONS, k=rnd.randint(1, 3))
    if rnd.random() < 0.1:
        case.mutations = ["all_blank"]
        case.values = dict.fromkeys(values)
    for m in case.mutations:
        if m != "all_blank":
            _mutate(rnd, case.values, kinds, m)
    return case


def _fail_one_warning(case: Case, rnd: random.Random) -> bool:
    """Move one input of a warning rule by 1 so that only warnings fail; False when no input does that."""
    spec = case.spec
    plan = build_plan(spec, True)
    (status,) = [(c.sheet, c.address) for c in plan.cells if c.role == "status"]
    warned = messages.STATUS_WARNINGS.format(checks=spec.sheets["checks"])
    keys = sorted({(r.table, r.row, r.column) for ru in compile_spec(spec).rules if ru.severity == "warning"
                   for r in ru.refs if not r.previous and (r.table, r.row, r.column) in case.values})
    rnd.shuffle(keys)
    for key in keys:
        old = case.values[key]
        case.values[key] = old + 1
        if python_values(case)[status] == warned:
            case.mutations = ["warning_only"]
            return True
        case.values[key] = old
    return False


# --------------------------------------------------------------------------- Python's side


def python_values(case: Case) -> dict:
    """(sheet, A1) -> the value Python computes for every formula cell of the case's workbook.

    Blank inputs count as 0 (as the importer counts them). Totals from
    ``recompute_totals``; the checks sheet: "通过" or the rule's message with
    both sides spliced in; the short check under a table: "通过"/"未通过";
    the cover's status: 待填写 while nothing is typed, else the number of failing error rules, else warnings.
    """
    spec = case.spec
    plan = build_plan(spec, case.previous is not None)
    values = recompute_totals(spec, {k: (0 if v is None else v) for k, v in case.values.items()})
    prev = recompute_totals(spec, dict(case.previous)) if case.previous is not None else {}

    def value_of(ref):
        return (prev if ref.previous else values).get((ref.table, ref.row, ref.column), 0)

    out = {}
    errors = warnings = 0
    for cell in plan.cells:
        if cell.role == "total":
            out[(cell.sheet, cell.address)] = values[cell.key]
        elif cell.role == "check":
            ok, left, right = cell.rule.evaluate(value_of)
            if cell.style == "check_full":
                out[(cell.sheet, cell.address)] = messages.PASS if ok else cell.rule.message(left, right)
                if not ok:
                    errors += cell.rule.severity == "error"
                    warnings += cell.rule.severity == "warning"
            else:
                out[(cell.sheet, cell.address)] = messages.PASS if ok else messages.FAIL_SHORT
    checks = spec.sheets["checks"]
    if errors:
        status = f"{messages.STATUS_ERRORS_PREFIX}{errors}{messages.STATUS_ERRORS_SUFFIX.format(checks=checks)}"
    else:
        status = messages.STATUS_WARNINGS.format(checks=checks) if warnings else messages.STATUS_OK
    # nothing typed yet: the cases distribute no prefill and no text, so every figure 0 reads 待填写
    # (texts typed into number cells count as typed)
    if not case.texts and round(sum(abs(float(values.get(c.key, 0) or 0)) for c in plan.figure_cells.values()), 4) == 0:
        status = messages.STATUS_PENDING
    (status_cell,) = [c for c in plan.cells if c.role == "status"]
    out[(status_cell.sheet, status_cell.address)] = status
    assert len(out) == sum(1 for c in plan.cells if c.role in FORMULA_ROLES)
    return out


# --------------------------------------------------------------------------- the workbook


def build_case_workbook(case: Case) -> bytes:
    """The generator's workbook of ``case`` (blank inputs as truly empty cells), cached values included."""
    spec = case.spec
    sub = Submission(spec.id, year=case.year, agency_name="测试单位（一致性）", agency_code="P-01")
    sub.values = {k: (0 if v is None else v) for k, v in case.values.items()}
    previous = None
    if case.previous is not None:
        previous = Submission(spec.id, year=case.year - 1, agency_name=sub.agency_name, agency_code="P-01")
        previous.values = dict(case.previous)
    data = build_workbook(spec, year=case.year, agency_name=sub.agency_name, agency_code=sub.agency_code,
                          data=sub, previous=previous)
    if case.blanks or case.texts:
        plan = build_plan(spec, previous is not None)
        by_sheet: dict[str, dict] = {}
        for key in case.blanks | set(case.texts):
            c = plan.figure_cells[key]
            by_sheet.setdefault(c.sheet, {})[c.address] = case.texts.get(key)
        data = rewrite_sheets(data, {s: (lambda xml, a=a: _replace_inputs(xml, a)) for s, a in by_sheet.items()})
    return data


_CELL_RE = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*?)(/>|>(.*?)</c>)', re.S)
_VALUE_RE = re.compile(rb"<v>[^<]*</v>|<v/>")


def _replace_inputs(xml: bytes, addresses: dict) -> bytes:
    """Input cells made blank (address -> None) or holding text (address -> str, an inline string)."""
    found = set()

    def sub(m):
        addr = m.group(1).decode()
        if addr not in addresses:
            return m.group(0)
        found.add(addr)
        assert b"<f>" not in (m.group(4) or b""), addr
        text = addresses[addr]
        if text is None:
            return b'<c r="' + m.group(1) + b'"' + m.group(2) + b"/>"
        body = text.replace("&", "&amp;").replace("<", "&lt;").encode()
        return (b'<c r="' + m.group(1) + b'"' + m.group(2) + b' t="inlineStr"><is><t xml:space="preserve">'
                + body + b"</t></is></c>")

    out = _CELL_RE.sub(sub, xml)
    assert found == set(addresses), set(addresses) - found
    return out


def strip_cached_values(data: bytes) -> tuple[bytes, int]:
    """``data`` with the cached value (``<v>``) of every formula cell removed; and how many were removed.

    Only the ``<v>`` elements of cells holding an ``<f>`` change; every other
    byte of every part stays as it was.
    """
    count = 0

    def strip(xml: bytes) -> bytes:
        def sub(m):
            nonlocal count
            body = m.group(4)
            if body is None or b"<f" not in body:
                return m.group(0)
            new, n = _VALUE_RE.subn(b"", body)
            assert n <= 1, m.group(0)
            count += n
            return m.group(0)[: m.start(4) - m.start(0)] + new + b"</c>"

        return _CELL_RE.sub(sub, xml)

    return rewrite_sheets(data, strip, every_sheet=True), count


def set_cached_value(data: bytes, sheet: str, address: str, value: bytes) -> bytes:
    """``data`` with the cached value of the formula cell ``sheet!address`` replaced by ``value``."""

    def poison(xml: bytes) -> bytes:
        pat = re.compile(rb'(<c r="' + address.encode() + rb'"[^>]*><f>[^<]*</f><v>)[^<]*(</v>)')
        new, n = pat.subn(lambda m: m.group(1) + value + m.group(2), xml)
        assert n == 1, (sheet, address)
        return new

    return rewrite_sheets(data, {sheet: poison})


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip part, through workbook.xml and its relationships."""
    wb = zf.read("xl/workbook.xml").decode("utf-8")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {}
    for m in re.finditer(r"<Relationship [^>]*>", rels):
        rid = re.search(r'Id="([^"]+)"', m.group(0)).group(1)
        targets[rid] = re.search(r'Target="([^"]+)"', m.group(0)).group(1)
    out = {}
    for m in re.finditer(r"<sheet [^>]*>", wb):
        name = re.search(r'name="([^"]+)"', m.group(0)).group(1)
        rid = re.search(r'r:id="([^"]+)"', m.group(0)).group(1)
        name = name.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">")
        out[name.replace("&amp;", "&")] = "xl/" + targets[rid].lstrip("/").removeprefix("xl/")
    return out


def rewrite_sheets(data: bytes, edits, every_sheet: bool = False) -> bytes:
    """Apply ``edits`` ({sheet name: bytes -> bytes}, or one function for every sheet) to the sheet parts.

    Every entry is copied with its own ZipInfo (name, date, compression);
    the content of the parts not edited is unchanged.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    parts = sheet_parts(src)
    by_part = {parts[s]: f for s, f in edits.items()} if not every_sheet else dict.fromkeys(parts.values(), edits)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename in by_part:
                body = by_part[info.filename](body)
            dst.writestr(info, body)
    return out.getvalue()


# --------------------------------------------------------------------------- LibreOffice


def recalculate(files: dict[str, bytes], workdir: Path, timeout: float = 600) -> dict[str, Path]:
    """Open, recalculate and save every workbook in one headless LibreOffice run; name -> saved file."""
    src, out, profile = workdir / "in", workdir / "out", workdir / "profile"
    src.mkdir(parents=True)
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_PROFILE, encoding="utf-8")
    for name, data in files.items():
        (src / name).write_bytes(data)
    names = list(files)
    for i in range(0, len(names), BATCH):  # one run for the CI's 50; slow mode in runs of BATCH
        cmd = [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--convert-to",
               "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), *[str(src / n) for n in names[i : i + BATCH]]]
        r = subprocess.run(cmd, capture_output=True, timeout=timeout)
        missing = [n for n in names[i : i + BATCH] if not (out / n).is_file()]
        assert not missing, f"LibreOffice did not save {missing[:5]} (exit {r.returncode}): {r.stderr[-2000:]!r}"
    return {name: out / name for name in files}


def read_formula_cells(path: Path, plan) -> dict:
    """(sheet, A1) -> the value LibreOffice saved, for every formula cell of ``plan`` (openpyxl, data_only)."""
    import openpyxl

    wanted: dict[str, set] = {}
    for c in plan.cells:
        if c.role in FORMULA_ROLES:
            wanted.setdefault(c.sheet, set()).add(c.address)
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)  # read-only: 2x faster, rows in order
    out = {}
    try:
        for sheet, addresses in wanted.items():
            for row in wb[sheet].iter_rows():
                for cell in row:
                    if getattr(cell, "coordinate", None) in addresses:
                        out[(sheet, cell.coordinate)] = cell.value
    finally:
        wb.close()
    missing = {(s, a) for s, addrs in wanted.items() for a in addrs} - set(out)
    out.update(dict.fromkeys(missing))  # absent from the saved sheet: no value
    return out


def same(python, excel) -> bool:
    """Equal values: text exactly; numbers within 1e-9 relative (LibreOffice saves 15 significant digits)."""
    if isinstance(python, str) or isinstance(excel, str) or python is None or excel is None:
        return type(python) is type(excel) and python == excel
    if isinstance(excel, bool):
        return False
    return abs(python - excel) <= 1e-9 * max(1.0, abs(python), abs(excel))
