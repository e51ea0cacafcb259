"""The workbook plan: every cell a generated workbook contains, derived from the spec.

The generator draws the plan (adding styles and values); the importer reads
a returned workbook against the same plan (where each input is, which label
and formula must be where, which cells must stay locked). The structural part
of the plan is hashed into the fingerprint stored in the metadata sheet.

Roles of a planned cell:

========== ===================================================== ==========
role       what                                                  locked
========== ===================================================== ==========
label      fixed text of the format (headings, table labels)     yes
input      a figure the agency types (table cell)                no
total      a computed cell: formula from the spec's totals       yes
check      a live rule check: formula compiled from a rule       yes
field      a typed cover or narrative field                      no
bound      a prefilled, locked cover field (agency, year)        yes
text       personalised text (agency line), not fingerprinted    yes
previous   last year's value, for cross-year checks              yes
status     the overall status on the cover sheet                 yes
========== ===================================================== ==========
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field

from xlsxgen import messages
from xlsxgen.spec import expr
from xlsxgen.spec.rules import compile_spec
from xlsxgen.spec.runner import rules_for
from xlsxgen.workbook.layout import a1, build_layout, place_checks

CONSOLIDATED_ROLE = "consolidated"  # metadata role of a collection's sum in the official layout (not collected)
META_SHEET = "_xlsxgen"  # very hidden; the tool's own, not a format fact
GENERATOR = "xlsxgen"
STRUCTURAL_ROLES = ("label", "input", "total", "check", "field", "bound", "previous", "status")


@dataclass(eq=False)  # hashes by identity: indexes are keyed by the planned cell
class PlanCell:
    sheet: str
    row: int
    col: int
    role: str
    text: str | None = None  # label text (or a template with {agency}/{year} for role=text)
    formula: str | None = None  # without the leading "="
    name: str | None = None  # defined name
    key: tuple | None = None  # (table, row, column) of a figure; ("cover"/"narrative", field) of a field
    kind: str | None = None  # count | amount | text | year
    last_row: int | None = None  # merged range end, when merged
    last_col: int | None = None
    style: str | None = None  # a hint for the generator (title, header, hint, ...)
    rule: object = None  # RuleInstance for role=check
    field: object = None  # spec Field for role=field/bound

    @property
    def address(self) -> str:
        return a1(self.row, self.col)

    @property
    def merged(self) -> bool:
        return self.last_row is not None and (self.last_row, self.last_col) != (self.row, self.col)


@dataclass
class SheetPlan:
    name: str
    kind: str  # cover | instructions | table | narrative | checks | previous | meta
    cells: list[PlanCell] = field(default_factory=list)
    table: object = None  # TableSpec for kind=table
    layout: object = None
    widths: list[float] = field(default_factory=list)
    landscape: bool = False
    repeat_rows: tuple[int, int] | None = None

    def add(self, *args, **kw) -> PlanCell:
        c = PlanCell(self.name, *args, **kw)
        self.cells.append(c)
        return c


@dataclass(eq=False)  # hashes by identity (built once per format: build_plan is cached)
class WorkbookPlan:
    spec: object
    sheets: list[SheetPlan]
    with_previous: bool
    result_cells: list[tuple[PlanCell, object]] = field(default_factory=list)  # (full check cell, its rule)

    @functools.cached_property
    def cells(self) -> list[PlanCell]:
        return [c for s in self.sheets for c in s.cells]

    @functools.cached_property
    def figure_cells(self) -> dict[tuple, PlanCell]:
        """(table, row, column) -> its input or total cell."""
        return {c.key: c for c in self.cells if c.role in ("input", "total")}

    @functools.cached_property
    def field_cells(self) -> dict[tuple, PlanCell]:
        return {c.key: c for c in self.cells if c.role in ("field", "bound")}

    @functools.cached_property
    def fingerprint(self) -> str:
        return fingerprint_of(self)

    def sheet(self, name: str) -> SheetPlan:
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(name)


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def figure_name(key: tuple) -> str:
    """The defined name of a figure cell: ``applications.new_received.total``."""
    return ".".join(key)


def fingerprint_of(plan: WorkbookPlan) -> str:
    """SHA-256 of what matters: sheet order, labels, formulas, which cells are inputs.

    Styles, widths, fonts and cached values are deliberately left out: a
    spreadsheet application re-saving the file changes those legitimately.
    """
    items = [[s.name for s in plan.sheets if s.kind != "meta"]]
    for c in plan.cells:
        if c.role in STRUCTURAL_ROLES:
            items.append([c.sheet, c.address, c.role, c.text if c.role == "label" else None, c.formula, c.kind])
    data = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _field_rows(sheet: SheetPlan, fields, first_row: int, group: str, value_col: int = 1):
    r = first_row
    for f in fields:
        sheet.add(r, 0, "label", text=f.label, style="field_label")
        role = "bound" if f.locked else "field"
        sheet.add(r, value_col, role, key=(group, f.key), kind=f.kind, name=f"{group}.{f.key}", field=f)
        r += 1
    return r


GENERATION = 2  # of the plan: 2 reads 待填写 until data is entered; 1 (before issue 12) is still read
INPUTS_SUM_ROW = 9  # 0-based row of ``inputs_sum`` on the metadata sheet (the cover's live status refers to it)


@functools.lru_cache(maxsize=32)
def build_plan(spec, with_previous: bool = False, generation: int = GENERATION) -> WorkbookPlan:
    """The plan of ``spec``'s workbook; ``with_previous`` adds the last-year sheet and checks.

    ``generation`` 1 is the plan of workbooks generated before the cover read
    待填写 (kept so that templates distributed earlier in a season still import).
    """
    return _build_plan(spec, with_previous, generation)


def _build_plan(spec, with_previous: bool, generation: int = GENERATION) -> WorkbookPlan:
    compiled = compile_spec(spec)
    sh = spec.sheets
    plans: list[SheetPlan] = []

    # ------------------------------------------------------------ cover
    cover = SheetPlan(sh["cover"], "cover", widths=[18, 46])
    cover.add(0, 0, "text", text=spec.cover_title, last_row=0, last_col=1, style="title")
    cover.add(1, 0, "label", text=f"{spec.title}（{spec.basis}）", last_row=1, last_col=1, style="subtitle")
    r = _field_rows(cover, spec.cover_fields, 3, "cover")
    status_row = r + 1
    cover.add(status_row, 0, "label", text=spec.status_label, style="field_label")
    status_cell = cover.add(status_row, 1, "status", style="status")
    plans.append(cover)

    # ------------------------------------------------------------ instructions
    instr = SheetPlan(sh["instructions"], "instructions", widths=[6, 100])
    instr.add(0, 0, "label", text=sh["instructions"], last_row=0, last_col=1, style="title")
    for i, text in enumerate(spec.instructions):
        instr.add(2 + i, 0, "text", text=f"{i + 1}.", style="hint")
        instr.add(2 + i, 1, "label", text=text, style="paragraph")
    if generation >= 2:  # personalised (not fingerprinted): what the cover's 待填写 means, and the prefilled cells
        n = len(spec.instructions)
        instr.add(2 + n, 0, "text", text=f"{n + 1}.", style="hint")
        instr.add(2 + n, 1, "text", text="{pending_note}", style="paragraph")
        instr.add(3 + n, 1, "text", text="{prefill_note}", style="paragraph")
    plans.append(instr)

    # ------------------------------------------------------------ statutory tables
    rule_list = list(compiled.rules)
    active_rules = rules_for(spec, with_previous=with_previous)
    table_sheets: dict[str, SheetPlan] = {}
    for t in spec.tables:
        lay = build_layout(t)
        widths = list(t.label_widths) + list(t.value_widths)
        widths += [10] * max(0, lay.width - len(widths))
        sp = SheetPlan(t.sheet, "table", table=t, layout=lay, widths=widths, landscape=t.orientation == "landscape")
        sp.add(0, 0, "label", text=t.heading, last_row=0, last_col=lay.width - 1, style="title")
        sp.add(1, 0, "text", text=messages.AGENCY_LINE, last_row=1, last_col=lay.width - 1, style="agency_line")
        for m in lay.labels:
            sp.add(m.first_row, m.first_col, "label", text=m.text, last_row=m.last_row, last_col=m.last_col,
                   style="block_title" if m.role == "title" else m.role)
        for c in lay.cells:
            key = (t.key, c.row_key, c.column_key)
            kind = t.kinds[c.key]
            sp.add(c.row, c.col, "total" if kind == "total" else "input", key=key,
                   kind=None if kind == "total" else kind, name=figure_name(key),
                   last_row=c.row if c.span > 1 else None, last_col=c.col + c.span - 1 if c.span > 1 else None)
        sp.repeat_rows = (0, min(c.row for c in lay.cells) - 1)
        table_sheets[t.key] = sp
        plans.append(sp)

    # ------------------------------------------------------------ previous-year values
    prev_sheet = None
    prev_addr: dict[tuple, str] = {}
    if with_previous:
        prev_sheet = SheetPlan(sh["previous"], "previous", widths=[30, 46, 14])
        prev_sheet.add(0, 0, "label", text=sh["previous"], last_row=0, last_col=2, style="title")
        prev_sheet.add(1, 0, "text", text=messages.PREVIOUS_NOTE, last_row=1, last_col=2, style="hint")
        r = 3
        needed = []
        for _, ru in active_rules:
            for ref in ru.refs:
                k = (ref.table, ref.row, ref.column)
                if ref.previous and k not in needed:
                    needed.append(k)
        for k in needed:
            t = spec.table(k[0])
            prev_sheet.add(r, 0, "label", text=t.heading, style="field_label")
            prev_sheet.add(r, 1, "label", text=t.cell_label(k[1], k[2]), style="field_label")
            prev_sheet.add(r, 2, "previous", key=k, name="previous." + figure_name(k))
            prev_addr[k] = f"{quote_sheet(prev_sheet.name)}!{a1(r, 2, absolute=True)}"
            r += 1

    # ------------------------------------------------------------ formulas of totals
    def addr_in(sheet_name):
        def address_of(ref: expr.Ref) -> str:
            k = (ref.table, ref.row, ref.column)
            if ref.previous:
                return prev_addr[k]
            cell = table_sheets[ref.table]
            lay = cell.layout
            dc = lay.by_key[(ref.row, ref.column)]
            local = a1(dc.row, dc.col)
            return local if cell.name == sheet_name else f"{quote_sheet(cell.name)}!{local}"

        return address_of

    figure = {c.key: c for s in table_sheets.values() for c in s.cells if c.role in ("input", "total")}
    for tot in compiled.totals:
        c = figure[tot.cell]
        c.formula = expr.to_excel(tot.node, addr_in(c.sheet))

    # ------------------------------------------------------------ live checks
    checks = SheetPlan(sh["checks"], "checks", widths=[6, 40, 16, 10, 8, 70])
    checks.add(0, 0, "label", text=sh["checks"], last_row=0, last_col=5, style="title")
    for ci, head in enumerate(messages.CHECK_HEADERS if generation >= 2 else messages.CHECK_HEADERS_V1):
        checks.add(2, ci, "label", text=head, style="column_header")
    check_row = 3
    result_cells = []
    for t in spec.tables:
        sp = table_sheets[t.key]
        mine = [(i, ru) for i, ru in active_rules if ru.table == t.key]
        labelled_rows = set()
        for place in place_checks(sp.layout, mine):
            ru = rule_list[place.rule_index]
            cond = expr.to_excel(ru.node, addr_in(checks.name))
            # the full check (source of truth) on the checks sheet
            checks.add(check_row, 0, "text", text=str(check_row - 2), style="cell_center")
            checks.add(check_row, 1, "label", text=_instance_title(ru), style="cell_left")
            checks.add(check_row, 2, "label", text=t.sheet, style="cell_center")
            checks.add(check_row, 3, "label", text=a1(place.row, place.col), style="cell_center")
            checks.add(check_row, 4, "label", text=messages.SEVERITY[ru.severity], style="cell_center")
            full = checks.add(check_row, 5, "check", formula=_check_formula(ru, cond, addr_in(checks.name)),
                              rule=ru, style="check_full")
            result_cells.append((full, ru))
            # the short status next to the figures, with the offending cells turning red
            if place.label_cell and place.label_cell not in labelled_rows:
                lr, lc, lr2, lc2 = place.label_cell
                sp.add(lr, lc, "label", text=messages.CHECK_ROW_LABEL.format(title=ru.title),
                       last_row=lr2, last_col=lc2, style="check_label")
                labelled_rows.add(place.label_cell)
            sp.add(place.row, place.col, "check",
                   formula=f'IF({quote_sheet(checks.name)}!{full.address}="{messages.PASS}",'
                           f'"{messages.PASS}","{messages.FAIL_SHORT}")',
                   rule=ru, style="check_short")
            check_row += 1
    # landscape and at most one A4 page wide at 100%: a long paragraph prints at the font's size (10 pt)
    narrative = (SheetPlan(sh["narrative"], "narrative", widths=[16, 100, 24], landscape=True) if generation >= 2
                 else SheetPlan(sh["narrative"], "narrative", widths=[30, 90, 36]))
    narrative.add(0, 0, "label", text=spec.narrative_title, last_row=0, last_col=2, style="title")
    for ci, head in enumerate(messages.NARRATIVE_HEADERS):
        narrative.add(1, ci, "label", text=head, style="column_header")
    r = 2
    for f in spec.narrative_fields:
        narrative.add(r, 0, "label", text=f.label, style="field_label")
        narrative.add(r, 1, "field", key=("narrative", f.key), kind=f.kind, name=f"narrative.{f.key}", field=f,
                      style="long_text" if f.kind == "text" else None)
        narrative.add(r, 2, "label", text=f.hint or "", style="hint")
        r += 1
    plans.append(narrative)
    plans.append(checks)
    if prev_sheet is not None:
        plans.append(prev_sheet)

    # ------------------------------------------------------------ overall status on the cover
    rng_res = f"{quote_sheet(checks.name)}!$F$4:$F${max(check_row, 4)}"
    rng_sev = f"{quote_sheet(checks.name)}!$E$4:$E${max(check_row, 4)}"
    err, warn = messages.SEVERITY["error"], messages.SEVERITY["warning"]
    suffix = messages.STATUS_ERRORS_SUFFIX.format(checks=checks.name)
    warned = messages.STATUS_WARNINGS.format(checks=checks.name)
    status_cell.formula = (
        f'IF(COUNTIFS({rng_sev},"{err}",{rng_res},"<>{messages.PASS}")>0,'
        f'"{messages.STATUS_ERRORS_PREFIX}"&COUNTIFS({rng_sev},"{err}",{rng_res},"<>{messages.PASS}")&"{suffix}",'
        f'IF(COUNTIFS({rng_sev},"{warn}",{rng_res},"<>{messages.PASS}")>0,"{warned}","{messages.STATUS_OK}"))'
    )

    meta = SheetPlan(META_SHEET, "meta", widths=[20, 60])
    plans.append(meta)
    if generation >= 2:  # nothing typed yet (prefilled figures as distributed): 待填写, not an accusation
        status_cell.formula = f'IF({_untouched_condition(plans)},"{messages.STATUS_PENDING}",{status_cell.formula})'
    return WorkbookPlan(spec, plans, with_previous, result_cells)


def _ranges(cells) -> list[str]:
    """Runs of cells down a column as A1 ranges (absolute), in sheet order."""
    out = []
    for col in sorted({c.col for c in cells}):
        rows = sorted(c.row for c in cells if c.col == col)
        start = prev = rows[0]
        for r in rows[1:] + [None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            out.append(a1(start, col, True) if start == prev else f"{a1(start, col, True)}:{a1(prev, col, True)}")
            if r is not None:
                start = prev = r
    return out


def numeric_bounds(plans) -> list[tuple[str, int, int, int, int]]:
    """(sheet, first row, first col, last row, last col) around the typed figures of each sheet."""
    out = []
    for sp in plans:
        cells = [c for c in sp.cells if c.role in ("input", "total")
                 or (c.role == "field" and c.kind in ("count", "amount", "signed_count"))]
        if cells:
            out.append((sp.name, min(c.row for c in cells), min(c.col for c in cells),
                        max(c.last_row if c.last_row is not None else c.row for c in cells),
                        max(c.last_col if c.last_col is not None else c.col for c in cells)))
    return out


def _untouched_condition(plans) -> str:
    """Excel: no text field typed, and the figures' absolute sum as distributed (recorded in the metadata)."""
    texts = [c for sp in plans for c in sp.cells if c.role == "field" and c.kind not in ("count", "amount",
                                                                                          "signed_count")]
    by_sheet: dict[str, list] = {}
    for c in texts:
        by_sheet.setdefault(c.sheet, []).append(c)
    counta = ",".join(f"{quote_sheet(sh)}!{rng}" for sh, cs in by_sheet.items() for rng in _ranges(cs))
    sums = []
    for sh, r0, c0, r1, c1 in numeric_bounds(plans):
        rng = f"{quote_sheet(sh)}!{a1(r0, c0, True)}:{a1(r1, c1, True)}"
        sums.append(f'SUMIF({rng},">0")-SUMIF({rng},"<0")')
    total = "+".join(sums) or "0"
    meta = f"{quote_sheet(META_SHEET)}!{a1(INPUTS_SUM_ROW, 1, True)}"
    cond = f"ROUND({total},4)=ROUND(N({meta}),4)"
    return f"AND(COUNTA({counta})=0,{cond})" if counta else cond


