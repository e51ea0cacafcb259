"""Readable Chinese reports of import results: one table per file, sized for a terminal.

Column widths count display cells (a CJK character takes two), so the table
stays aligned in a Chinese terminal.
"""

from __future__ import annotations

import unicodedata

from importer.result import ImportResult
from xlsxgen import messages
from xlsxgen.files import display_path
from xlsxgen.spec.rules import format_number

STATUS = {"ok": "通过", "invalid": "不通过", "unreadable": "无法读取"}


def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def wrap(text: str, cols: int) -> list[str]:
    """Split ``text`` into lines of at most ``cols`` display cells (newlines kept)."""
    out = []
    for para in str(text).split("\n"):
        line, w = "", 0
        for ch in para:
            cw = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
            if w + cw > cols and line:
                out.append(line)
                line, w = "", 0
                if ch == " ":
                    continue
            line += ch
            w += cw
        out.append(line)
    return out or [""]


def pad(s: str, cols: int) -> str:
    return s + " " * max(0, cols - width(s))


def _show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return format_number(v)
    s = str(v)
    return s if len(s) <= 60 else s[:57] + "…"


def identity_line(r: ImportResult) -> str:
    parts = []
    if r.format_id:
        parts.append(f"格式 {r.format_id}")
    if r.agency and r.agency.get("name"):
        code = f"（{r.agency['code']}）" if r.agency.get("code") else ""
        parts.append(f"单位 {r.agency['name']}{code}")
    if r.year:
        parts.append(f"{r.year}年度")
    return "　".join(parts)


def summary_line(r: ImportResult) -> str:
    if r.status == "unreadable":
        return f"无法读取：{r.reason}"
    e, w, i = len(r.errors), len(r.warnings), len(r.infos)
    note = f"；{i} 条提示，无需处理" if i else ""
    if not e and not w:
        return "结果：通过，未发现问题" if not i else f"结果：通过（{i} 条提示，无需处理）"
    if not e:
        return f"结果：通过（{w} 个警告，请查看{note}）"
    return f"结果：不通过（{e} 个错误" + (f"，{w} 个警告" if w else "") + "）"


def render_table(r: ImportResult, total_width: int = 120) -> list[str]:
    """The findings of one file as table lines."""
    if not r.findings or r.status == "unreadable":
        return []
    fixed = {"no": 4, "sev": 4, "where": 22, "exp": 10, "act": 10}
    gaps = 2 * 6
    rest = max(total_width - sum(fixed.values()) - gaps, 40)
    msg_w = max(rest * 3 // 5, 24)
    fix_w = max(rest - msg_w, 16)
    cols = [("序号", fixed["no"]), ("级别", fixed["sev"]), ("位置", fixed["where"]), ("问题", msg_w),
            ("应为", fixed["exp"]), ("实际", fixed["act"]), ("改法", fix_w)]
    sep = "  "
    lines = [sep.join(pad(h, w) for h, w in cols).rstrip(), sep.join("-" * w for _, w in cols)]
    rank = {"error": 0, "warning": 1}
    order = sorted(range(len(r.findings)), key=lambda i: (rank.get(r.findings[i].severity, 2), i))
    for n, i in enumerate(order, 1):
        f = r.findings[i]
        where = f.where()
        if not f.sheet and f.table:
            where = ".".join(k for k in (f.table, f.row, f.column) if k)
        cells = [str(n), messages.SEVERITY.get(f.severity, f.severity), where, f.message, _show(f.expected),
                 _show(f.actual), f.fix]
        wrapped = [wrap(text, w) for text, (_, w) in zip(cells, cols)]
        height = max(len(x) for x in wrapped)
        for k in range(height):
            lines.append(sep.join(pad(x[k] if k < len(x) else "", w) for x, (_, w) in zip(wrapped, cols)).rstrip())
    return lines


def render(results: list[ImportResult], total_width: int = 120, previous: ImportResult | None = None) -> str:
    out = []
    if previous is not None:
        if previous.status == "unreadable":
            out.append(f"上年数据 {display_path(str(previous.path))[0]} 无法读取：{previous.reason}（跨年度校验未执行）")
        else:
            out.append(f"上年数据：{display_path(str(previous.path))[0]}（{identity_line(previous)}）")
        out.append("")
    for r in results:
        out.append(f"== {display_path(str(r.path))[0]} ==")
        ident = identity_line(r)
        if ident:
            out.append(ident)
        out.append(summary_line(r))
        table = render_table(r, total_width)
        if table:
            out.append("")
            out.extend(table)
        out.append("")
    if len(results) > 1:
        counts = {k: sum(1 for r in results if r.status == k) for k in STATUS}
        out.append(f"共 {len(results)} 个文件：{counts['ok']} 个通过，{counts['invalid']} 个不通过，"
                   f"{counts['unreadable']} 个无法读取")
    return "\n".join(out).rstrip() + "\n"
