"""The review workflow: what the office decides about each agency's submission, on top of the automatic status.

States per agency and year (words in :mod:`xlsxgen.collection.statuses`)::

    (a submission arrives) ── 待审核 ──accept──▶ 已接受 ──reopen(reason)──▶ 待审核
                                 │                (locks that version: it is the one consolidated
                                 │                 and rendered; a later upload waits as a new version)
                                 └──return(comment)──▶ 退回修改 ──(a new version arrives)──▶ 待审核

Rules (each refusal raises :class:`ReviewError` with a Chinese sentence):

- a submission with errors (or unreadable) cannot be accepted; one with warnings only when every
  warning is accepted by a reviewer (``accept_warnings=True`` accepts the undecided ones in the same
  action, each recorded); a warning a reviewer did not accept blocks acceptance;
- returning needs a comment (the agency sees it in its feedback file), reopening needs a reason,
  not accepting a warning needs a reason;
- explanations (by the agency) and decisions (by a reviewer) are kept per finding *fingerprint*
  (rule, location, value): a resubmission with the same finding keeps them; a changed value is a
  new finding;
- every action appends one row per change to the audit log (who, when, what, comment, before, after),
  in the same transaction as the change, under the agency's lock (:meth:`Store.agency_transaction`).

These are plain functions taking a :class:`~xlsxgen.collection.store.Store`: the CLI
(``xlsxgen review``) and the web portal call the same ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from xlsxgen.collection.statuses import (
    DECISION_ACCEPTED,
    DECISION_REJECTED,
    REVIEW_ACCEPTED,
    REVIEW_PENDING,
    REVIEW_RETURNED,
    USABLE,
    WARNING,
    review_word,
)
from xlsxgen.collection.store import NoteRow, Record, ReviewRow, Store, now_iso
from xlsxgen.errors import XlsxgenError


class ReviewError(XlsxgenError):
    """A review action that the rules refuse (the message says why and what to do)."""


# ---------------------------------------------------------------------------- findings


def location(f: dict) -> str:
    """Where a finding is, as shown: 工作表!单元格 (or the table/row/column when there is no cell)."""
    where = "!".join(str(x) for x in (f.get("sheet"), f.get("cell")) if x)
    if where:
        return where
    return "/".join(str(x) for x in (f.get("table"), f.get("row"), f.get("column")) if x)


def fingerprint(f: dict) -> str:
    """The identity of a finding across versions: rule, location and value (16 hex digits)."""
    where = [f.get(k) for k in ("sheet", "cell", "table", "row", "column")]
    value = [f.get("actual"), f.get("expected")]
    text = json.dumps([f.get("rule"), where, value], ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _value_text(f: dict) -> str:
    return json.dumps([f.get("actual"), f.get("expected")], ensure_ascii=False, default=str)


@dataclass
class FindingView:
    """A finding of the reviewed submission with its explanation and decision."""

    number: int  # 1-based, in the submission's order
    fingerprint: str
    severity: str
    rule: str
    location: str
    message: str
    fix: str
    note: NoteRow | None = None

    @property
    def explanation(self) -> str:
        return (self.note.explanation or "") if self.note else ""

    @property
    def decision(self) -> str | None:
        return self.note.decision if self.note else None


def finding_views(record: Record | None, notes: dict[str, NoteRow]) -> list[FindingView]:
    if record is None:
        return []
    out = []
    for i, f in enumerate(record.findings, 1):
        fp = fingerprint(f)
        out.append(FindingView(i, fp, f.get("severity") or "", f.get("rule") or "", location(f),
                               f.get("message") or "", f.get("fix") or "", notes.get(fp)))
    return out


# ---------------------------------------------------------------------------- the state of an agency


def effective_state(row: ReviewRow | None, current_id: int | None) -> str | None:
    """The review state shown: None when there is nothing to review."""
    if row is not None and row.state == REVIEW_ACCEPTED:
        return REVIEW_ACCEPTED
    if current_id is None:
        return None
    if row is not None and row.state == REVIEW_RETURNED and row.submission_id == current_id:
        return REVIEW_RETURNED
    return REVIEW_PENDING  # nothing decided yet, reopened, or a new version after a return


@dataclass
class AgencyReview:
    """One agency's review, as ``review list/show``, ``status`` and the portal show it."""

    year: int
    code: str
    name: str
    state: str | None  # pending / accepted / returned / None
    current: Record | None  # the latest non-rejected submission
    subject: Record | None  # what is reviewed: the accepted (locked) version, else the current one
    row: ReviewRow | None
    findings: list[FindingView] = field(default_factory=list)

    @property
    def word(self) -> str:
        return review_word(self.state)

    @property
    def comment(self) -> str:
        return (self.row.comment or "") if self.row is not None else ""

    @property
    def newer_waiting(self) -> bool:
        """Accepted, and a later version has arrived (it waits until the office reopens)."""
        return (self.state == REVIEW_ACCEPTED and self.current is not None and self.subject is not None
                and self.current.id != self.subject.id)

    @property
    def return_comment(self) -> str:
        """The comment the agency must see (a return), or ''."""
        return self.comment if self.state == REVIEW_RETURNED else ""