def _instance_title(ru) -> str:
    label = ru.column_label or ru.row_label
    return f"{ru.title}（{label}）" if label else ru.title


def _excel_string(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _check_formula(ru, cond: str, address_of) -> str:
    """IF(condition, "通过", message with the evaluated sides spliced in)."""
    left = expr.to_excel(ru.node.left, address_of)
    right = expr.to_excel(ru.node.right, address_of)
    parts = []
    text = ru.static_message()
    while text:
        i_l, i_r = text.find("{left}"), text.find("{right}")
        cands = [(i, f) for i, f in ((i_l, "left"), (i_r, "right")) if i >= 0]
        if not cands:
            parts.append(_excel_string(text))
            break
        i, which = min(cands)
        if i:
            parts.append(_excel_string(text[:i]))
        parts.append(f"ROUND({left if which == 'left' else right},{expr.PRECISION})")
        text = text[i + len(which) + 2 :]
    return f'IF({cond},"{messages.PASS}",{"&".join(parts) or _excel_string("")})'


def inputs_digest(values: dict) -> str:
    """A short digest of the figures a workbook was distributed with (every non-zero input; blank = 0).

    Recorded in the metadata (``inputs``) so that the importer can tell a
    template sent back untouched — prefilled values included — from a filled one.
    """
    import hashlib

    items = []
    for key, v in values.items():
        if len(key) != 3 or v in (None, "") or not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        f = float(v)
        if f != 0:
            items.append(f"{key[0]}.{key[1]}.{key[2]}={f!r}")
    return hashlib.sha256("\n".join(sorted(items)).encode("utf-8")).hexdigest()[:32]


def metadata_rows(plan: WorkbookPlan, *, agency_name: str, agency_code: str, year: int, version: str,
                  inputs: str = "", role: str = "", inputs_sum: float = 0) -> list:
    """Key/value rows of the very hidden metadata sheet.

    ``inputs`` is :func:`inputs_digest` of the distributed figures and ``inputs_sum``
    their absolute sum (totals included: what the cover's status compares, row
    :data:`INPUTS_SUM_ROW`); ``role`` marks a workbook that is not an agency's
    template (``consolidated``: the sum a collection writes).
    """
    spec = plan.spec
    extra = [("inputs_sum", round(float(inputs_sum), 4))]
    if inputs:
        extra.append(("inputs", inputs))
    if role:
        extra.append(("role", role))
    return [
        ("generator", GENERATOR),
        ("generator_version", version),
        ("format_id", spec.id),
        ("format_version", spec.version),
        ("agency_name", agency_name),
        ("agency_code", agency_code),
        ("year", str(year)),
        ("with_previous", "1" if plan.with_previous else "0"),
        ("fingerprint", plan.fingerprint),
    ] + extra
