"""Read a returned workbook against its plan: identity, tampering, values.

The workbook is read with :mod:`importer.xlsx_reader` and compared, cell by
cell, with :func:`xlsxgen.workbook.plan.build_plan` of its format:

* identity — the very hidden metadata sheet (:data:`xlsxgen.workbook.plan.META_SHEET`)
  names generator, format id and version, agency, year, whether last year's
  sheet is included, and the plan fingerprint. Without it, the labels are
  matched against every installed format (a warning when one matches);
* tampering — sheets added, removed or renamed; structure and sheet
  protection; every label; every planned formula (normalised: ``$``, quotes
  around sheet names, spaces, case, a leading ``=`` and ``_xlfn.`` prefixes do
  not count); the locked flag of every planned cell; rows or columns inserted
  or deleted (labels or defined names found displaced: reported once per
  sheet); cached totals against our recomputation;
* values — every input through :mod:`importer.values`.

What a spreadsheet application changes legitimately when it re-saves
(styles renumbered, fonts, widths, password hash case, quotes in defined
names, ``formula2`` in validations, 15-digit cached values, the metadata sheet
turned from very hidden to hidden, the structure lock dropped) is not
compared, or is at most a warning.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections import Counter

from importer.findings import Finding, Unreadable, make
from importer.json_import import MAX_TEXT
from importer.result import ImportResult
from importer.safety import DEFAULT_LIMITS, Limits
from importer.validate import Locator, value_finding
from importer.values import Reading, clip, read_cell, same
from importer.xlsx_reader import FORMULA, STYLE, TYPE, VALUE, Workbook, open_workbook, split_ref, style_index
from xlsxgen.data import Submission, set_bound
from xlsxgen.errors import SpecError
from xlsxgen.spec import available_formats, load_format
from xlsxgen.spec.rules import format_number, recompute_totals
from xlsxgen.workbook.plan import GENERATION, GENERATOR, META_SHEET, build_plan, inputs_digest

TEXT_TYPES = ("s", "str", "inlineStr")
LOCKED_ROLES = ("label", "total", "check", "bound", "previous", "status")
FORMULA_ROLES = ("total", "check", "status")
ROLE_WORDS = {"total": "合计", "check": "校验", "status": "校验状态", "label": "标签", "bound": "预填内容",
              "previous": "上年数据"}
LABEL_MATCH_THRESHOLD = 0.8
RENAME_MATCH_THRESHOLD = 0.5
MAX_LISTED_CELLS = 6
MAX_RENAME_CANDIDATES = 20  # added sheets looked at for a renamed planned sheet
PACKAGE_BUDGETS = ("file.too_slow", "file.too_big_uncompressed", "file.zip_bomb")
CONTACT_BINDS = ("contact.person", "contact.phone")  # the cover fields someone must be reachable by (data model)

# --------------------------------------------------------------------------- formulas

_TOKENS = re.compile(r"(\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*')")
_XL_PREFIX = re.compile(r"_xl(?:fn|ws|udf)\.", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def normalize_formula(text: str, renames: dict[str, str] | None = None) -> str:
    """A formula in a canonical spelling: no ``=``, ``$``, spaces, ``_xlfn.``; quotes
    around sheet names dropped; upper case outside string literals; sheets
    renamed back (``renames``: actual name → planned name)."""
    text = text.strip()
    if text.startswith("="):
        text = text[1:]
    out = []
    for i, tok in enumerate(_TOKENS.split(text)):
        if i % 2 and tok.startswith('"'):
            out.append(tok)  # a string literal: verbatim
            continue
        if i % 2:  # a quoted sheet name
            name = tok[1:-1].replace("''", "'")
            if renames and name in renames:
                name = renames[name]
            out.append(name.upper())
            continue
        tok = _XL_PREFIX.sub("", tok.replace("$", ""))
        tok = _SPACE.sub("", tok)
        if renames:
            for new, old in renames.items():
                tok = tok.replace(new + "!", old + "!")
        out.append(tok.upper())
    return "".join(out)


# --------------------------------------------------------------------------- helpers


def _cell_text(c) -> str:
    """A cell's displayed text (for labels and text fields)."""
    if c is None or c[VALUE] is None:
        return ""
    v, t = c[VALUE], c[TYPE]
    if t in TEXT_TYPES:
        return v
    if t == "b":
        return "TRUE" if v in ("1", "true") else "FALSE"
    if t == "n":
        try:
            f = float(v)
        except ValueError:
            return v
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    return v