def _subject(row: ReviewRow | None, current: Record | None, lookup) -> Record | None:
    if row is not None and row.state == REVIEW_ACCEPTED and row.submission_id is not None:
        return lookup(row.submission_id)
    return current


def agency_review(store: Store, year: int, code: str, *, name: str = "") -> AgencyReview:
    """The review of one agency with its findings, explanations and decisions."""
    current = store.current_of(year, code)
    row = store.review_row(year, code)
    subject = _subject(row, current, store.get)
    notes = store.finding_notes(year, code)
    name = name or (subject.agency_name if subject else "") or code
    return AgencyReview(year, code, name, effective_state(row, current.id if current else None), current, subject,
                        row, finding_views(subject, notes))


def review_states(store: Store, year: int) -> dict[str, tuple[str | None, ReviewRow | None, int | None]]:
    """Per agency code with a submission or a review: (state, review row, current submission id). Cheap."""
    rows = store.review_rows(year)
    current = {r.agency_code: r.id for r in store.current(year, with_findings=False)}
    out = {}
    for code in set(rows) | set(current):
        row = rows.get(code)
        out[code] = (effective_state(row, current.get(code)), row, current.get(code))
    return out


def list_reviews(store: Store, year: int, *, roster=None) -> list[AgencyReview]:
    """Every agency of the roster (or with a submission) and its review, in roster order (without findings)."""
    roster = roster if roster is not None else store.roster(year)
    rows = store.review_rows(year)
    current = {r.agency_code: r for r in store.current(year, with_findings=False)}
    order = [(a.code, a.name) for a in roster] if roster is not None else []
    known = {c for c, _ in order}
    order += [(c, current[c].agency_name or c) for c in sorted(current) if c not in known]
    order += [(c, c) for c in sorted(rows) if c not in known and c not in current]
    out = []
    for code, name in order:
        cur = current.get(code)
        row = rows.get(code)
        subject = _subject(row, cur, store.get)
        out.append(AgencyReview(year, code, name, effective_state(row, cur.id if cur else None), cur, subject, row))
    return out


# ---------------------------------------------------------------------------- actions


def _need_by(by: str) -> str:
    by = (by or "").strip()
    if not by:
        raise ReviewError("请写明由谁操作（--by 姓名）")
    return by


