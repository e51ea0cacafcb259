"""The overview of a collection: one row per roster agency (and per unattributed file), its state and first problem."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from xlsxgen.collection.review import effective_state
from xlsxgen.collection.roster import named_agency
from xlsxgen.collection.statuses import (
    HELD_REASONS,
    INVALID,
    REJECT_WORDS,
    REVIEW_ACCEPTED,
    REVIEW_WORDS,
    STATE_LABELS,
    STATE_OF_STATUS,
    UNREADABLE,
    WARNING,
    review_word,
)
from xlsxgen.collection.store import Store
from xlsxgen.files import printable
from xlsxgen.textwidth import format_table


@dataclass(slots=True)
class OverviewRow:
    position: int
    code: str
    name: str
    parent: str
    kind: str
    state: str  # key of STATE_LABELS
    errors: int = 0
    warnings: int = 0
    file_name: str = ""
    received_at: str = ""
    versions: int = 0
    note: str = ""
    record_id: int | None = None
    review: str | None = None  # review state (pending / accepted / returned), None: nothing to review
    review_comment: str = ""  # the reviewer's comment (a return's is what the agency must read)
    review_by: str = ""
    accepted_id: int | None = None  # the version accepted in review (locked)
    contact: str = ""  # from the roster (optional columns)
    phone: str = ""
    email: str = ""

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def review_label(self) -> str:
        return review_word(self.review)

    @property
    def review_remark(self) -> str:
        """The reviewer's comment (with who wrote it) and a version waiting to be reviewed, or ''."""
        parts = []
        if self.review is not None and self.review_comment:
            parts.append(f"审核意见（{self.review_by}）：{self.review_comment}" if self.review_by
                         else f"审核意见：{self.review_comment}")
        if self.review == REVIEW_ACCEPTED and self.record_id is not None and self.accepted_id != self.record_id:
            parts.append(f"新版本（编号 {self.record_id}）待重新打开后审核")
        return "；".join(parts)

    @property
    def review_note(self) -> str:
        """The review in one line (state and remark), for places without a column of its own."""
        if self.review is None:
            return ""
        return f"审核：{self.review_label}" + (f"；{self.review_remark}" if self.review_remark else "")



@dataclass
class Overview:
    year: int
    rows: list[OverviewRow]
    rejected: list  # Records rejected or not attributable to an agency
    has_roster: bool
    reviewing: bool = False  # the office works with review (--require-review, or reviews recorded)
    held: list = field(default_factory=list)  # HeldFile: submissions waiting for `xlsxgen confirm`
    skipped: list = field(default_factory=list)  # inbox entries not collected (dicts of the store's inbox_files)

    def counts(self) -> dict[str, int]:
        c = Counter(r.state for r in self.rows)
        return {k: c.get(k, 0) for k in STATE_LABELS}

    @property
    def usable_codes(self) -> list[str]:
        return [r.code for r in self.rows if r.state in ("ok", "warning")]

    def review_counts(self) -> dict[str, int]:
        c = Counter(r.review for r in self.rows if r.review)
        return {k: c.get(k, 0) for k in REVIEW_WORDS}



@dataclass(slots=True)
class HeldFile:
    """A submission held until someone confirms whose numbers it holds."""

    record: object  # the store Record
    workbook_code: str  # the agency the workbook itself names
    workbook_name: str
    named_code: str  # the agency its file or folder name names ("" when held as a second file)
    named_name: str
    how: str  # 文件名 / 文件夹名 / 压缩包名

    @property
    def what_to_do(self) -> str:
        rid = self.record.id
        if self.named_code:
            return (f"请向{self.named_name}或{self.workbook_name}核实这是谁的数据，然后运行 xlsxgen confirm … {rid} "
                    f"--agency {self.workbook_code}（确为{self.workbook_name}的）或 --agency {self.named_code}"
                    f"（确为{self.named_name}的，请该单位用本单位的模板重新填报）")
        return (f"请向{self.workbook_name}核实哪一个文件是本单位的，然后运行 xlsxgen confirm … {rid} "
                f"--agency {self.workbook_code}")


class _Brief(NamedTuple):
    agency_name: str | None
    status: str
    errors: int
    warnings: int
    file_name: str
    received_at: str
    id: int
    reason: str | None



