"""The chasing list (``xlsxgen remind``): every agency not yet done, its contact, its problem, a message to send.

An agency is not done when it has sent nothing (未提交), its current file has
errors or cannot be read, a file of its is held (单位不符，待确认) or it sent only
files that are not workbooks (文件类型不符). The message texts are the format's
own (``remind:`` in ``templates/<format>/format.yaml``); this module only fills
them in.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from xlsxgen.collection.statuses import NOT_DONE
from xlsxgen.errors import XlsxgenError
from xlsxgen.files import OUTPUT_MARKER


@dataclass
class Reminder:
    code: str
    name: str
    state: str  # STATE_LABELS key
    label: str
    problem: str
    contact: str
    phone: str
    email: str
    subject: str
    message: str


class _Fields(dict):
    def __missing__(self, key):
        return ""


def reminders(overview, spec, *, office: str = "", deadline: str = "") -> list[Reminder]:
    """One Reminder per agency of ``overview`` whose state is one an office chases, in roster order."""
    from xlsxgen.collection.distribute import workbook_file_name
    from xlsxgen.collection.roster import Agency

    wording = (spec.raw or {}).get("remind") or {}
    messages = wording.get("messages") or {}
    if not messages:
        raise XlsxgenError(f"格式 {spec.id} 的定义中没有提醒文字（format.yaml 的 remind.messages）")
    held_by_code: dict[str, list] = {}
    for hf in overview.held:
        for code in {hf.workbook_code, hf.named_code} - {""}:
            held_by_code.setdefault(code, []).append(hf)
    out = []
    for row in overview.rows:
        if row.state not in NOT_DONE:
            continue
        template = workbook_file_name(overview.year, Agency(row.code, row.name))
        file = row.file_name or template
        problem = row.note or row.label
        if row.state == "held" and held_by_code.get(row.code):
            hf = held_by_code[row.code][-1]
            file = hf.record.path or hf.record.file_name
            problem = (f"文件名指向{hf.named_name}，工作簿中填的却是{hf.workbook_name}" if hf.named_code
                       else f"同时收到{hf.workbook_name}两个内容不同的文件")
        ask = ""
        if row.state == "other_file":
            sk = next((s for s in overview.skipped if s.get("agency_code") == row.code), None)
            if sk is not None:
                file, problem, ask = sk["path"], sk["reason"], (sk.get("ask") or "").rstrip("。")
        if row.state == "missing":
            problem = "尚未收到报送"
        fields = _Fields(agency=row.name, code=row.code, year=overview.year, contact=row.contact,
                         greeting=f"{row.contact}同志：" if row.contact else "您好：", office=office or "我办",
                         file=file, file_template=template, problem=problem.rstrip("。"), ask=ask,
                         deadline=f"于{deadline}前" if deadline else "尽快")
        text = str(messages.get(row.state) or messages.get("missing") or "")
        out.append(Reminder(row.code, row.name, row.state, row.label, problem, row.contact, row.phone, row.email,
                            str(wording.get("subject") or "").format_map(fields), text.format_map(fields)))
    return out


HEADS = ("序号", "单位代码", "单位名称", "状态", "问题", "联系人", "电话", "邮箱", "提醒文字")


def reminders_csv(items: list[Reminder]) -> str:
    """UTF-8 (with BOM) CSV for Excel; cells that a spreadsheet would run as formulas are neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADS)
    for i, r in enumerate(items, 1):
        w.writerow([i] + [_safe(x) for x in (r.code, r.name, r.label, r.problem, r.contact, r.phone, r.email,
                                             r.message)])
    return "\ufeff" + buf.getvalue()


def _safe(text: str) -> str:
    s = str(text or "")
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def reminders_text(items: list[Reminder], year: int) -> str:
    if not items:
        return f"{year}年度各单位均已报送且没有需要修改的问题，无需催报。"
    lines = [f"{year}年度需要催报的单位 {len(items)} 个：", ""]
    for i, r in enumerate(items, 1):
        who = "，".join(x for x in (r.contact, r.phone, r.email) if x) or "名单中没有联系方式"
        lines += [f"{i}. {r.name}（{r.code}）　{r.label}　联系人：{who}", f"   问题：{r.problem}",
                  f"   提醒文字：{r.message}", ""]
    return "\n".join(lines)


def reminders_workbook(items: list[Reminder], year: int, spec) -> bytes:
    from xlsxwriter.workbook import Workbook

    from xlsxgen.textwidth import text_width

    out = io.BytesIO()
    wb = Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                        "strings_to_urls": False})
    wb.set_properties({"title": f"{year}年度催报清单", "author": "xlsxgen", "keywords": OUTPUT_MARKER})
    base = {"font_name": "宋体", "font_size": 10, "valign": "top", "border": 1, "text_wrap": True}
    f_head = wb.add_format(dict(base, bold=True, bg_color="#D9E1F2", align="center", valign="vcenter"))
    f_text = wb.add_format(dict(base, align="left"))
    f_title = wb.add_format({"font_name": "黑体", "font_size": 16, "align": "center", "valign": "vcenter"})
    ws = wb.add_worksheet("催报清单")
    widths = (6, 12, 24, 14, 36, 10, 14, 20, 70)
    for i, wdt in enumerate(widths):
        ws.set_column(i, i, wdt)
    ws.merge_range(0, 0, 0, len(widths) - 1, f"{spec.report_title_for('', year)}催报清单（{len(items)} 个单位）", f_title)
    ws.set_row(0, 28)
    for c, h in enumerate(HEADS):
        ws.write_string(2, c, h, f_head)
    for i, r in enumerate(items, 1):
        row = 2 + i
        ws.write_number(row, 0, i, f_text)
        for c, v in enumerate((r.code, r.name, r.label, r.problem, r.contact, r.phone, r.email, r.message), 1):
            ws.write_string(row, c, v or "", f_text)
        lines = max(max(1, int(text_width(r.message) // (widths[8] - 2)) + 1),
                    max(1, int(text_width(r.problem) // (widths[4] - 2)) + 1))
        ws.set_row(row, 14 * lines + 4)
    ws.freeze_panes(3, 3)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(2, 2)
    wb.close()
    return out.getvalue()
