"""Consolidation: the sum over the accepted submissions, and the workbooks that show it.

* :func:`sum_submissions` adds every figure input (and numeric narrative
  input) of the accepted submissions; totals are recomputed from the summed
  inputs, so the sum satisfies the same totals as each submission.
* :func:`write_consolidated_workbook` streams one row per agency with every
  figure of the format (header: table / row / column labels from the spec)
  and a sum row; the agencies' rows are streamed as worksheet XML and the rest
  is written by xlsxwriter, so 10,000 agencies need no more memory than ten
  (and take about a second).
* The sum in the official layout is the format's own workbook, generated with
  the summed data (:func:`xlsxgen.workbook.writer.build_workbook`): it can be checked,
  rendered and even sent on to the next level as a submission.
* :func:`build_overview_workbook` is the status overview as .xlsx.

Everything is generic over the spec.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
from pathlib import Path

from xlsxwriter.workbook import Workbook

from xlsxgen.collection.statuses import STATE_LABELS
from xlsxgen.data import Submission, number
from xlsxgen.files import OUTPUT_MARKER, new_temp
from xlsxgen.render.compilation import add_texts_sheet
from xlsxgen.spec.domain import AMOUNT_PLACES, doc_in_domain
from xlsxgen.spec.rules import recompute_totals
from xlsxgen.textwidth import text_width

FONT = "宋体"
FIXED_COLUMNS = ("序号", "单位代码", "单位名称", "状态", "计入合计")


def figure_columns(spec) -> list[tuple]:
    """Every figure of the format in reading order: (kind, key, table heading, row label, column label).

    kind is "input", "total" or "field" (a numeric narrative input).
    """
    cols = []
    for t in spec.tables:
        for rk, ck in t.cells:
            kind = "total" if t.kinds[(rk, ck)] == "total" else "input"
            cols.append((kind, (t.key, rk, ck), t.heading, t.row(rk).label, t.column(ck).label))
    for f in spec.narrative_fields:
        if f.kind in ("count", "amount"):
            cols.append(("field", ("narrative", f.key), spec.narrative_title, f.label, ""))
    return cols


def _round(v):
    """A sum as kept: integers exact, amounts to the 6 decimal places of the numeric domain (float noise of the
    additions dropped, no typed decimal lost)."""
    if isinstance(v, int):
        return v
    return number(round(float(v), AMOUNT_PLACES))


class Summer:
    """Adds submissions one at a time (constant memory)."""

    def __init__(self, spec, year: int, agency_name: str = "", agency_code: str = ""):
        self.spec = spec
        self.inputs = [c[1] for c in figure_columns(spec) if c[0] == "input"]
        self.fields = [c[1][1] for c in figure_columns(spec) if c[0] == "field"]
        self.values = dict.fromkeys(self.inputs, 0)
        self.narrative = dict.fromkeys(self.fields, 0)
        self.count = 0
        self.codes: list[str] = []
        self.year = year
        self.agency_name = agency_name
        self.agency_code = agency_code

    def add_doc(self, doc: dict) -> None:
        """Add a canonical JSON object (as stored) without building a Submission."""
        tables = doc.get("tables") or {}
        narrative = doc.get("narrative") or {}
        values = self.values
        groups = self.__dict__.get("_groups")
        if groups is None:  # the inputs by table row, as the JSON nests them
            groups = self._groups = []
            for k in self.inputs:
                if not groups or groups[-1][:2] != k[:2]:
                    groups.append((k[0], k[1], []))
                groups[-1][2].append((k[2], k))
        for table, row, cells in groups:
            found = (tables.get(table) or {}).get(row) or {}
            for column, k in cells:
                v = found.get(column)
                if type(v) is int or type(v) is float:  # JSON numbers (not bool)
                    values[k] += v
        for k in self.fields:
            v = narrative.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self.narrative[k] += v
        self.count += 1
        self.codes.append((doc.get("agency") or {}).get("code", ""))

    def result(self) -> Submission:
        values = {k: _round(v) for k, v in self.values.items()}
        recompute_totals(self.spec, values)
        values = {k: _round(v) for k, v in values.items()}
        narrative = {k: _round(v) for k, v in self.narrative.items()}
        return Submission(self.spec.id, year=self.year, agency_name=self.agency_name, agency_code=self.agency_code,
                          values=values, narrative=narrative, contact={})


def sum_store(spec, store, year: int, *, agency_name: str = "", agency_code: str = "", reviewed: bool = False):
    """The sum over the current usable submissions of ``year`` in ``store`` (None if there are none).

    ``reviewed``: over the submissions accepted in review instead. A stored submission with a figure
    outside the numeric domain (accepted by an older release) is not summed
    (:func:`xlsxgen.spec.domain.doc_in_domain`).
    """
    s = Summer(spec, year, agency_name, agency_code)
    for rec in store.current(year, with_data=True, reviewed=reviewed):
        if rec.usable and rec.data_json:
            doc = json.loads(rec.data_json)
            if doc.get("format") == spec.id and doc_in_domain(spec, doc):
                s.add_doc(doc)
    return (s.result(), s.count) if s.count else (None, 0)


# ---------------------------------------------------------------------------- consolidated workbook
#
# One row per agency and a column per figure: 10,000 agencies make two million
# cells, too many to go through xlsxwriter's per-cell API (~2.5 ms an agency).
# The workbook is therefore made in three steps:
#
# 1. the agencies' rows are streamed as worksheet XML to a temporary file, cell
#    for cell what xlsxwriter writes in constant-memory mode (``<c r= s=>`` with
#    ``<v>`` for numbers, inline strings with xlsxwriter's escapes, ``<c/>`` for
#    a styled blank), summing as it goes;
# 2. xlsxwriter writes everything else (header, sum row, note, styles, merges,
#    panes, print settings), with one sample row where the agencies go that uses
#    each style of the agency rows, so that those styles are in styles.xml;
# 3. the sample row of xlsxwriter's worksheet part is replaced by the streamed
#    rows while the package is copied to its final name.
#
# The style numbers of step 1 come from a dry run of step 2's header and sample
# row (xlsxwriter numbers styles in the order of first use) and are checked
# against step 2's own numbering. Memory stays flat: neither the rows nor the
# records are held.

_DATA_STYLES = ("center", "text", "excluded", "excluded_center", "num", "num_total")
_RE_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_RE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_RE_EDGE_SPACE = re.compile(r"^\s|\s$")
_STRMAX = 32767  # Excel's limit; xlsxwriter truncates longer strings


def _inline_string(ref: str, style: int, text: str) -> str:
    """A string cell as xlsxwriter writes it in constant-memory mode."""
    text = _RE_ESCAPED.sub(r"_x005F\1", text[:_STRMAX])
    text = _RE_CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if _RE_EDGE_SPACE.search(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


class _Frame:
    """Everything of the consolidated workbook but the agencies' rows, written with xlsxwriter."""

    def __init__(self, target, *, spec, year: int, cols, options: dict):
        self.wb = wb = Workbook(target, dict({"strings_to_numbers": False, "strings_to_formulas": False,
                                              "strings_to_urls": False}, **options))
        wb.set_properties({"title": f"{year}年度各单位数据汇总表", "author": "xlsxgen", "keywords": OUTPUT_MARKER})
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "border": 1}
        self.f_head = wb.add_format(dict(base, bold=True, bg_color="#D9E1F2", align="center", text_wrap=True))
        self.f_group = wb.add_format(dict(base, bold=True, bg_color="#B4C6E7", align="left"))
        self.f_head_total = wb.add_format(dict(base, bold=True, bg_color="#D0CECE", align="center", text_wrap=True))
        self.data = {
            "text": wb.add_format(dict(base, align="left")),
            "center": wb.add_format(dict(base, align="center")),
            "num": wb.add_format(dict(base, align="right", num_format="General")),
            "num_total": wb.add_format(dict(base, align="right", num_format="General", bg_color="#EDEDED")),
            "excluded": wb.add_format(dict(base, align="left", font_color="#9C0006")),
            "excluded_center": wb.add_format(dict(base, align="center", font_color="#9C0006")),
        }
        self.f_sum_label = wb.add_format(dict(base, bold=True, bg_color="#FFF2CC", align="left"))
        self.f_sum = wb.add_format(dict(base, bold=True, bg_color="#FFF2CC", align="right", num_format="General"))
        self.f_title = wb.add_format({"font_name": "黑体", "font_size": 14, "bold": False, "valign": "vcenter"})
        self.f_note = wb.add_format({"font_name": FONT, "font_size": 10, "font_color": "#404040"})
        self.cols = cols
        self.year = year
        self.ws = wb.add_worksheet("各单位数据")

    def head(self) -> None:
        ws, cols, nfix = self.ws, self.cols, len(FIXED_COLUMNS)
        for i, w in enumerate((6, 14, 30, 12, 8)):
            ws.set_column(i, i, w)
        ws.set_column(nfix, nfix + len(cols) - 1, 11)
        ws.set_row(0, 24)
        ws.write_string(0, 0, f"{self.year}年度各单位报送数据（每行一个单位；最后一行为全部通过单位的合计）", self.f_title)
        # header rows 1..3: table heading / row label / column label
        ws.set_row(2, 60)
        ws.set_row(3, 30)
        groups: list[tuple[int, int, str]] = []
        for i, col in enumerate(cols):
            if groups and groups[-1][2] == col[2]:
                groups[-1] = (groups[-1][0], nfix + i, col[2])
            else:
                groups.append((nfix + i, nfix + i, col[2]))
        for c0, c1, text in groups:
            if c1 > c0:
                ws.merge_range(1, c0, 1, c1, text, self.f_group)
            else:
                ws.write_string(1, c0, text, self.f_group)
        for c, col in enumerate(cols, nfix):
            ws.write_string(2, c, col[3], self.f_head_total if col[0] == "total" else self.f_head)
        for i, h in enumerate(FIXED_COLUMNS):
            ws.write_string(3, i, h, self.f_head)
        for c, col in enumerate(cols, nfix):
            ws.write_string(3, c, col[4] or "—", self.f_head_total if col[0] == "total" else self.f_head)
        ws.freeze_panes(4, 3)

    def sample_row(self) -> None:
        """Row 5 (where the agencies go): a blank cell in each style of the agency rows, in a fixed order."""
        for c, name in enumerate(_DATA_STYLES):
            self.ws.write_blank(4, c, None, self.data[name])

    def styles(self) -> dict[str, int]:
        return {name: self.data[name].xf_index for name in _DATA_STYLES}

    def tail(self, r: int, total: Submission, count: int) -> None:
        ws, nfix = self.ws, len(FIXED_COLUMNS)
        for c in (0, 1, 3, 4):
            ws.write_string(r, c, "", self.f_sum_label)
        ws.write_string(r, 2, f"合计（{count} 个单位）", self.f_sum_label)
        for c, col in enumerate(self.cols, nfix):
            v = total.values.get(col[1], 0) if col[0] != "field" else total.narrative.get(col[1][1], 0)
            ws.write_number(r, c, v, self.f_sum)
        r += 2
        ws.write_string(r, 0, "说明：只有“已提交且通过”和“仅有警告”的单位计入合计；“有错误”的单位列出供核对，不计入合计。"
                        "灰底列为合计列（由各单位数据重新计算）。", self.f_note)
        ws.set_landscape()
        ws.set_paper(9)
        ws.repeat_rows(1, 3)
        ws.repeat_columns(0, 2)