def build_overview(store: Store, year: int, roster=None, *, require_review: bool = False) -> Overview:
    """Per agency of the roster (or per agency seen, without one): its current state and its review state."""
    if roster is None:
        roster = store.roster(year)
    # what the rows need of each current submission (not whole records: 10,000 agencies stay a few MB)
    current = {r.agency_code: _Brief(r.agency_name, r.status, r.errors, r.warnings, r.file_name, r.received_at, r.id,
                                     r.reason)
               for r in store.current(year, with_data=False, with_findings=False)}
    versions = store.submission_counts(year)
    reviews = store.review_rows(year)
    rejected = store.unattributed(year)
    held = [r for r in rejected if r.reason_code in HELD_REASONS]
    rejected = [r for r in rejected if r.reason_code not in HELD_REASONS]  # the held are listed on their own
    rejected_by_code: dict[str, list] = {}
    for r in rejected:
        if r.agency_code:
            rejected_by_code.setdefault(r.agency_code, []).append(r)
    held_files = []
    held_codes: dict[str, list] = {}
    for r in held:
        named, how = named_agency(roster, r.path or r.file_name)
        named_code = named.code if named is not None and named.code != r.agency_code else ""
        hf = HeldFile(r, r.agency_code or "", r.agency_name or r.agency_code or "", named_code,
                      named.name if named_code else "", how if named_code else "")
        held_files.append(hf)
        for code in {hf.workbook_code, hf.named_code} - {""}:
            held_codes.setdefault(code, []).append(hf)
    skipped = store.skipped_files(year)
    other_by_code: dict[str, list] = {}
    for sk in skipped:
        if sk.get("agency_code") and sk.get("code") in ("other_type", "archive", "symlink_outside", "special",
                                                         "sparse", "too_large"):
            other_by_code.setdefault(sk["agency_code"], []).append(sk)
    contacts = {a.code: a for a in roster} if roster is not None else {}
    rows: list[OverviewRow] = []
    entries = [(a.code, a.name, a.parent, a.kind) for a in roster] if roster is not None else []
    known = {e[0] for e in entries}
    for code in sorted(c for c in current if c not in known):
        rec = current[code]
        entries.append((code, rec.agency_name or code, "", ""))
    for i, (code, name, parent, kind) in enumerate(entries, 1):
        rec = current.get(code)
        row = OverviewRow(i, code, name, parent, kind, "missing", versions=versions.get(code, 0))
        a = contacts.get(code)
        if a is not None:
            row.contact, row.phone, row.email = a.contact, a.phone, a.email
        if rec is not None:
            row.state = STATE_OF_STATUS.get(rec.status, "invalid")
            row.errors, row.warnings = rec.errors, rec.warnings
            row.file_name, row.received_at, row.record_id = rec.file_name, rec.received_at, rec.id
            if rec.status == UNREADABLE:
                row.note = rec.reason or ""
            elif rec.status in (INVALID, WARNING):
                row.note = _first_problem(store.get(rec.id))
            if roster is not None and code not in known:
                row.note = (row.note + "；" if row.note else "") + "不在名单中"
        rv = reviews.get(code)
        row.review = effective_state(rv, rec.id if rec is not None else None)
        if rv is not None and row.review is not None:
            row.review_comment, row.review_by = rv.comment or "", rv.updated_by
            if rv.state == REVIEW_ACCEPTED:
                row.accepted_id = rv.submission_id
        rj = rejected_by_code.get(code)
        if rj and (rec is None or rj[-1].received_at >= rec.received_at):
            row.note = (row.note + "；" if row.note else "") + f"有 {len(rj)} 份被拒收：{rj[-1].reason}"
        hf = held_codes.get(code)
        if hf:
            if row.state == "missing":
                row.state = "held"
            row.note = (row.note + "；" if row.note else "") + f"有 {len(hf)} 个文件单位不符，待确认（见最前面）"
        other = other_by_code.get(code)
        if other:
            if row.state == "missing":
                row.state = "other_file"
            sk = other[-1]
            row.note = (row.note + "；" if row.note else "") + (
                f"交来的 {sk['path']} 未收集：{sk['reason']}" + (f"；{sk['ask']}" if sk.get("ask") else ""))
        rows.append(row)
    return Overview(year, rows, rejected, roster is not None, reviewing=require_review or bool(reviews),
                    held=held_files, skipped=[sk for sk in skipped if sk.get("code") not in ("out_dir",)])



def _first_problem(rec) -> str:
    """The first (most severe) finding of a record, with its place, and how many there are."""
    if rec is None:
        return ""
    fs = [f for f in rec.findings if f.get("severity") in ("error", "warning")]  # an info note needs no action
    if not fs:
        return ""
    fs.sort(key=lambda f: f.get("severity") != "error")
    f = fs[0]
    where = "!".join(x for x in (f.get("sheet"), f.get("cell")) if x)
    text = (f"{where} " if where else "") + (f.get("message") or "")
    return text + (f"（共 {len(fs)} 项）" if len(fs) > 1 else "")




