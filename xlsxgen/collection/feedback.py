"""The feedback file for one agency: every finding, where it is and how to fix it.

An .xlsx a clerk can forward as it is: a title, who and which file, the
verdict, then one row per finding (级别, 工作表, 单元格, 问题, 修改建议),
printable on A4 landscape. The wording is the tool's own; the finding texts
come from the importer and the format's rules.
"""

from __future__ import annotations

import io
import re

from xlsxwriter.workbook import Workbook

from xlsxgen import messages
from xlsxgen.files import OUTPUT_MARKER
from xlsxgen.spec.rules import compile_spec
from xlsxgen.textwidth import text_width

FONT = "宋体"
SEVERITY_ORDER = {"error": 0, "warning": 1}


def fix_hints(spec) -> dict[str, str]:
    """rule id / instance id -> the format's fix hint."""

    hints: dict[str, str] = {}
    if spec is None:
        return hints
    for ru in compile_spec(spec).rules:
        if ru.fix:
            hints.setdefault(ru.id, ru.fix)
            hints[ru.instance_id] = ru.fix
    return hints


def verdict(status: str, errors: int, warnings: int, reason: str | None = None) -> str:
    if status == "unreadable":
        return f"文件无法读取：{reason or '原因不明'}"
    if status == "rejected":
        return f"文件未被接收：{reason or ''}"
    if errors:
        return f"有 {errors} 项错误" + (f"、{warnings} 项警告" if warnings else "") + "，请修改后重新报送"
    if warnings:
        return f"无错误，有 {warnings} 项警告：请逐项核对，确属实际情况的可不修改，但需在文字材料中说明"
    return "全部通过"