def _need_text(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ReviewError(what)
    return text


def _state_of(row: ReviewRow | None) -> dict:
    if row is None:
        return {"state": None, "submission_id": None}
    return {"state": row.state, "submission_id": row.submission_id, "comment": row.comment}


def accept(store: Store, year: int, code: str, *, by: str, comment: str = "", submission_id: int | None = None,
           accept_warnings: bool = False) -> AgencyReview:
    """Accept an agency's submission (the current one, or ``submission_id``): it becomes the one that counts."""
    by = _need_by(by)
    comment = (comment or "").strip()
    with store.agency_transaction(year, code) as tx:
        row = tx.review()
        if row is not None and row.state == REVIEW_ACCEPTED:
            raise ReviewError(f"单位 {code} 的报送已接受（编号 {row.submission_id}）；如需改为接受其他版本，"
                              "请先重新打开（xlsxgen review reopen --comment 原因）")
        current = tx.current()
        sub = tx.submission(submission_id) if submission_id is not None else current
        if sub is None:
            raise ReviewError(f"单位 {code} 在 {year} 年度没有" + (f"编号为 {submission_id} 的报送" if submission_id
                                                                  else "可审核的报送"))
        if sub.status == "rejected":
            raise ReviewError(f"编号 {sub.id} 的文件未被接收（{sub.reason or '拒收'}），不能接受")
        if sub.status not in USABLE:
            what = "无法读取" if sub.status == "unreadable" else f"有 {sub.errors} 项错误"
            raise ReviewError(f"单位 {code} 的报送（编号 {sub.id}）{what}，不能接受；请退回修改")
        notes = tx.notes()
        at = now_iso()
        undecided = []
        for fv in finding_views(sub, notes):
            if fv.severity != WARNING:
                continue
            if fv.decision == DECISION_REJECTED:
                raise ReviewError(f"单位 {code} 的第 {fv.number} 项警告（{fv.location}）已决定不接受，不能接受该报送；"
                                  "请退回修改，或先改变对该警告的决定")
            if fv.decision != DECISION_ACCEPTED:
                undecided.append(fv)
        if undecided and not accept_warnings:
            nums = "、".join(str(fv.number) for fv in undecided)
            raise ReviewError(f"单位 {code} 的报送有 {len(undecided)} 项警告尚未决定（第 {nums} 项）：请逐项决定"
                              "（xlsxgen review decide），或加 --accept-warnings 一并接受")
        for fv in undecided:
            before = _note_state(fv.note)
            fields = dict(decision=DECISION_ACCEPTED, decided_by=by, decided_at=at,
                          decision_comment=comment or "随报送一并接受")
            f = sub.findings[fv.number - 1]
            tx.set_note(fv.fingerprint, rule=fv.rule, location=fv.location, value=_value_text(f), **fields)
            tx.audit(action="decide", by=by, at=at, submission_id=sub.id, fingerprint=fv.fingerprint,
                     before=before, after=dict(before, decision=DECISION_ACCEPTED), comment=fields["decision_comment"])
        tx.set_review(state=REVIEW_ACCEPTED, submission_id=sub.id, comment=comment or None, by=by, at=at)
        tx.audit(action="accept", by=by, at=at, submission_id=sub.id, before=_state_of(row),
                 after={"state": REVIEW_ACCEPTED, "submission_id": sub.id, "comment": comment or None},
                 comment=comment or None)
    return agency_review(store, year, code)


def return_(store: Store, year: int, code: str, *, by: str, comment: str) -> AgencyReview:
    """Send an agency's current submission back with a comment (the agency sees it in its feedback file)."""
    by = _need_by(by)
    comment = _need_text(comment, "退回修改必须写明意见（--comment），单位会在反馈单中看到")
    with store.agency_transaction(year, code) as tx:
        row = tx.review()
        if row is not None and row.state == REVIEW_ACCEPTED:
            raise ReviewError(f"单位 {code} 的报送已接受；如需退回，请先重新打开（xlsxgen review reopen --comment 原因）")
        current = tx.current()
        if current is None:
            raise ReviewError(f"单位 {code} 在 {year} 年度没有可审核的报送")
        if row is not None and row.state == REVIEW_RETURNED and row.submission_id == current.id:
            raise ReviewError(f"单位 {code} 的报送（编号 {current.id}）已退回修改，正在等待重新报送")
        at = now_iso()
        tx.set_review(state=REVIEW_RETURNED, submission_id=current.id, comment=comment, by=by, at=at)
        tx.audit(action="return", by=by, at=at, submission_id=current.id, before=_state_of(row),
                 after={"state": REVIEW_RETURNED, "submission_id": current.id, "comment": comment}, comment=comment)
    return agency_review(store, year, code)


def reopen(store: Store, year: int, code: str, *, by: str, comment: str) -> AgencyReview:
    """Unlock an accepted submission (a reason is required); the agency is 待审核 again."""
    by = _need_by(by)
    comment = _need_text(comment, "重新打开已接受的报送必须写明原因（--comment）")
    with store.agency_transaction(year, code) as tx:
        row = tx.review()
        if row is None or row.state != REVIEW_ACCEPTED:
            raise ReviewError(f"单位 {code} 的报送不是“已接受”状态，无需重新打开")
        at = now_iso()
        tx.set_review(state=REVIEW_PENDING, submission_id=None, comment=comment, by=by, at=at)
        tx.audit(action="reopen", by=by, at=at, submission_id=row.submission_id, before=_state_of(row),
                 after={"state": REVIEW_PENDING, "submission_id": None, "comment": comment}, comment=comment)
    return agency_review(store, year, code)


def _note_state(note: NoteRow | None) -> dict:
    if note is None:
        return {"explanation": None, "decision": None}
    return {"explanation": note.explanation, "decision": note.decision, "decision_comment": note.decision_comment}


def _find(tx, code: str, finding: str | int):
    """The reviewed submission and the warning ``finding`` (its number, or its fingerprint or a prefix of it)."""
    row = tx.review()
    sub = tx.submission(row.submission_id) if (row is not None and row.state == REVIEW_ACCEPTED
                                               and row.submission_id is not None) else tx.current()
    if sub is None:
        raise ReviewError(f"单位 {code} 没有可审核的报送")
    views = finding_views(sub, tx.notes())
    key = str(finding).strip()
    if key.isdigit() and len(key) < 6:
        hits = [v for v in views if v.number == int(key)]
    else:
        hits = [v for v in views if key and v.fingerprint.startswith(key.lower())]
    if len(hits) != 1:
        raise ReviewError(f"单位 {code} 的报送（编号 {sub.id}）中没有问题“{finding}”"
                          "（用 xlsxgen review show 查看各项的序号和指纹）" if not hits else
                          f"“{finding}”对应多项问题，请给出更长的指纹")
    fv = hits[0]
    if fv.severity != WARNING:
        raise ReviewError(f"第 {fv.number} 项是{'错误' if fv.severity == 'error' else '提示'}，不是警告：" +
                          ("错误必须修改后重新报送，不能以说明代替" if fv.severity == "error" else "无需说明或决定"))
    return row, sub, fv


def explain(store: Store, year: int, code: str, finding: str | int, *, by: str, text: str) -> FindingView:
    """Record the agency's explanation of a warning (kept for later versions with the same finding)."""
    by = _need_by(by)
    text = _need_text(text, "请写明说明内容（--comment）")
    with store.agency_transaction(year, code) as tx:
        _row, sub, fv = _find(tx, code, finding)
        at = now_iso()
        before = _note_state(fv.note)
        tx.set_note(fv.fingerprint, rule=fv.rule, location=fv.location, value=_value_text(sub.findings[fv.number - 1]),
                    explanation=text, explained_by=by, explained_at=at)
        tx.audit(action="explain", by=by, at=at, submission_id=sub.id, fingerprint=fv.fingerprint, before=before,
                 after=dict(before, explanation=text), comment=text)
        fv.note = tx.notes().get(fv.fingerprint)
    return fv


def decide(store: Store, year: int, code: str, finding: str | int, *, by: str, accept_it: bool,
           comment: str = "") -> FindingView:
    """A reviewer accepts a warning (the figure stands as explained) or does not (it must be fixed: reason required)."""
    by = _need_by(by)
    comment = (comment or "").strip()
    if not accept_it:
        comment = _need_text(comment, "不接受警告时必须写明原因（--comment），单位会看到")
    decision = DECISION_ACCEPTED if accept_it else DECISION_REJECTED
    with store.agency_transaction(year, code) as tx:
        row, sub, fv = _find(tx, code, finding)
        if row is not None and row.state == REVIEW_ACCEPTED:
            raise ReviewError(f"单位 {code} 的报送已接受，不能再改变对警告的决定；如需改变，请先重新打开")
        at = now_iso()
        before = _note_state(fv.note)
        tx.set_note(fv.fingerprint, rule=fv.rule, location=fv.location, value=_value_text(sub.findings[fv.number - 1]),
                    decision=decision, decided_by=by, decided_at=at, decision_comment=comment or None)
        tx.audit(action="decide", by=by, at=at, submission_id=sub.id, fingerprint=fv.fingerprint, before=before,
                 after=dict(before, decision=decision, decision_comment=comment or None), comment=comment or None)
        fv.note = tx.notes().get(fv.fingerprint)
    return fv


@dataclass
class BulkResult:
    accepted: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (code, why)


def bulk_accept(store: Store, year: int, *, by: str, codes=None, without_warnings: bool = False,
                comment: str = "", accept_warnings: bool = False) -> BulkResult:
    """Accept several agencies at once: ``codes`` (selected), or every pending one; each in its own transaction.

    ``without_warnings``: only submissions that passed with no warning (通过). A refusal of one
    agency does not stop the others; it is reported with its reason.
    """
    _need_by(by)
    res = BulkResult()
    reviews = list_reviews(store, year)
    if codes is not None:
        wanted = list(dict.fromkeys(codes))
        by_code = {r.code: r for r in reviews}
        res.refused += [(c, f"单位 {c} 在 {year} 年度没有可审核的报送") for c in wanted
                        if c not in by_code or by_code[c].current is None]
        candidates = [by_code[c] for c in wanted if c in by_code and by_code[c].current is not None]
    else:
        candidates = [r for r in reviews if r.state == REVIEW_PENDING]
    for r in candidates:
        if without_warnings and r.current.status != "accepted":
            continue
        if r.state == REVIEW_ACCEPTED:
            res.refused.append((r.code, "已接受"))
            continue
        try:
            accept(store, year, r.code, by=by, comment=comment, accept_warnings=accept_warnings)
        except ReviewError as e:
            res.refused.append((r.code, str(e)))
            continue
        res.accepted.append(r.code)
    return res