def overview_text(overview: Overview, *, show_all: bool = False, limit_ok: int = 60) -> str:
    """The overview as the terminal shows it: counts, then a table of the agencies."""
    counts = overview.counts()
    total = len(overview.rows)
    lines = [f"{overview.year}年度报送情况：共 {total} 个单位　" + "　".join(
        f"{STATE_LABELS[k]} {v}" for k, v in counts.items() if v or k in ("ok", "missing"))]
    if overview.held:
        lines += ["", f"单位不符，待确认的文件 {len(overview.held)} 个（不计入合计，确认后才计入）："]
        for hf in overview.held:
            rec = hf.record
            names = (f"{hf.how}指向“{hf.named_name}”（{hf.named_code}），工作簿填报单位为“{hf.workbook_name}”"
                     f"（{hf.workbook_code}）" if hf.named_code else
                     f"工作簿填报单位为“{hf.workbook_name}”（{hf.workbook_code}），同一次收集中另有该单位的其他文件")
            lines.append(f"  [编号 {rec.id}] {printable(rec.path or rec.file_name)}：{names}")
            lines.append(f"      {hf.what_to_do}")
        lines.append("")
    reviewing = overview.reviewing
    if reviewing:
        lines.append("审核情况：" + "　".join(f"{REVIEW_WORDS[k]} {v}" for k, v in overview.review_counts().items()))
    rows = overview.rows
    hidden = 0
    if not show_all and total > limit_ok:
        shown = [r for r in rows if r.state != "ok" or (reviewing and r.review != REVIEW_ACCEPTED)]
        hidden = total - len(shown)
        rows = shown
    if rows and reviewing:
        table = format_table(
            ("序号", "代码", "单位", "状态", "审核", "错误", "警告", "次数", "备注"),
            [(r.position, r.code, r.name, r.label, r.review_label, r.errors or "", r.warnings or "", r.versions or "",
              "；".join(x for x in (r.review_remark, r.note) if x)) for r in rows],
            max_widths=[5, 16, 28, 16, 8, 4, 4, 4, 60], align=[">", "<", "<", "<", "<", ">", ">", ">", "<"])
        lines += ["", table]
    elif rows:
        table = format_table(
            ("序号", "代码", "单位", "状态", "错误", "警告", "次数", "备注"),
            [(r.position, printable(r.code), printable(r.name), r.label, r.errors or "", r.warnings or "",
              r.versions or "", printable(r.note)) for r in rows],
            max_widths=[5, 16, 28, 16, 4, 4, 4, 50], align=[">", "<", "<", "<", ">", ">", ">", "<"])
        lines += ["", table]
    if hidden:
        lines.append(f"（另有 {hidden} 个单位已提交且通过" + ("、已接受" if reviewing else "")
                     + "，未逐一列出；加 --all 显示全部）")
    if overview.rejected:
        kinds = Counter(REJECT_WORDS.get(r.reason_code or "", "其他") for r in overview.rejected)
        lines += ["", f"未能计入任何单位的文件 {len(overview.rejected)} 个（"
                  + "、".join(f"{k} {v} 个" for k, v in kinds.most_common()) + "）："]
        for rec in overview.rejected[:10]:
            lines.append(f"  {printable(rec.path or rec.file_name)}：{rec.reason or '无法识别单位'}")
        if len(overview.rejected) > 10:
            lines.append(f"  ……其余 {len(overview.rejected) - 10} 个见报送情况表的“未接收的文件”")
    listed = [sk for sk in overview.skipped if sk.get("code") not in ("lock_file",)]
    if listed:
        lines += ["", f"收件文件夹中未收集的文件 {len(listed)} 个（详见报送情况表的“未接收的文件”）："]
        for sk in listed[:10]:
            who = f"（{sk['agency_name']}）" if sk.get("agency_name") else ""
            lines.append(f"  {printable(sk['path'])}{who}：{sk['reason']}" + (f"；{sk['ask']}" if sk.get("ask") else ""))
        if len(listed) > 10:
            lines.append(f"  ……其余 {len(listed) - 10} 个")
    if not overview.has_roster:
        lines.append("（未提供名单：无法列出未提交的单位；用 --roster 指定名单）")
    return "\n".join(lines)