def _data_styles(spec, year: int, cols) -> dict[str, int]:
    """The style numbers xlsxwriter gives the agency rows' formats (a dry run of the header and sample row)."""

    frame = _Frame(io.BytesIO(), spec=spec, year=year, cols=cols, options={"in_memory": True})
    frame.head()
    frame.sample_row()
    frame.wb.close()
    return frame.styles()


def _stream_rows(fh, records, *, spec, cols, styles: dict, state_label, summer: Summer) -> int:
    """Write the agencies' rows (worksheet XML, from row 5) to the binary file ``fh``; return how many.

    Two million cells for 10,000 agencies: the figure cells of a row are one
    %-template (the row number filled in with ``str.replace``), each slot the
    style and value of one cell.
    """
    from xlsxwriter.utility import xl_col_to_name

    from xlsxgen.spec.domain import MAX_EXACT, bounds, in_domain

    nfix = len(FIXED_COLUMNS)
    s_num, s_total = styles["num"], styles["num_total"]
    kinds = {("narrative", f.key): f.kind for f in spec.narrative_fields}
    for t in spec.tables:
        kinds.update({(t.key, rk, ck): kind for (rk, ck), kind in t.kinds.items()})
    # the figure columns grouped by where their values are in the canonical JSON: (table, row) or narrative
    groups: list[tuple[bool, tuple, list[tuple]]] = []
    template = []
    caches: dict[int, dict] = {}
    for c, col in enumerate(cols, nfix):
        is_field = col[0] == "field"
        where = ("narrative",) if is_field else col[1][:2]
        key = col[1][1] if is_field else col[1][2]
        style = s_total if col[0] == "total" else s_num
        if not groups or groups[-1][0] != is_field or groups[-1][1] != where:
            groups.append((is_field, where, []))
        # a number: ' s="7"><v>12</v></c>' (integers' slots cached per style); no number: a styled blank
        # ' s="5"/>', as xlsxwriter's write_blank. A stored number outside the numeric domain (an older
        # release accepted 401-digit counts) is written as a blank and its agency is not summed.
        kind = kinds.get(col[1], "total")
        lo, hi = (-MAX_EXACT, MAX_EXACT) if kind == "total" else bounds(kind)
        check = in_domain if kind == "amount" else None  # amounts: < 10^9 and at most 6 decimals
        groups[-1][2].append((key, f' s="{style}"><v>', f' s="{s_num}"/>', caches.setdefault(style, {}), lo, hi,
                              check))
        template.append(f'<c r="{xl_col_to_name(c)}\x00"%s')
    row_template = "".join(template)  # no % in it but the slots: letters, digits, quotes
    n = 0
    for rec in records:
        if not rec.data_json:
            continue
        doc = json.loads(rec.data_json)
        if doc.get("format") != spec.id:
            continue
        tables = doc.get("tables") or {}
        narrative = doc.get("narrative") or {}
        bad = False
        n += 1
        r = str(4 + n)
        slots = []
        for is_field, where, cells in groups:
            values = narrative if is_field else (tables.get(where[0]) or {}).get(where[1]) or {}
            if not isinstance(values, dict):
                values = {}
            for key, prefix, blank, cache, lo, hi, check in cells:
                v = values.get(key)
                t = type(v)  # JSON numbers are exactly int or float (bool is neither)
                if t is int:
                    if not lo <= v <= hi or (check is not None and v >= hi):
                        bad = True
                        slots.append(blank)
                        continue
                    slot = cache.get(v)
                    if slot is None:
                        if len(cache) > 100_000:
                            cache.clear()
                        slot = cache[v] = f"{prefix}{v:.16G}</v></c>"
                    slots.append(slot)
                elif t is float and math.isfinite(v) and lo <= v <= hi and (check is None or check(v, "amount")):
                    slots.append(f"{prefix}{v:.16G}</v></c>")
                else:
                    if v is not None:
                        bad = True
                    slots.append(blank)
        counted = rec.usable and not bad
        if counted:
            summer.add_doc(doc)
        text_style = styles["text"] if counted else styles["excluded"]
        fh.write("".join((
            f'<row r="{r}"><c r="A{r}" s="{styles["center"]}"><v>{n}</v></c>',
            _inline_string("B" + r, styles["text"], rec.agency_code or ""),
            _inline_string("C" + r, styles["text"], rec.agency_name or (doc.get("agency") or {}).get("name", "")),
            _inline_string("D" + r, text_style, state_label(rec) + ("（有数值超出允许范围，未计入合计）" if bad else "")),
            _inline_string("E" + r, styles["center"] if counted else styles["excluded_center"],
                           "是" if counted else "否"),
            row_template.replace("\x00", r) % tuple(slots),
            "</row>",
        )).encode("utf-8"))
    return n