def _norm_label(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\r", "\n").strip()


def _excel_date(serial: float) -> str:
    """An Excel serial date (1900 system) as ISO text."""
    base = _dt.datetime(1899, 12, 30)
    try:
        d = base + _dt.timedelta(days=float(serial))
    except (OverflowError, ValueError):
        return str(serial)
    return d.date().isoformat() if d.time() == _dt.time(0) else d.isoformat(sep=" ", timespec="minutes")


def _list_cells(cells: list[str]) -> str:
    if len(cells) <= MAX_LISTED_CELLS:
        return "、".join(cells) + " "
    return "、".join(cells[:MAX_LISTED_CELLS]) + f" 等 {len(cells)} 个单元格"


def cell_ranges(cells: list[str], limit: int = 12) -> str:
    """A1 addresses as ranges: runs down a column become ``C5:C9``; runs of such ranges across columns ``C5:E9``."""
    from xlsxgen.workbook.layout import a1

    pos = sorted({rc for rc in (split_ref(c) for c in cells if c) if rc}, key=lambda x: (x[1], x[0]))
    runs: list[list[int]] = []  # [col, first row, last row]
    for r, c in pos:
        if runs and runs[-1][0] == c and runs[-1][2] == r - 1:
            runs[-1][2] = r
        else:
            runs.append([c, r, r])
    blocks: list[list[int]] = []  # [first col, last col, first row, last row]
    for c, r0, r1 in runs:
        if blocks and blocks[-1][1] == c - 1 and blocks[-1][2] == r0 and blocks[-1][3] == r1:
            blocks[-1][1] = c
        else:
            blocks.append([c, c, r0, r1])
    parts = [a1(r0, c0) if (c0, r0) == (c1, r1) else f"{a1(r0, c0)}:{a1(r1, c1)}" for c0, c1, r0, r1 in blocks]
    if len(parts) > limit:
        return "、".join(parts[:limit]) + f" 等 {len(parts)} 处"
    return "、".join(parts)


def _name_target(text: str) -> tuple[str, str] | None:
    """(sheet, A1) of a defined name's ``'Sheet'!$A$1`` text, or None."""
    text = text.strip()
    if "!" not in text:
        return None
    sheet, _, ref = text.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    ref = ref.replace("$", "")
    return sheet, ref


class PlanIndex:
    """What the importer needs from a plan, computed once per plan: addresses, normalised
    labels and formulas, the live check cell of each rule instance."""

    def __init__(self, plan):
        self.plan = plan
        self.sheets = []  # (SheetPlan, [(cell, address, normalised label)], [(cell, address, role, locked)])
        self.formula = {}  # PlanCell -> normalised planned formula
        self.rule_cells = {}  # RuleInstance -> its short check cell on the table sheet
        for sp in plan.sheets:
            labels, others = [], []
            for c in sp.cells:
                if c.role == "label":
                    labels.append((c, c.address, _norm_label(c.text or "")))
                elif c.role != "text":
                    others.append((c, c.address, c.role, c.role in LOCKED_ROLES))
                if c.formula:
                    self.formula[c] = normalize_formula(c.formula)
                if c.role == "check" and c.style == "check_short":
                    self.rule_cells[c.rule] = c
            self.sheets.append((sp, labels, others))


@functools.lru_cache(maxsize=64)
def plan_index(plan) -> PlanIndex:
    """The index of ``plan`` (plans are built once per format and hash by identity)."""
    return PlanIndex(plan)


class WorkbookLocator(Locator):
    """Figures and rules located on the workbook's sheets."""

    def __init__(self, spec, plan, sheet_names: dict[str, str]):
        super().__init__(spec)
        self.plan = plan
        self.sheet_names = sheet_names  # planned name -> actual name
        self._rule_cells = plan_index(plan).rule_cells
        self._fields = plan.field_cells

    def _at(self, cell) -> dict:
        return {"sheet": self.sheet_names.get(cell.sheet, cell.sheet), "cell": cell.address}

    def figure(self, key):
        c = self.plan.figure_cells.get(key) or self._fields.get(key)
        return self._at(c) if c is not None else {}

    def rule(self, ru):
        c = None
        if ru.focus is not None:  # the rule names the cell it is about (e.g. 现行有效件数): point there
            c = self.plan.figure_cells.get((ru.table, *ru.focus))
        if c is None:
            c = self._rule_cells.get(ru)
        if c is None:  # not in this workbook (e.g. a cross-year rule checked with --previous): its first figure
            for ref in ru.refs:
                if not ref.previous:
                    c = self.plan.figure_cells.get((ref.table, ref.row, ref.column))
                    break
        return self._at(c) if c is not None else {}

    def place(self, key):
        c = self.plan.figure_cells.get(key) or self._fields.get(key)
        if c is None:
            return super().place(key)
        where = self._at(c)
        return f"「{where['sheet']}」工作表 {where['cell']}（{self.label(key)}）"


# --------------------------------------------------------------------------- the importer


class _Importer:
    def __init__(self, wb: Workbook, path: str):
        self.wb = wb
        self.path = path
        self.findings: list[Finding] = []
        self.meta: dict[str, str] = {}
        self.generation = GENERATION  # of the plan the workbook was generated with (an older one still reads)
        self.actual_names = [s.name for s in wb.info.sheets]

    def add(self, code, **kw):
        self.findings.append(make(code, **kw))

    # ------------------------------------------------------------------ identity
    def read_meta(self) -> dict[str, str]:
        if META_SHEET not in self.actual_names:
            return {}
        sheet = self.wb.load_sheet(META_SHEET)
        out = {}
        for r in range(1, 200):
            k = sheet.cells.get(f"A{r}")
            if k is None:
                break
            out[_cell_text(k)] = _cell_text(sheet.cells.get(f"B{r}"))
        return out

    def identify_by_labels(self):
        """(spec, with_previous) of the installed format whose labels match best, or None."""

        best = None
        for spec in available_formats():
            with_prev = spec.sheets.get("previous") in self.actual_names
            plan = build_plan(spec, with_prev)
            total = matched = 0
            for sp in plan.sheets:
                if sp.kind != "table":
                    continue
                labels = [c for c in sp.cells if c.role == "label" and c.text]
                total += len(labels)
                if sp.name not in self.actual_names:
                    continue
                sheet = self.wb.load_sheet(sp.name)
                matched += sum(1 for c in labels if _norm_label(_cell_text(sheet.cells.get(c.address))) == _norm_label(c.text))
            score = matched / total if total else 0
            if score >= LABEL_MATCH_THRESHOLD and (best is None or score > best[2]):
                best = (spec, with_prev, score)
        return best[:2] if best else None

    def identify(self):
        """Spec, with_previous, year, agency; None when the workbook cannot be mapped."""

        meta = self.meta = self.read_meta()
        if meta.get("generator") == GENERATOR and meta.get("format_id"):
            fid = meta["format_id"]
            try:
                spec = load_format(fid)
            except SpecError:
                self.add("identity.unknown_format", format=fid, version=meta.get("format_version", ""))
                return None
            if meta.get("format_version") and meta["format_version"] != spec.version:
                self.add("identity.other_version", format=fid, version=meta["format_version"], current=spec.version)
            with_prev = meta.get("with_previous") == "1"
            plan = build_plan(spec, with_prev)
            if meta.get("fingerprint") and meta["fingerprint"] != plan.fingerprint:
                older = [g for g in range(1, GENERATION) if build_plan(spec, with_prev, g).fingerprint == meta["fingerprint"]]
                if older:  # distributed before an upgrade of the tool, earlier in the season: read by its own plan
                    self.generation = older[-1]
                else:
                    self.add("identity.fingerprint", expected=plan.fingerprint, actual=meta["fingerprint"])
            year = None
            try:
                year = int(meta.get("year", ""))
            except ValueError:
                self.add("identity.bad_metadata", key="year", value=meta.get("year", ""))
            return spec, with_prev, year, meta.get("agency_name", ""), meta.get("agency_code", "")
        found = self.identify_by_labels()
        if found is None:
            self.add("identity.not_ours")
            return None
        spec, with_prev = found
        self.add("identity.no_metadata", meta=META_SHEET, format=spec.id)
        return spec, with_prev, None, None, None

    # ------------------------------------------------------------------ sheets
    def map_sheets(self, plan) -> dict[str, str]:
        """planned name -> actual name; adds sheet findings."""
        planned = [s for s in plan.sheets if s.kind != "meta"]
        planned_names = {s.name for s in plan.sheets}
        extra = [n for n in self.actual_names if n not in planned_names]
        mapping = {s.name: s.name for s in plan.sheets if s.name in self.actual_names}
        missing = [s for s in planned if s.name not in self.actual_names]
        renamed = {}
        for sp in missing:
            best = None
            labels = [c for c in sp.cells if c.role == "label" and c.text]
            last_row = max((c.row for c in labels), default=0)
            for name in extra[:MAX_RENAME_CANDIDATES]:
                if name in renamed.values():
                    continue
                try:  # only the rows where the labels would be: an added sheet is not read in full
                    sheet = self.wb.peek_sheet(name, last_row)
                except Unreadable as u:
                    if u.code in PACKAGE_BUDGETS:  # the time or size budget of the whole file: not skipped
                        raise
                    continue  # an added sheet we cannot read is not needed: it is reported as added
                hits = sum(1 for c in labels if _norm_label(_cell_text(sheet.cells.get(c.address))) == _norm_label(c.text))
                score = hits / len(labels) if labels else 0
                if score >= RENAME_MATCH_THRESHOLD and (best is None or score > best[1]):
                    best = (name, score)
            if best is None:  # no content match: the sheet at the same position, if it is an extra one
                i = [s.name for s in plan.sheets].index(sp.name)
                if i < len(self.actual_names) and self.actual_names[i] in extra and not labels:
                    best = (self.actual_names[i], 0)
            if best is not None:
                renamed[sp.name] = best[0]
        for sp in planned:
            if sp.name in renamed:
                mapping[sp.name] = renamed[sp.name]
                self.add("tamper.sheet_renamed", sheet=renamed[sp.name], expected=sp.name, actual=renamed[sp.name])
            elif sp.name not in mapping:
                holds_data = any(c.role in ("input", "field") for c in sp.cells)
                self.add("tamper.sheet_removed", sheet=sp.name, blocking=holds_data)
        for name in extra:
            if name not in renamed.values():
                self.add("tamper.sheet_added", sheet=name)
        if not self.wb.info.structure_locked:  # a LibreOffice/WPS re-save: a note unless the sheets changed too
            sheets_intact = not extra and not renamed and all(sp.name in mapping for sp in planned)
            self.add("tamper.structure_unlocked", severity="info" if sheets_intact else "warning",
                     detail="；工作表、单元格和公式已逐项核对" if sheets_intact else "，且工作表有增删或改名（见其他问题）")
        return mapping

    # ------------------------------------------------------------------ shifted rows/columns
    def detect_shift(self, sp, sheet, mismatches, actual_name) -> str | None:
        """A description of the displacement when rows/columns look inserted or deleted, else None."""
        examples = []
        votes: Counter = Counter()
        if len(mismatches) >= 2:
            index: dict[str, list[tuple[int, int]]] = {}
            for ref, c in sheet.cells.items():
                if c[TYPE] in TEXT_TYPES and c[VALUE]:
                    rc = split_ref(ref)
                    if rc:
                        index.setdefault(_norm_label(c[VALUE]), []).append(rc)
            for pc, _actual in mismatches:
                want = _norm_label(pc.text or "")
                if not want:
                    continue
                cands = [(r - pc.row, c - pc.col) for r, c in index.get(want, ()) if r == pc.row or c == pc.col]
                if not cands:
                    continue
                d = min(cands, key=lambda x: abs(x[0]) + abs(x[1]))
                votes[d] += 1
                examples.append((pc.row, pc.col, d, pc))
        if votes and votes.most_common(1)[0][1] >= 2:
            from xlsxgen.workbook.layout import a1

            top = votes.most_common(1)[0][0]
            row, col, d, pc = min((e for e in examples if e[2] == top), key=lambda e: (e[0], e[1]))
            return f"例如「{pc.text}」应在 {pc.address}，现在在 {a1(row + d[0], col + d[1])}"
        # defined names moved (Excel and LibreOffice move names with inserted rows)
        names = self.wb.info.defined_names
        for c in sp.cells:
            if not c.name or c.name not in names:
                continue
            target = _name_target(names[c.name])
            if target is None:
                continue
            sheet_name, ref = target
            if sheet_name == actual_name and ref != c.address:
                if "#REF" in ref.upper():
                    return f"名称 {c.name} 指向的单元格 {c.address} 已被删除"
                return f"名称 {c.name} 应指向 {c.address}，现在指向 {ref}"
        return None

    # ------------------------------------------------------------------ the cells
    def run(self) -> ImportResult:
        result = ImportResult(self.path, "workbook", findings=self.findings)
        result.metadata = dict(self.meta)
        ident = self.identify()
        result.metadata = dict(self.meta)
        if self.wb.info.app:
            result.metadata["application"] = self.wb.info.app
        if ident is None:
            return result
        spec, with_prev, year, agency_name, agency_code = ident
        result.spec = spec
        plan = build_plan(spec, with_prev, self.generation)
        mapping = self.map_sheets(plan)
        renames = {actual: planned for planned, actual in mapping.items() if actual != planned}
        locator = WorkbookLocator(spec, plan, mapping)
        result.locator = locator
        styles = self.wb.styles

        inputs: dict[tuple, object] = {}
        narrative: dict[str, object] = {}
        bound: dict[str, str] = {}
        contact_fields: list[tuple] = []
        previous_values: dict[tuple, object] = {}
        totals_to_check = []
        meta_values = {"agency.name": agency_name, "agency.code": agency_code,
                       "year": str(year) if year is not None else None}

        index = plan_index(plan)
        shifted: list[str] = []
        locked_cache: dict = {}  # raw s= text -> locked flag (the same few styles recur on every sheet)
        is_locked_style = styles.is_locked

        for sp, labels, others in index.sheets:
            if sp.kind == "meta" or sp.name not in mapping:
                continue
            actual = mapping[sp.name]
            sheet = self.wb.load_sheet(actual)
            if not sheet.protected:
                self.add("tamper.sheet_unprotected", sheet=actual)
            cells = sheet.cells
            mismatches = []
            unlocked: dict[str, list[str]] = {}
            for pc, addr, want in labels:
                c = cells.get(addr)
                if c is None:
                    got = ""
                    lk = is_locked_style(sheet.style_at(addr, pc.row, pc.col))
                else:
                    got = c[VALUE] if c[TYPE] in TEXT_TYPES and c[VALUE] is not None else _cell_text(c)
                    lk = locked_cache.get(c[STYLE])
                    if lk is None:
                        lk = locked_cache[c[STYLE]] = is_locked_style(style_index(c[STYLE]))
                if got != want and _norm_label(got) != want:
                    mismatches.append((pc, got))
                if not lk:
                    unlocked.setdefault(ROLE_WORDS["label"], []).append(addr)
            shift = self.detect_shift(sp, sheet, mismatches, actual) if mismatches else None
            if shift:
                self.add("tamper.rows_shifted", sheet=actual, detail=shift)
                shifted.append(actual)
                unlocked.clear()
            else:
                for pc, got in mismatches:
                    self.add("tamper.label_changed", sheet=actual, cell=pc.address, expected=pc.text, actual=got)
            locked_inputs: list[str] = []

            for pc, addr, role, must_lock in others:
                c = cells.get(addr)
                if not shift:
                    if c is None:
                        lk = is_locked_style(sheet.style_at(addr, pc.row, pc.col))
                    else:
                        lk = locked_cache.get(c[STYLE])
                        if lk is None:
                            lk = locked_cache[c[STYLE]] = is_locked_style(style_index(c[STYLE]))
                    if must_lock:
                        if not lk:
                            unlocked.setdefault(ROLE_WORDS[role], []).append(addr)
                    elif lk:
                        locked_inputs.append(addr)
                if role == "input":
                    if c is not None and c[FORMULA] is not None:  # never trust a cached value we did not compute
                        reading = Reading(None, "value.formula")
                        if not shift:
                            self.findings.append(_formula_finding(pc.key, c, locator))
                    else:
                        reading = read_cell(None, None, pc.kind) if c is None else read_cell(c[VALUE], c[TYPE], pc.kind)
                    if reading.code and not shift and reading.code != "value.formula":
                        self.findings.append(value_finding(reading.code, pc.key, reading, locator))
                    inputs[pc.key] = reading.value
                    if shift or reading.value is None:
                        result.unreliable.add(pc.key)
                elif role in FORMULA_ROLES:
                    if shift:
                        continue
                    f = c[FORMULA] if c is not None else None
                    if f is None:
                        if role == "total":
                            totals_to_check.append((pc, c, actual, False))
                        else:
                            self.add("tamper.formula_replaced", sheet=actual, cell=addr, what=ROLE_WORDS[role],
                                     content=_content(c), detail="", actual=_cell_text(c) or None)
                    elif f != pc.formula and normalize_formula(f, renames) != index.formula[pc]:
                        self.add("tamper.formula_changed", sheet=actual, cell=addr, what=ROLE_WORDS[role],
                                 expected=pc.formula, actual=f)
                    elif role == "total":
                        totals_to_check.append((pc, c, actual, True))
                elif role == "field":
                    self.read_field(pc, c, narrative, contact_fields, locator, shift)
                elif role == "bound":
                    got = _cell_text(c).strip()
                    bind = pc.field.bind
                    want = meta_values.get(bind) if bind else None
                    if want is not None and got != want and got != want.strip() and not shift:
                        self.add("tamper.bound_changed", sheet=actual, cell=addr, label=pc.field.label,
                                 expected=want, actual=got)
                    bound[bind] = got
                elif role == "previous":
                    if c is not None and c[FORMULA] is not None:  # we write last year's values as constants
                        if not shift:
                            self.add("value.formula", place=f"「{actual}」工作表 {addr}（上年数据）",
                                     formula=clip(c[FORMULA] or "（共享公式）"), sheet=actual, cell=addr)
                        continue
                    reading = read_cell(c[VALUE], c[TYPE], "amount") if c is not None else None
                    if reading is not None and reading.ok:
                        previous_values[pc.key] = reading.value
            if unlocked:
                cells_list = [a for v in unlocked.values() for a in v]
                self.add("tamper.cell_unlocked", sheet=actual, cell=cells_list[0], cells=_list_cells(cells_list),
                         what="、".join(unlocked))
            if locked_inputs:
                self.add("tamper.input_locked", sheet=actual, cell=locked_inputs[0], cells=_list_cells(locked_inputs))

        if shifted:  # formulas elsewhere that an application moved along with the rows: not news
            moved = {normalize_formula(f"'{n}'!A1")[:-2] for n in shifted}
            self.findings[:] = [f for f in self.findings if not (
                f.rule == "tamper.formula_changed" and any(m in normalize_formula(str(f.actual)) for m in moved))]
        for sp in plan.sheets:  # figures of a removed sheet
            if sp.name not in mapping:
                result.unreliable.update(c.key for c in sp.cells if c.role == "input")

        # identity from the cover when there is no metadata
        if year is None:
            try:
                year = int(float(bound.get("year") or ""))
            except ValueError:
                year = None
        if agency_name is None:
            agency_name = bound.get("agency.name", "")
        if agency_code is None:
            agency_code = bound.get("agency.code", "")

        sub = Submission(spec.id, year=year, agency_name=agency_name or "", agency_code=agency_code or "")
        sub.values = {k: v for k, v in inputs.items() if v is not None}
        for f in spec.narrative_fields:
            sub.narrative[f.key] = narrative.get(f.key)
        for bind, text in contact_fields:
            set_bound(sub, bind, text)
        result.submission = sub
        self.summarise_blanks(spec, locator)
        self.whole_submission(spec, plan, sub, locator, mapping)

        # totals: formula replaced, or cached value stale
        values = result.recomputed = recompute_totals(spec, dict(sub.values))
        for pc, c, actual, intact in totals_to_check:
            rec = values.get(pc.key, 0)
            if not intact:
                self.add("tamper.formula_replaced", sheet=actual, cell=pc.address, what=ROLE_WORDS["total"],
                         content=_content(c), detail=f"（按各项计算应为 {_fmt(rec)}）", expected=rec,
                         actual=_number_or_text(c), **locator.keys(pc.key))
                continue
            if c is None or c[VALUE] in (None, "") or c[TYPE] != "n":
                continue  # no cached number (e.g. saved by a library): nothing to compare
            try:
                cached = float(c[VALUE])
            except ValueError:
                continue
            if not same(cached, rec):
                self.add("tamper.stale_total", sheet=actual, cell=pc.address, label=locator.label(pc.key),
                         expected=rec, actual=cached, **locator.keys(pc.key))
        if with_prev:
            result.previous_values = previous_values
        return result

    def summarise_blanks(self, spec, locator) -> None:
        """One finding per table for its blank input cells (how many, which, counted as 0) instead of one per cell."""
        blanks = [f for f in self.findings if f.rule == "value.blank"]
        if not blanks:
            return
        groups: dict[tuple, list] = {}
        for f in blanks:
            groups.setdefault((f.table, f.sheet), []).append(f)
        merged = []
        keep = set()
        for (table, sheet), fs in groups.items():
            if len(fs) == 1:  # one blank cell: its own finding says exactly where
                keep.add(id(fs[0]))
                continue
            if table in ("narrative", "cover"):
                place = f"「{sheet}」工作表"
            else:
                try:
                    place = f"「{sheet}」工作表（{spec.table(table).heading}）"
                except KeyError:
                    place = f"「{sheet}」工作表"
            merged.append(make("value.blank_cells", place=place, count=len(fs), cells=cell_ranges([f.cell for f in fs]),
                               sheet=sheet, cell=fs[0].cell, table=table))
        first = self.findings.index(blanks[0])
        rest = [f for f in self.findings if f.rule != "value.blank" or id(f) in keep]
        self.findings[:] = rest[:first] + merged + rest[first:]

    def whole_submission(self, spec, plan, sub, locator, mapping) -> None:
        """An untouched template is an error; an empty narrative and missing contact one warning each."""
        cover_sheet = mapping.get(spec.sheets.get("cover", ""), spec.sheets.get("cover", ""))
        narr_sheet = mapping.get(spec.sheets.get("narrative", ""), spec.sheets.get("narrative", ""))
        texts = [f for f in spec.narrative_fields if f.kind == "text"]
        empty_texts = [f for f in texts if not str(sub.narrative.get(f.key) or "").strip()]
        numeric_narr = [f for f in spec.narrative_fields if f.kind != "text"]
        contacts = [f for f in spec.cover_fields if f.bind in CONTACT_BINDS]
        contacts_all = [f for f in spec.cover_fields if (f.bind or "").startswith("contact.")]
        empty_contacts = [f for f in contacts if not str(sub.contact.get(f.bind.split(".", 1)[1]) or "").strip()]
        untouched_texts = len(empty_texts) == len(texts) and all(
            not str(sub.contact.get(f.bind.split(".", 1)[1]) or "").strip() for f in contacts_all)
        digest = self.meta.get("inputs")
        if untouched_texts and all(not (sub.narrative.get(f.key) or 0) for f in numeric_narr):
            table_values = {k: v for k, v in sub.values.items() if len(k) == 3}
            same_inputs = inputs_digest(table_values) == digest if digest else not any(table_values.values())
            if same_inputs:
                # one error says it all: the blanks and empty texts of an untouched template are not news
                self.findings[:] = [f for f in self.findings if f.rule not in (
                    "value.blank_cells", "value.blank")]
                prefill = "（包括按上年数据预填的数）" if digest and digest != inputs_digest({}) else ""
                self.findings.insert(0, make("submission.untouched", prefill=prefill, sheet=cover_sheet))
                return
        if texts and len(empty_texts) == len(texts):
            self.add("narrative.empty", sheet=narr_sheet, items="、".join(f.label for f in texts),
                     table="narrative", cell=locator.figure(("narrative", texts[0].key)).get("cell"))
        if empty_contacts:
            self.add("contact.empty", sheet=cover_sheet, items="、".join(f.label for f in empty_contacts),
                     table="cover", cell=locator.figure(("cover", empty_contacts[0].key)).get("cell"))

    def read_field(self, pc, c, narrative, contact_fields, locator, shift):
        f = pc.field
        group, key = pc.key
        if c is not None and c[FORMULA] is not None:  # a formula typed where a value belongs
            if not shift:
                self.findings.append(_formula_finding(pc.key, c, locator))
            value = None
        elif f.kind in ("count", "amount"):
            raw, t = (c[VALUE], c[TYPE]) if c is not None else (None, None)
            reading = read_cell(raw, t, f.kind)
            if reading.code and not shift:
                self.findings.append(value_finding(reading.code, pc.key, reading, locator))
            value = reading.value
        else:
            if c is not None and c[TYPE] == "n" and c[VALUE] not in (None, "") and self.wb.styles.is_date(style_index(c[STYLE])):
                value = _excel_date(c[VALUE])
            else:
                value = _cell_text(c)
            if len(value) > MAX_TEXT:
                if not shift:
                    self.add("value.text_too_long", field=f.label, length=len(value), limit=MAX_TEXT,
                             **locator.keys(pc.key), **locator.figure(pc.key))
                value = ""
        if group == "narrative":
            narrative[key] = value if value != "" else None
        elif f.bind:
            contact_fields.append((f.bind, "" if value is None else str(value)))


def _formula_finding(key, c, locator) -> Finding:
    return make("value.formula", place=locator.place(key), formula=clip(c[FORMULA] or "（共享公式）"),
                actual=clip(c[VALUE]) if c[VALUE] is not None else None, **locator.keys(key), **locator.figure(key))


def _content(c) -> str:
    if c is None or c[VALUE] in (None, ""):
        return "空白"
    if c[TYPE] == "n":
        return f"固定数值 {_cell_text(c)}"
    return f"固定文字「{_cell_text(c)}」"


def _number_or_text(c):
    if c is None or c[VALUE] in (None, ""):
        return None
    if c[TYPE] == "n":
        try:
            v = float(c[VALUE])
            return int(v) if v.is_integer() else v
        except ValueError:
            return c[VALUE]
    return _cell_text(c)


def _fmt(v) -> str:

    return format_number(v)


def import_workbook_bytes(data: bytes, path: str, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Import workbook bytes; an unreadable file gives a result with ``unreadable`` set."""

    try:
        wb = open_workbook(data, limits)
        return _Importer(wb, path).run()
    except Unreadable as u:
        return ImportResult(path, "workbook", findings=[u.finding], unreadable=u.finding)