def build_feedback(*, spec, year: int, agency_name: str, agency_code: str, record, template_name: str = "",
                   office: str = "", review_comment: str = "") -> bytes:
    """The feedback workbook (bytes) of ``record`` (a store Record).

    ``review_comment``: the office's comment when it returned the submission (退回修改), shown first.
    Information notes (nothing to fix) are not listed: a feedback file says only what the agency must look at.
    """
    findings = sorted((f for f in record.findings if f.get("severity") in SEVERITY_ORDER),
                      key=lambda f: (SEVERITY_ORDER.get(f.get("severity"), 2),
                                                      str(f.get("sheet") or ""), _cell_sort(f.get("cell"))))
    hints = fix_hints(spec)
    out = io.BytesIO()
    wb = Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                        "strings_to_urls": False})
    wb.set_properties({"title": f"{agency_name}{year}年度报送文件校验反馈", "author": "xlsxgen", "keywords": OUTPUT_MARKER})
    base = {"font_name": FONT, "font_size": 11, "valign": "vcenter", "text_wrap": True}
    boxed = dict(base, border=1)
    f_title = wb.add_format(dict(base, font_name="黑体", font_size=16, align="center"))
    f_label = wb.add_format(dict(boxed, bold=True, bg_color="#F2F2F2", align="left"))
    f_value = wb.add_format(dict(boxed, align="left"))
    f_bad = wb.add_format(dict(boxed, align="left", bold=True, font_color="#9C0006", bg_color="#FFC7CE"))
    f_warn = wb.add_format(dict(boxed, align="left", bold=True, font_color="#7F6000", bg_color="#FFEB9C"))
    f_ok = wb.add_format(dict(boxed, align="left", bold=True, font_color="#375623", bg_color="#E2EFDA"))
    f_head = wb.add_format(dict(boxed, bold=True, bg_color="#D9E1F2", align="center"))
    f_cell = wb.add_format(dict(boxed, align="left", valign="top"))
    f_center = wb.add_format(dict(boxed, align="center", valign="top"))
    f_err = wb.add_format(dict(boxed, align="center", valign="top", font_color="#9C0006", bold=True))
    f_wrn = wb.add_format(dict(boxed, align="center", valign="top", font_color="#7F6000", bold=True))
    f_note = wb.add_format(dict(base, font_size=10, font_color="#404040", align="left", valign="top"))
    f_subtitle = wb.add_format(dict(base, font_size=12, align="center"))

    ws = wb.add_worksheet("反馈意见")
    widths = [6, 8, 16, 9, 60, 48]
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)
    ws.hide_gridlines(2)
    last = len(widths) - 1
    ws.set_row(0, 30)
    ws.set_row(1, 22)
    ws.merge_range(0, 0, 0, last, f"{spec.cover_title_for(year)} 校验反馈单", f_title)
    ws.merge_range(1, 0, 1, last, f"致：{agency_name}", f_subtitle)
    info = [
        ("报送单位", agency_name),
        ("单位代码", agency_code or "—"),
        ("收到的文件", record.file_name),
        ("收到时间", _short_time(record.received_at)),
        ("文件指纹（SHA-256 前16位）", (record.sha256 or "")[:16]),
        ("校验结论", verdict(record.status, record.errors, record.warnings, record.reason)),
    ]
    if review_comment:
        info.append(("审核意见（退回修改）", review_comment))
    r = 2
    for label, value in info:
        ws.merge_range(r, 0, r, 2, label, f_label)
        fmt = f_value
        if label == "校验结论":
            fmt = f_bad if (record.errors or record.status in ("unreadable", "rejected")) else (
                f_warn if record.warnings else f_ok)
        elif label.startswith("审核意见"):
            fmt = f_bad
        ws.merge_range(r, 3, r, last, value, fmt)
        ws.set_row(r, max(20, 15 * _lines(value, sum(widths[3:])) + 5))
        r += 1
    r += 1
    if record.status == "unreadable":
        fixes = [f.get("fix") for f in findings if f.get("fix")]
        tip = (fixes[0] + "。" if fixes else "") + (
            f"请用本办下发的模板{('“' + template_name + '”') if template_name else ''}填写，"
            "在 Excel 或 WPS 中保存为 .xlsx 格式后重新报送；不要改扩展名，不要压缩或加密，"
            "不要复制粘贴到新建的工作簿中。")
        ws.merge_range(r, 0, r, last, "处理办法：" + tip, wb.add_format(dict(base, align="left", valign="top",
                                                                              font_size=11)))
        ws.set_row(r, 15 * _lines("处理办法：" + tip, sum(widths)) + 6)
        r += 2
    elif findings:
        ws.merge_range(r, 0, r, last, f"问题清单（共 {len(findings)} 项，按级别和位置排列）", f_label)
        r += 1
        header_row = r
        for c, h in enumerate(("序号", "级别", "工作表", "单元格", "问题说明", "修改建议")):
            ws.write_string(r, c, h, f_head)
        r += 1
        for i, f in enumerate(findings, 1):
            sev = f.get("severity") or ""
            hint = f.get("fix") or hints.get(f.get("rule") or "", "")
            ws.write_number(r, 0, i, f_center)
            ws.write_string(r, 1, messages.SEVERITY.get(sev, sev or "—"), f_err if sev == "error" else f_wrn)
            ws.write_string(r, 2, str(f.get("sheet") or "—"), f_center)
            ws.write_string(r, 3, str(f.get("cell") or "—"), f_center)
            ws.write_string(r, 4, str(f.get("message") or ""), f_cell)
            ws.write_string(r, 5, hint or "—", f_cell)
            lines = max(_lines(str(f.get("message") or ""), widths[4]), _lines(hint, widths[5]))
            ws.set_row(r, max(18, 15 * lines + 4))
            r += 1
        ws.repeat_rows(header_row, header_row)
        r += 1
    notes = ["说明："]
    if record.status != "unreadable":
        notes += [
            "请在本单位原工作簿中修改上表所列单元格（浅黄色为可填写单元格，灰色合计为公式，不要改写）。",
            (messages.FEEDBACK_RECHECK.format(cover=spec.sheets["cover"], checks=spec.sheets["checks"])
             if spec is not None else messages.FEEDBACK_RECHECK_GENERIC),
        ]
    notes.append("重新报送时文件名可以不变；收到新文件后以最新一次报送为准，原文件仍留档。")
    if office:
        notes.append(f"如有疑问请联系{office}。")
    notes = notes[:1] + [f"{i}. {n}" for i, n in enumerate(notes[1:], 1)]
    for line in notes:
        ws.merge_range(r, 0, r, last, line, f_note)
        r += 1
    ws.activate()
    wb.close()
    return out.getvalue()


def _lines(text: str, width: float) -> int:

    if not text:
        return 1
    return sum(max(1, -(-int(text_width(part) + 1) // max(int(width - 1), 1))) for part in text.split("\n"))


def _cell_sort(cell) -> tuple:

    m = re.match(r"^([A-Z]+)(\d+)", str(cell or ""))
    if not m:
        return (10**9, "")
    return (int(m.group(2)), m.group(1).rjust(3))


def _short_time(iso: str) -> str:
    return (iso or "")[:19].replace("T", " ")
