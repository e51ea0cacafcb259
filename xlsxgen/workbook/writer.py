"""Draw a workbook plan with xlsxwriter: the locked template an agency fills in.

``build_workbook(spec, year=..., agency_name=...)`` returns the .xlsx bytes.
Everything about the format comes from the plan (:mod:`xlsxgen.workbook.plan`); this
module adds styles, values, cached results, validation, protection and print
settings. The output is deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import io

from xlsxwriter.workbook import Workbook

from xlsxgen import __version__, messages
from xlsxgen.data import Submission, get_bound
from xlsxgen.spec.rules import compile_spec, recompute_totals
from xlsxgen.textwidth import text_width
from xlsxgen.workbook.layout import a1
from xlsxgen.workbook.plan import build_plan, inputs_digest, metadata_rows, quote_sheet

FIXED_TIME = _dt.datetime(2000, 1, 1, 0, 0, 0)  # document properties: fixed for byte-identical output
FONT = "宋体"
TITLE_FONT = "黑体"
INPUT_FILL = "#FFF2CC"
PREFILL_FILL = "#DDEBF7"
TOTAL_FILL = "#EDEDED"
HEADER_FILL = "#F2F2F2"


class _LockedWorkbook(Workbook):
    """xlsxwriter Workbook that also locks the workbook structure.

    xlsxwriter has no API for ``<workbookProtection lockStructure="1"/>``; the
    element must come right before ``<bookViews>`` (CT_Workbook order), so it is
    written from the hook that writes the book views.
    """

    def _write_book_views(self) -> None:  # noqa: D401 - xlsxwriter hook
        self._xml_empty_tag("workbookProtection", [("lockStructure", 1)])
        super()._write_book_views()


class _Styles:
    def __init__(self, wb: Workbook):
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True}
        boxed = dict(base, border=1)
        self.wb = wb
        self.f = {
            "title": wb.add_format(dict(base, font_name=TITLE_FONT, font_size=16, align="center")),
            "subtitle": wb.add_format(dict(base, font_size=10, align="center", font_color="#595959")),
            "agency_line": wb.add_format(dict(base, font_size=11, align="left")),
            "corner": wb.add_format(dict(boxed, align="center", bg_color=HEADER_FILL)),
            "column_header": wb.add_format(dict(boxed, align="center", bold=True, bg_color=HEADER_FILL)),
            "title_row": wb.add_format(dict(boxed, align="left", bold=True, bg_color=HEADER_FILL)),
            "row_header": wb.add_format(dict(boxed, align="left")),
            "row_header_center": wb.add_format(dict(boxed, align="center")),
            "input_count": wb.add_format(dict(boxed, align="center", bg_color=INPUT_FILL, locked=False, num_format="0")),
            "input_amount": wb.add_format(dict(boxed, align="center", bg_color=INPUT_FILL, locked=False,
                                               num_format="General")),
            "prefill_count": wb.add_format(dict(boxed, align="center", bg_color=PREFILL_FILL, locked=False,
                                                num_format="0", italic=True)),
            "total": wb.add_format(dict(boxed, align="center", bold=True, bg_color=TOTAL_FILL)),
            "check_label": wb.add_format(dict(boxed, align="right", italic=True, font_color="#595959")),
            "check_short": wb.add_format(dict(boxed, align="center", font_color="#375623")),
            "check_full": wb.add_format(dict(boxed, align="left")),
            "field_label": wb.add_format(dict(boxed, align="left", bold=True, bg_color=HEADER_FILL)),
            "field": wb.add_format(dict(boxed, align="left", bg_color=INPUT_FILL, locked=False)),
            # text fields are formatted as text: a phone number typed as 03197821234 keeps its leading zero
            "field_text": wb.add_format(dict(boxed, align="left", bg_color=INPUT_FILL, locked=False, num_format="@")),
            "long_text": wb.add_format(dict(boxed, align="left", valign="top", bg_color=INPUT_FILL, locked=False,
                                            num_format="@")),
            "bound": wb.add_format(dict(boxed, align="left", bold=True)),
            "status": wb.add_format(dict(boxed, align="left", bold=True, font_color="#375623")),
            "hint": wb.add_format(dict(base, align="left", font_color="#595959")),
            "paragraph": wb.add_format(dict(base, align="left", font_size=11)),
            "cell_left": wb.add_format(dict(boxed, align="left")),
            "cell_center": wb.add_format(dict(boxed, align="center")),
            "previous": wb.add_format(dict(boxed, align="center", bg_color=TOTAL_FILL)),
            "meta": wb.add_format({}),
        }
        self.bad = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})

    def __getitem__(self, name):
        return self.f[name]


def _label_style(cell) -> str:
    if cell.style == "block_title":
        return "title_row"
    if cell.style == "row_header" and cell.merged and cell.last_row > cell.row:
        return "row_header_center"
    return cell.style if cell.style in _STYLE_NAMES else "cell_left"


_STYLE_NAMES = {
    "title", "subtitle", "corner", "column_header", "row_header", "check_label", "field_label",
    "hint", "paragraph", "cell_left", "cell_center",
}


def _compact(cells) -> str:
    """Space-separated A1 ranges covering ``cells`` (row-wise runs)."""
    by_row: dict[int, list[int]] = {}
    for r, c in cells:
        by_row.setdefault(r, []).append(c)
    out = []
    for r in sorted(by_row):
        cols = sorted(by_row[r])
        start = prev = cols[0]
        for c in cols[1:] + [None]:
            if c is not None and c == prev + 1:
                prev = c
                continue
            out.append(a1(r, start) if start == prev else f"{a1(r, start)}:{a1(r, prev)}")
            if c is not None:
                start = prev = c
    return " ".join(out)


def build_workbook(
    spec,
    *,
    year: int,
    agency_name: str,
    agency_code: str = "",
    data: Submission | None = None,
    previous: Submission | None = None,
    prefilled: frozenset = frozenset(),
    role: str = "",
) -> bytes:
    """The .xlsx bytes of ``spec``'s workbook for one agency.

    ``data`` prefills inputs (as if typed); ``previous`` (last year's accepted
    data) adds the last-year sheet and the live cross-year checks;
    ``prefilled`` marks input keys that were carried over from last year.
    ``role`` is recorded in the metadata (``consolidated`` for a collection's sum).
    """
    meta_role = role  # (the loop below reuses the name ``role`` for cell roles)
    plan = build_plan(spec, previous is not None)
    compiled = compile_spec(spec)
    values: dict = {}
    for key, cell in plan.figure_cells.items():
        if cell.role == "input":
            values[key] = (data.values.get(key, 0) if data else 0) or 0
    recompute_totals(spec, values)
    prev_values = dict(previous.values) if previous else {}
    if previous:
        recompute_totals(spec, prev_values)

    def value_of(ref):
        src = prev_values if ref.previous else values
        return src.get((ref.table, ref.row, ref.column), 0)

    # what the cover's live status compares to decide 待填写: the absolute sum of the figures as distributed
    distributed = {k: values[k] for k in prefilled if k in values}
    recompute_totals(spec, distributed)
    distributed_sum = _abs_sum(plan, distributed, None)
    pending = (_abs_sum(plan, values, data) == distributed_sum and not _typed_text(plan, data))

    out = io.BytesIO()
    wb = _LockedWorkbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                               "strings_to_urls": False})
    wb.set_properties({"title": spec.report_title_for(agency_name, year), "author": "xlsxgen",
                       "created": FIXED_TIME, "comments": f"{spec.id} {spec.version}"})
    wb.set_calc_mode("auto")
    st = _Styles(wb)
    personal = {"agency": agency_name, "year": year, "pending_note": messages.PENDING_NOTE.format(
        pending=messages.STATUS_PENDING), "prefill_note": _prefill_note(plan, prefilled)}
    sub_for_bind = Submission(spec.id, year=year, agency_name=agency_name, agency_code=agency_code,
                              contact=dict(data.contact) if data else {})

    for sp in plan.sheets:
        ws = wb.add_worksheet(sp.name)
        ws.hide_gridlines(2)
        for i, w in enumerate(sp.widths):
            ws.set_column(i, i, w)
        ws.set_paper(9)  # A4
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.center_horizontally()
        ws.fit_to_pages(1, 0)
        if sp.landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        if sp.repeat_rows:
            ws.repeat_rows(*sp.repeat_rows)
        if sp.kind == "meta":
            for r, (k, v) in enumerate(metadata_rows(plan, agency_name=agency_name, agency_code=agency_code,
                                                      year=year, version=__version__, inputs=inputs_digest(
                                                          {k: values[k] for k in prefilled if k in values}),
                                                      role=meta_role, inputs_sum=distributed_sum)):
                ws.write_string(r, 0, k)
                if isinstance(v, (int, float)):
                    ws.write_number(r, 1, v)
                else:
                    ws.write_string(r, 1, v)
            ws.very_hidden()
            ws.protect("", {"select_locked_cells": False, "select_unlocked_cells": False})
            continue

        _set_row_heights(ws, sp)
        dv_cells: dict[str, list] = {}
        bad_ranges: dict[str, list] = {}  # check cell -> referenced cells on this sheet
        for cell in sp.cells:
            role = cell.role
            if role == "label":
                fmt = st[_label_style(cell)]
                if cell.merged:
                    ws.merge_range(cell.row, cell.col, cell.last_row, cell.last_col, cell.text, fmt)
                else:
                    ws.write_string(cell.row, cell.col, cell.text, fmt)
            elif role == "text":
                text = cell.text.format(**personal)
                fmt = st[cell.style if cell.style in st.f else "hint"]
                if cell.merged:
                    ws.merge_range(cell.row, cell.col, cell.last_row, cell.last_col, text, fmt)
                else:
                    ws.write_string(cell.row, cell.col, text, fmt)
            elif role == "input":
                kind = cell.kind
                v = values.get(cell.key, 0)
                style = "prefill_count" if cell.key in prefilled else ("input_amount" if kind == "amount" else "input_count")
                _write_value(ws, cell, v, st[style])
                if cell.key in prefilled:
                    ws.write_comment(cell.row, cell.col, messages.PREFILLED_NOTE, {"author": "xlsxgen"})
                dv_cells.setdefault(kind, []).append((cell.row, cell.col))
                wb.define_name(cell.name, f"={quote_sheet(sp.name)}!{a1(cell.row, cell.col, True)}")
            elif role == "total":
                v = values.get(cell.key, 0)
                if cell.merged:
                    ws.merge_range(cell.row, cell.col, cell.last_row, cell.last_col, "", st["total"])
                ws.write_formula(cell.row, cell.col, "=" + cell.formula, st["total"], _cached(v))
                wb.define_name(cell.name, f"={quote_sheet(sp.name)}!{a1(cell.row, cell.col, True)}")
            elif role == "check":
                ru = cell.rule
                ok, left, right = ru.evaluate(value_of)
                if cell.style == "check_full":
                    cached = messages.PASS if ok else ru.message(left, right)
                    ws.write_formula(cell.row, cell.col, "=" + cell.formula, st["check_full"], cached)
                else:
                    cached = messages.PASS if ok else messages.FAIL_SHORT
                    ws.write_formula(cell.row, cell.col, "=" + cell.formula, st["check_short"], cached)
                    mine = [
                        plan.figure_cells[(r.table, r.row, r.column)]
                        for r in ru.refs
                        if not r.previous and plan.figure_cells[(r.table, r.row, r.column)].sheet == sp.name
                    ]
                    bad_ranges[a1(cell.row, cell.col, True)] = [(c.row, c.col) for c in mine] + [(cell.row, cell.col)]
            elif role in ("field", "bound"):
                _write_field(wb, ws, st, cell, sub_for_bind, data, dv_cells)
            elif role == "previous":
                v = prev_values.get(cell.key, 0)
                ws.write_number(cell.row, cell.col, v, st["previous"])
                wb.define_name(cell.name, f"={quote_sheet(sp.name)}!{a1(cell.row, cell.col, True)}")
            elif role == "status":
                ws.write_formula(cell.row, cell.col, "=" + cell.formula, st["status"],
                                 messages.STATUS_PENDING if pending else _status_value(plan, compiled, value_of))
                here = a1(cell.row, cell.col, True)
                ws.conditional_format(cell.row, cell.col, cell.row, cell.col, {
                    "type": "formula",
                    "criteria": f'=AND({here}<>"{messages.STATUS_OK}",{here}<>"{messages.STATUS_PENDING}")',
                    "format": st.bad})
        for kind, cells in dv_cells.items():
            _validate(ws, kind, cells)
        for check_addr, cells in bad_ranges.items():
            r0, c0 = cells[0]
            ws.conditional_format(r0, c0, r0, c0, {
                "type": "formula", "criteria": f'={check_addr}<>"{messages.PASS}"', "format": st.bad,
                "multi_range": _compact(cells)})
        if sp.kind == "checks":
            res = [c for c in sp.cells if c.role == "check"]
            if res:
                ws.conditional_format(res[0].row, res[0].col, res[-1].row, res[-1].col, {
                    "type": "formula", "criteria": f'={a1(res[0].row, res[0].col, False)}<>"{messages.PASS}"',
                    "format": st.bad})
        # narrative rows keep Excel's automatic height: a paragraph grows its row while it is typed
        # (an explicit height would cut it); the sheet prints landscape at 100% (see the plan's widths)
        ws.protect("", {"format_columns": True, "format_rows": True, "select_locked_cells": True,
                        "select_unlocked_cells": True})
    wb.worksheets()[0].activate()
    wb.close()
    return out.getvalue()


def _set_row_heights(ws, sp) -> None:
    """Give wrapped single-row labels enough height: LibreOffice does not auto-fit on open."""
    widths = sp.widths
    need: dict[int, float] = {}
    for cell in sp.cells:
        if cell.role not in ("label", "text") or not cell.text:
            continue
        last_row = cell.last_row if cell.last_row is not None else cell.row
        last_col = cell.last_col if cell.last_col is not None else cell.col
        width = sum(widths[c] if c < len(widths) else 8.43 for c in range(cell.col, last_col + 1))
        lines = max(1, -(-int(text_width(cell.text) + 0.5) // max(int(width - 0.5), 1)))
        per_row = lines * 14.0 / (last_row - cell.row + 1)
        if cell.style == "title":
            per_row = max(per_row, 26)
        need[cell.row] = max(need.get(cell.row, 15), per_row + 2)
    # a row holding a typed paragraph keeps the automatic height, so that it grows while the text is typed
    growing = {c.row for c in sp.cells if c.role == "field" and c.kind == "text" and sp.kind == "narrative"}
    for r in growing:
        need.pop(r, None)
    for r, h in sorted(need.items()):
        if h > 16:
            ws.set_row(r, h)


def _cached(v):
    v = float(v)
    return int(v) if v.is_integer() else v


def _write_value(ws, cell, v, fmt):
    if cell.merged:
        ws.merge_range(cell.row, cell.col, cell.last_row, cell.last_col, "", fmt)
    ws.write_number(cell.row, cell.col, v, fmt)


def _write_field(wb, ws, st, cell, sub_for_bind, data, dv_cells):
    group, key = cell.key
    f = cell.field
    if group == "cover":
        v = get_bound(sub_for_bind, f.bind) if f.bind else ""
    else:
        v = (data.narrative.get(key) if data else None)
    style = "bound" if cell.role == "bound" else ("long_text" if cell.style == "long_text" else (
        "field_text" if f.kind == "text" else "field"))
    fmt = st[style]
    if v is None or v == "":
        ws.write_blank(cell.row, cell.col, None, fmt)
    elif f.kind in ("count", "amount", "year") and isinstance(v, (int, float)):
        ws.write_number(cell.row, cell.col, v, fmt)
    else:
        ws.write_string(cell.row, cell.col, str(v), fmt)
    if cell.role == "field" and f.kind in ("count", "amount"):
        dv_cells.setdefault(f.kind, []).append((cell.row, cell.col))
    wb.define_name(cell.name, f"={quote_sheet(cell.sheet)}!{a1(cell.row, cell.col, True)}")


def _validate(ws, kind, cells):
    prompt = messages.PROMPTS[kind]
    opts = {"validate": "decimal" if kind == "amount" else "integer"}
    if kind == "signed_count":
        opts.update(criteria="between", minimum=-(10**9), maximum=10**9)
    else:
        opts.update(criteria=">=", value=0)
    opts.update({
        "ignore_blank": True,
        "input_title": prompt["input_title"],
        "input_message": prompt["input_message"],
        "error_title": prompt["error_title"],
        "error_message": prompt["error_message"],
        "error_type": "stop",
    })
    r0, c0 = cells[0]
    opts["multi_range"] = _compact(cells)
    ws.data_validation(r0, c0, r0, c0, opts)


def _prefill_note(plan, prefilled) -> str:
    """The instructions' sentence naming the cells prefilled from last year ("" without any)."""
    cells = [plan.figure_cells[k] for k in prefilled if k in plan.figure_cells]
    if not cells:
        return ""
    by_sheet: dict[str, list[str]] = {}
    for c in sorted(cells, key=lambda c: (c.sheet, c.row, c.col)):
        by_sheet.setdefault(c.sheet, []).append(c.address)
    where = "；".join(f"“{sh}”工作表 {'、'.join(addrs)}" for sh, addrs in by_sheet.items())
    return messages.PREFILL_INSTRUCTION.format(count=len(cells), cells=where)


def _abs_sum(plan, values: dict, data) -> float:
    """The absolute sum of the figures (inputs and totals) and typed numeric narrative fields, rounded as Excel's."""
    total = sum(abs(float(values.get(k, 0) or 0)) for k in plan.figure_cells)
    if data is not None:
        for key, c in plan.field_cells.items():
            if c.role == "field" and c.kind in ("count", "amount", "signed_count"):
                v = data.narrative.get(key[1]) if key[0] == "narrative" else None
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    total += abs(float(v))
    return round(total, 4)


def _typed_text(plan, data) -> bool:
    """True when ``data`` fills any text field of the workbook (narrative or cover contact)."""
    if data is None:
        return False
    for key, c in plan.field_cells.items():
        if c.role != "field" or c.kind in ("count", "amount", "signed_count"):
            continue
        v = data.narrative.get(key[1]) if key[0] == "narrative" else (
            get_bound(data, c.field.bind) if c.field.bind else "")
        if v not in (None, ""):
            return True
    return False


def _status_value(plan, compiled, value_of) -> str:
    errors = warnings = 0
    for _cell, ru in plan.result_cells:
        ok, _, _ = ru.evaluate(value_of)
        if not ok:
            if ru.severity == "error":
                errors += 1
            else:
                warnings += 1
    checks = plan.spec.sheets["checks"]
    if errors:
        return f"{messages.STATUS_ERRORS_PREFIX}{errors}{messages.STATUS_ERRORS_SUFFIX.format(checks=checks)}"
    return messages.STATUS_WARNINGS.format(checks=checks) if warnings else messages.STATUS_OK