def write_consolidated_workbook(path, *, spec, year: int, records, state_label, sum_name: str,
                                texts=None) -> tuple[Submission, int]:
    """Write the per-agency workbook to ``path`` (atomically); return (sum, number summed).

    ``records`` yields store Records (with data) in display order; ``state_label``
    maps a record to its Chinese status. Accepted ones (no errors) are summed.
    ``texts`` yields (code, name, narrative) of the agencies whose texts the workbook's
    文字材料 sheet shows side by side (:func:`xlsxgen.render.compilation.add_texts_sheet`).
    """

    path = Path(path)
    cols = figure_columns(spec)
    summer = Summer(spec, year, sum_name)
    temps = []

    def temp(suffix):
        fd, name = new_temp(path, suffix)
        temps.append(name)
        return fd, name

    try:
        styles = _data_styles(spec, year, cols)
        fd, rows_tmp = temp(".rows")
        with open(fd, "wb", buffering=1 << 20) as fh:
            n = _stream_rows(fh, records, spec=spec, cols=cols, styles=styles, state_label=state_label,
                             summer=summer)
        total = summer.result()

        fd, frame_tmp = temp(".xlsx")
        os.close(fd)
        frame = _Frame(frame_tmp, spec=spec, year=year, cols=cols,
                       options={"constant_memory": True, "tmpdir": str(path.parent)})
        frame.head()
        if n:
            frame.sample_row()
        frame.tail(4 + n, total, summer.count)
        if texts is not None:
            add_texts_sheet(frame.wb, spec, texts, font=FONT)
        frame.wb.close()
        if not n:
            os.replace(frame_tmp, path)
            return total, summer.count
        if frame.styles() != styles:  # xlsxwriter numbered the styles otherwise than in the dry run
            raise RuntimeError(f"汇总表样式编号不一致：{frame.styles()} != {styles}")

        fd, out_tmp = temp(".tmp")
        os.close(fd)
        sheet_part = "xl/worksheets/sheet1.xml"
        rows_size = os.path.getsize(rows_tmp)
        with zipfile.ZipFile(frame_tmp) as zin, zipfile.ZipFile(out_tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename != sheet_part:
                    zout.writestr(info, data)
                    continue
                start = data.find(b'<row r="5">')
                end = data.find(b"</row>", start) + len(b"</row>")
                if start < 0 or end < len(b"</row>"):
                    raise RuntimeError("汇总表工作表中找不到样例行")
                zi = zipfile.ZipInfo(info.filename, info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = info.external_attr
                with zout.open(zi, "w", force_zip64=rows_size + len(data) > (1 << 31) - (1 << 24)) as w, \
                        open(rows_tmp, "rb") as rows:
                    w.write(data[:start])
                    while block := rows.read(1 << 20):
                        w.write(block)
                    w.write(data[end:])
        os.replace(out_tmp, path)
    finally:
        for name in temps:
            try:
                os.unlink(name)
            except OSError:
                pass
    return total, summer.count


# ---------------------------------------------------------------------------- overview workbook


def build_overview_workbook(overview, *, title: str) -> bytes:
    """The status overview (one row per agency, and the files not accepted) as .xlsx bytes."""


    out = io.BytesIO()
    # constant memory: rows go to a temporary file as they are written (10,000 agencies are 110,000 cells)
    wb = Workbook(out, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                        "strings_to_urls": False})
    wb.set_properties({"title": title, "author": "xlsxgen", "keywords": OUTPUT_MARKER})
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "border": 1, "text_wrap": True}
    f_title = wb.add_format({"font_name": "黑体", "font_size": 16, "align": "center", "valign": "vcenter"})
    f_sub = wb.add_format({"font_name": FONT, "font_size": 10, "align": "left", "valign": "vcenter",
                           "font_color": "#404040"})
    f_head = wb.add_format(dict(base, bold=True, bg_color="#D9E1F2", align="center"))
    f_text = wb.add_format(dict(base, align="left"))
    f_center = wb.add_format(dict(base, align="center"))
    state_fmt = {
        "ok": wb.add_format(dict(base, align="center", font_color="#375623", bg_color="#E2EFDA")),
        "warning": wb.add_format(dict(base, align="center", font_color="#7F6000", bg_color="#FFEB9C")),
        "invalid": wb.add_format(dict(base, align="center", font_color="#9C0006", bg_color="#FFC7CE", bold=True)),
        "unreadable": wb.add_format(dict(base, align="center", font_color="#9C0006", bg_color="#FFC7CE", bold=True)),
        "missing": wb.add_format(dict(base, align="center", font_color="#595959", bg_color="#EDEDED", bold=True)),
    }
    state_fmt["held"] = wb.add_format(dict(base, align="center", font_color="#9C0006", bg_color="#FCE4D6", bold=True))
    state_fmt["other_file"] = wb.add_format(dict(base, align="center", font_color="#7F6000", bg_color="#FCE4D6",
                                                 bold=True))
    f_held = wb.add_format(dict(base, align="left", font_color="#9C0006", bg_color="#FCE4D6"))
    f_held_head = wb.add_format(dict(base, align="left", bold=True, font_color="#9C0006", bg_color="#FCE4D6"))

    ws = wb.add_worksheet("报送情况")
    heads = ("序号", "单位代码", "单位名称", "上级", "状态", "错误", "警告", "报送次数", "当前文件", "收到时间",
             "联系人", "电话", "邮箱", "备注")
    widths = (6, 13, 28, 10, 13, 6, 6, 8, 40, 17, 10, 14, 18, 44)
    last = len(heads) - 1
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, last, title, f_title)
    counts = overview.counts()
    summary = "　".join(f"{STATE_LABELS[k]} {v}" for k, v in counts.items())
    ws.merge_range(1, 0, 1, last, f"共 {len(overview.rows)} 个单位：{summary}", f_sub)
    r = 3
    if overview.held:  # first: numbers that may be another agency's, not counted until someone confirms
        ws.merge_range(r, 0, r, last, f"单位不符，待确认的文件 {len(overview.held)} 个（不计入合计；确认归属后才计入）",
                       f_held_head)
        r += 1
        for hf in overview.held:
            rec = hf.record
            names = (f"{hf.how}指向“{hf.named_name}”（{hf.named_code}），工作簿中的填报单位却是“{hf.workbook_name}”"
                     f"（{hf.workbook_code}）" if hf.named_code else
                     f"工作簿中的填报单位为“{hf.workbook_name}”（{hf.workbook_code}），同一次收集中还收到该单位另一个"
                     "文件名不同、内容不同的文件")
            text = f"[编号 {rec.id}] {rec.path or rec.file_name}：{names}。{hf.what_to_do}"
            ws.merge_range(r, 0, r, last, text, f_held)
            _fit_row(ws, r, [(text, sum(widths))])
            r += 1
        r += 1
    header_row = r
    for c, h in enumerate(heads):
        ws.write_string(r, c, h, f_head)
    r += 1
    for row in overview.rows:
        ws.write_number(r, 0, row.position, f_center)
        ws.write_string(r, 1, row.code, f_text)
        ws.write_string(r, 2, row.name, f_text)
        ws.write_string(r, 3, row.parent, f_text)
        ws.write_string(r, 4, row.label, state_fmt[row.state])
        ws.write_number(r, 5, row.errors, f_center)
        ws.write_number(r, 6, row.warnings, f_center)
        ws.write_number(r, 7, row.versions, f_center)
        ws.write_string(r, 8, row.file_name, f_text)
        ws.write_string(r, 9, (row.received_at or "")[:16].replace("T", " "), f_center)
        ws.write_string(r, 10, row.contact, f_text)  # text: a phone number keeps its leading zero
        ws.write_string(r, 11, row.phone, f_text)
        ws.write_string(r, 12, row.email, f_text)
        note = "；".join(x for x in (row.review_note if overview.reviewing else "", row.note) if x)
        ws.write_string(r, 13, note, f_text)
        _fit_row(ws, r, [(row.name, widths[2]), (row.file_name, widths[8]), (note, widths[13])])
        r += 1
    ws.autofilter(header_row, 0, max(r - 1, header_row), last)
    ws.freeze_panes(header_row + 1, 3)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row, header_row)

    ws2 = wb.add_worksheet("未接收的文件")
    heads2 = ("序号", "文件", "收到时间", "识别出的单位", "状态", "原因", "请对方")
    for i, w in enumerate((6, 40, 17, 28, 10, 50, 40)):
        ws2.set_column(i, i, w)
    ws2.merge_range(0, 0, 0, 6, "收件文件夹中未计入任何单位的文件：无法读取且无法识别单位、年度不符、单位不在名单中，"
                                "以及没有收集的文件（其他格式的表格、文档、图片、隐藏文件等；能从文件名认出单位的已注明）", f_sub)
    for c, h in enumerate(heads2):
        ws2.write_string(2, c, h, f_head)
    r = 3
    for i, rec in enumerate(overview.rejected, 1):
        ws2.write_number(r, 0, i, f_center)
        ws2.write_string(r, 1, rec.path or rec.file_name, f_text)
        ws2.write_string(r, 2, (rec.received_at or "")[:16].replace("T", " "), f_center)
        ws2.write_string(r, 3, " ".join(x for x in (rec.agency_code, rec.agency_name) if x) or "—", f_text)
        ws2.write_string(r, 4, "无法读取" if rec.status == "unreadable" else "拒收", f_center)
        ws2.write_string(r, 5, rec.reason or "", f_text)
        ws2.write_string(r, 6, "", f_text)
        _fit_row(ws2, r, [(rec.path or rec.file_name, 40), (rec.reason or "", 50)])
        r += 1
    for i, sk in enumerate((sk for sk in overview.skipped if sk.get("code") != "lock_file"),
                           len(overview.rejected) + 1):
        who = " ".join(x for x in (sk.get("agency_code"), sk.get("agency_name")) if x)
        if who and sk.get("matched_by"):
            who += f"（按{sk['matched_by']}）"
        ws2.write_number(r, 0, i, f_center)
        ws2.write_string(r, 1, sk["path"], f_text)
        ws2.write_string(r, 2, (sk.get("seen_at") or "")[:16].replace("T", " "), f_center)
        ws2.write_string(r, 3, who or "—", f_text)
        ws2.write_string(r, 4, "未收集", f_center)
        ws2.write_string(r, 5, sk.get("reason") or "", f_text)
        ws2.write_string(r, 6, sk.get("ask") or "", f_text)
        _fit_row(ws2, r, [(sk["path"], 40), (sk.get("reason") or "", 50), (sk.get("ask") or "", 40)])
        r += 1
    if r == 3:
        ws2.merge_range(3, 0, 3, 6, "（无）", f_center)
    ws2.set_landscape()
    ws2.set_paper(9)
    ws2.fit_to_pages(1, 0)
    ws.activate()
    wb.close()
    return out.getvalue()


def _fit_row(ws, r: int, cells) -> None:
    """Give row ``r`` the height its wrapped texts need (LibreOffice and WPS do not auto-fit on open)."""

    lines = max(max(1, -(-int(text_width(t) + 1) // max(int(w - 1), 1))) for t, w in cells)
    if lines > 1:
        ws.set_row(r, 14 * lines + 3)
