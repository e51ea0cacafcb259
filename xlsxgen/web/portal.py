"""The portal's operations, without HTTP: links, uploads, the agency's view, the dashboard, diffs, downloads.

Everything here is synchronous and takes an open :class:`~xlsxgen.collection.store.Store`;
the Starlette app (:mod:`xlsxgen.web.app`) calls it from a thread pool. Uploads go
through the intake's own read/validate/classify (:func:`xlsxgen.collection.intake.process_data`,
:func:`~xlsxgen.collection.intake.classify`): there is no second importer.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from xlsxgen.collection import intake, review
from xlsxgen.collection.feedback import SEVERITY_ORDER, build_feedback, fix_hints, verdict
from xlsxgen.collection.roster import Roster
from xlsxgen.collection.statuses import (
    ACCEPTED,
    ACTION_WORDS,
    DECISION_WORDS,
    INVALID,
    REJECTED,
    REVIEW_ACCEPTED,
    REVIEW_PENDING,
    REVIEW_RETURNED,
    STATE_LABELS,
    STATE_OF_STATUS,
    UNREADABLE,
    USABLE,
    review_word,
    status_word,
)
from xlsxgen.collection.store import Store, now_iso
from xlsxgen.files import safe_file_part
from xlsxgen.messages import SEVERITY
from xlsxgen.web.security import new_token, token_hash

AGENCY_ACTOR = "单位（专用链接）"  # who acts through an agency's link, in the audit log
MISMATCH = "agency_mismatch"  # reason code: uploaded through one agency's link, the workbook names another

# dashboard filters: key -> (label, predicate on a DashRow)
FILTERS = {
    "missing": "未提交",
    "errors": "有错误",
    "warnings": "仅有警告",
    "to_review": "待审核",
    "confirm": "待确认",
    "returned": "退回修改",
    "accepted": "已接受",
}


class PortalError(Exception):
    """A request the portal refuses, with a Chinese message and an HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------- configuration and stores


@dataclass
class Portal:
    db: str
    year: int
    spec: object
    uploads: Path
    deadline: str = ""
    office: str = "政务公开办"
    _local: threading.local = field(default_factory=threading.local, repr=False)

    _opened: list = field(default_factory=list, repr=False)

    def store(self) -> Store:
        """This thread's store connection (a connection is not shared between threads)."""
        st = getattr(self._local, "store", None)
        if st is None:
            st = self._local.store = Store.open(self.db, create=False)
            self._opened.append(st)
        return st

    def close_stores(self) -> None:
        """At shutdown: close every thread's connection."""
        while self._opened:
            try:
                self._opened.pop().close()
            except Exception:  # noqa: BLE001 - closing at shutdown, from another thread: best effort
                pass


def clean_name(name: str) -> str:
    """An uploaded file's name as shown: the last path part, no control characters, at most 120 characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip() or "未命名.xlsx"
    return name[-120:]


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (=, +, -, @, tab, CR at the start)."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def csv_bytes(header, rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([csv_cell(h) for h in header])
    for r in rows:
        w.writerow([csv_cell(c) for c in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------------- links


def check_expiry(expires_at: str | None) -> str | None:
    """An expiry date as given (``2025-02-01``: the link works through that day), checked."""
    if not expires_at:
        return None
    try:
        return _dt.date.fromisoformat(expires_at.strip()).isoformat()
    except ValueError:
        raise PortalError(f"有效期“{expires_at}”不是日期，请写成 2025-02-01 的形式") from None


def issue_link(store: Store, year: int, code: str, *, expires_at: str | None = None) -> str:
    """A new token for the agency's link (the earlier one stops working); only its hash is stored."""
    expires_at = check_expiry(expires_at)
    token = new_token()
    store.set_link(year, code, token_hash(token), expires_at=expires_at)
    return token


def link_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + "/a/" + token


def resolve_link(store: Store, token: str, *, previous_of_year: int | None = None) -> dict | None:
    """The live link of ``token`` (year, agency_code, ...), or None (unknown, revoked or expired).

    ``previous_of_year``: an upload is coming for that year — the link also carries, as ``previous``, the
    stored data of the year before of its agency (read in the same round trip; None when there is none).
    """
    if previous_of_year is None:
        link = store.link_by_hash(token_hash(token))
    else:
        link, prev = store.link_with_previous(token_hash(token), previous_of_year)
        if link is not None:
            link["previous"] = prev
    if link is None or link["revoked_at"]:
        return None
    if link["expires_at"] and link["expires_at"] < now_iso()[: len(link["expires_at"])]:
        return None
    return link


def issue_links(store: Store, year: int, base_url: str, *, regenerate: bool = False, codes=None,
                expires_at: str | None = None) -> list[tuple]:
    """Issue links for the roster of ``year``; rows (代码, 名称, contact, link or a note) for a mail merge.

    Agencies that already have a live link keep it unless ``regenerate``: their
    row says so (a token is shown once, when it is issued).
    """
    expires_at = check_expiry(expires_at)
    roster = store.roster(year)
    if roster is None:
        raise PortalError(f"收集库中没有{year}年度的名单（请先用 generate --db 或 collect --roster 记录名单）")
    existing = store.links(year)
    wanted = None if codes is None else set(codes)
    rows = []
    for a in roster:
        if wanted is not None and a.code not in wanted:
            continue
        link = existing.get(a.code)
        contact = (link or {}).get("contact", "")
        live = link is not None and not link["revoked_at"]
        if live and not regenerate:
            rows.append((a.code, a.name, contact, "（已发放，链接只在发放时显示一次；需要重新发放请用 --regenerate）"))
            continue
        token = issue_link(store, year, a.code, expires_at=expires_at)
        rows.append((a.code, a.name, contact, link_url(base_url, token)))
    return rows


LINK_HEADER = ("代码", "名称", "联系人", "链接")


# ---------------------------------------------------------------------------- uploads


@dataclass
class UploadOutcome:
    record_id: int | None
    notice: str = ""  # shown above the findings (flagged, duplicate)
    flagged: bool = False
    view: tuple | None = None  # what the agency's page shows, read with the insert (Store.add_submission_viewed)
    read_seconds: float | None = None  # the importer's reading and checking of this file


def store_blob(uploads: Path, data: bytes, sha: str) -> Path:
    """Keep the upload content-addressed (``ab/abcdef…``) under ``uploads``; never executable, never served."""
    path = uploads / sha[:2] / sha
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    return path


def receive_upload(portal: Portal, store: Store, *, code: str, data: bytes, file_name: str,
                   link: dict | None = None) -> UploadOutcome:
    """Import one uploaded workbook for agency ``code`` (the link's): the intake's read, validate, classify.

    A workbook naming another agency is bound to ``code`` and flagged (rejected,
    reason ``agency_mismatch``): never filed under the other agency.
    """
    year, spec = portal.year, portal.spec
    if link is not None and link.get("agency_name") is not None:
        from xlsxgen.collection.roster import Agency

        agency = Agency(code, link["agency_name"])
    else:
        agency = store.agency(year, code)
    if agency is None:
        raise PortalError("该链接对应的单位已不在本年度名单中，请联系政务公开办", 403)
    # the link's agency is the only one this upload can be for: another agency's workbook is refused by
    # classify as not in this (one-agency) roster, then bound to the link's agency and flagged below
    roster = Roster([agency])
    name = clean_name(file_name)
    sha = hashlib.sha256(data).hexdigest()
    store_blob(portal.uploads, data, sha)
    # a file already received is found by the insert below (one round trip on the common path, a new file)
    out = {"path": f"门户上传/{sha[:16]}", "rel": f"门户上传/{sha[:16]}", "file_name": name, "size": len(data),
           "file_mtime": now_iso(), "sha256": sha}
    # last year's data of the link's agency, when the link was read with it (resolve_link(previous_of_year=…))
    known = (code, year, link["previous"]) if link is not None and "previous" in link else None
    res = intake.process_data(data, out, store, known)
    row = intake.classify(res, year=year, spec=spec, roster=roster)
    outcome = UploadOutcome(None, read_seconds=res.get("read_seconds"))
    claimed_code, claimed_name = row.get("agency_code"), row.get("agency_name")
    if res["status"] == UNREADABLE:
        row.update(agency_code=code, agency_name=agency.name)
    elif claimed_code != code:
        who = f"“{claimed_name or '未知单位'}”" + (f"（代码 {claimed_code}）" if claimed_code else "")
        reason = f"通过{agency.name}的专用链接上传的工作簿是{who}的，未计入任何单位；请上传本单位的工作簿"
        row.update(agency_code=code, agency_name=agency.name, status=REJECTED, reason_code=MISMATCH, reason=reason)
        outcome.flagged = True
        outcome.notice = reason + "。政务公开办会看到这次上传并与您确认。"
    else:
        row["agency_name"] = agency.name
    row["received_at"] = now_iso()
    row["run_id"] = None
    # every upload is in the agency's history (the submissions table): no audit row
    outcome.record_id, outcome.view = store.add_submission_viewed(row)
    if outcome.record_id is None:  # these very bytes were received before (year, SHA-256): nothing new stored
        seen = store.submission_of(year, sha)
        if seen is not None and seen[1] == code:
            return UploadOutcome(seen[0], "这个文件此前已经上传过，内容完全相同，结果如下。")
        # received for another agency: say nothing about it
        return UploadOutcome(None, "这个文件已经由其他单位报送过，不能作为本单位的报送。请上传本单位填写的工作簿。",
                             flagged=True)
    if res.get("data") and link is not None and not link.get("contact"):
        contact = json.loads(res["data"]).get("contact") or {}
        text = " ".join(v for v in (contact.get("person"), contact.get("phone")) if v)
        if text:
            store.set_contact_if_empty(year, code, text[:100])
    return outcome


# ---------------------------------------------------------------------------- what a page shows


class View(SimpleNamespace):
    """What a page shows of a thing: ``v.key`` in templates and code (Jinja finds an attribute at once;
    a dict's keys cost it a failed attribute lookup each — ~2× the time of a page with a long history)."""

    def __init__(self, values: dict):
        super().__init__(**values)


def findings_view(spec, record, notes: dict | None = None) -> list[View]:
    """The findings of ``record`` as the feedback file lists them: severity, sheet, cell, message, fix.

    ``notes`` (fingerprint -> the review's note) adds each warning's explanation and decision.
    """
    hints = fix_hints(spec)
    fs = sorted(record.findings, key=lambda f: (SEVERITY_ORDER.get(f.get("severity"), 2), str(f.get("sheet") or ""),
                                                _cell_sort(f.get("cell"))))
    out = []
    for f in fs:
        key = review.fingerprint(f)
        note = (notes or {}).get(key)
        out.append(View({
            "severity": f.get("severity") or "",
            "severity_word": SEVERITY.get(f.get("severity") or "", f.get("severity") or "—"),
            "sheet": f.get("sheet") or "—",
            "cell": f.get("cell") or "—",
            "message": f.get("message") or "",
            "fix": f.get("fix") or hints.get(f.get("rule") or "", "") or "—",
            "key": key,
            "explanation": (note.explanation or "") if note else "",
            "decision": DECISION_WORDS.get(note.decision, "") if note and note.decision else "",
            "decision_comment": (note.decision_comment or "") if note else "",
        }))
    return out


def _cell_sort(cell) -> tuple:
    m = re.match(r"^([A-Z]+)(\d+)", str(cell or ""))
    return (int(m.group(2)), m.group(1).rjust(3)) if m else (10**9, "")


def short_time(iso: str | None) -> str:
    return (iso or "")[:19].replace("T", " ")


def record_view(rec) -> View:
    return View({"id": rec.id, "file_name": rec.file_name, "received_at": short_time(rec.received_at),
            "status": rec.status, "status_word": status_word(rec.status) if rec.reason_code != MISMATCH else "待确认",
            "errors": rec.errors, "warnings": rec.warnings, "reason": rec.reason or "",
            "verdict": verdict(rec.status, rec.errors, rec.warnings, rec.reason)})


def agency_state(portal: Portal, store: Store, code: str, *, show: int | None = None, link: dict | None = None,
                 office: bool = True, view: tuple | None = None) -> View:
    """Everything the office's page of an agency shows; ``office=False``: the agency's own page (no audit log).

    ``link``: the agency's link when already read (its name and contact come with it); ``view``: its
    :meth:`~xlsxgen.collection.store.Store.agency_view` when already read (an upload's, showing ``show``).
    """
    with store.reading():
        return _agency_state(portal, store, code, show=show, link=link, office=office, view=view)


def _agency_state(portal: Portal, store: Store, code: str, *, show, link, office, view=None) -> View:
    year = portal.year
    name = link.get("agency_name") if link else None
    agency = store.agency(year, code) if name is None else None
    name = name or (agency.name if agency else None)
    # the versions (with the findings of the one shown: ``show``, else the latest), review, notes: one round trip
    history, row, notes = view or store.agency_view(year, code, findings_of=show if show is not None else -1)
    current = next((r for r in reversed(history) if r.status != REJECTED), None)
    shown = next((r for r in history if r.id == show), None) if show is not None else None
    if shown is None and history:
        shown = history[-1] if show is None else store.get(history[-1].id)  # (an unknown ``show``: the latest)
    state = review.effective_state(row, current.id if current else None)
    if state == REVIEW_PENDING and (current is None or current.status not in USABLE):
        state = None
    newer_waiting = bool(state == REVIEW_ACCEPTED and current and row and row.submission_id != current.id)
    events = store.audit_log(year, code) if office else []
    if office:
        comments = [{"at": short_time(e.at), "action": ACTION_WORDS.get(e.action, e.action), "comment": e.comment}
                    for e in events if e.action in ("accept", "return", "reopen", "decide") and e.comment]
    else:  # the agency sees the reviewer's latest word on its submission (decisions on warnings: in the list)
        comments = [{"at": short_time(row.updated_at), "action": review_word(row.state), "comment": row.comment}
                    ] if row is not None and row.comment else []
    link = link if link is not None else (store.link_of(year, code) or {})
    return View({
        "code": code,
        "name": name or code,
        "year": year,
        "deadline": portal.deadline,
        "current": record_view(current) if current else None,
        "auto_state": STATE_LABELS[STATE_OF_STATUS.get(current.status, "invalid")] if current else STATE_LABELS[
            "missing"],
        "passed": bool(current and current.status == ACCEPTED),
        "shown": record_view(shown) if shown else None,
        "shown_is_current": bool(shown and current and shown.id == current.id),
        "findings": findings_view(portal.spec, shown, notes) if shown else [],
        "history": [record_view(r) for r in reversed(history)],
        "review_state": state,
        "review_word": review_word(state),
        "newer_waiting": newer_waiting,
        "comments": comments,
        "audit": [{"at": short_time(e.at), "actor": e.actor, "action": ACTION_WORDS.get(e.action, e.action),
                   "comment": e.comment or "", "before": _state_word(e.before_state),
                   "after": _state_word(e.after_state)} for e in reversed(events)],
        "contact": link.get("contact", ""),
        "link": link,
        "can_accept": bool(current and current.status in USABLE and state != REVIEW_ACCEPTED),
        "accepted": state == REVIEW_ACCEPTED,
    })


def _state_word(encoded: str | None) -> str:
    """The review state in an audit row's before/after (JSON), as a word; '' when the row has none."""
    if not encoded:
        return ""
    try:
        doc = json.loads(encoded)
    except ValueError:
        return ""
    if not isinstance(doc, dict) or "state" not in doc:
        return ""
    return review_word(doc.get("state"))


def feedback_file(portal: Portal, store: Store, code: str, submission_id: int) -> tuple[str, bytes]:
    rec = store.get(submission_id)
    if rec is None or rec.agency_code != code or rec.year != portal.year:
        raise PortalError("找不到这份报送", 404)
    agency = store.agency(portal.year, code)
    name = agency.name if agency else code
    template = f"{portal.year}-{safe_file_part(code, 30)}-{safe_file_part(name)}.xlsx"
    data = build_feedback(spec=portal.spec, year=portal.year, agency_name=name, agency_code=code, record=rec,
                          template_name=template, office=portal.office)
    return f"反馈单-{portal.year}-{safe_file_part(code, 30)}-{safe_file_part(name)}.xlsx", data


def agency_workbook(portal: Portal, store: Store, code: str) -> tuple[str, bytes]:
    """The agency's workbook to fill in: prefilled from last year's accepted data where the store has it."""
    from xlsxgen.collection.distribute import _usable_previous, prefill_from_previous, workbook_file_name
    from xlsxgen.data import from_canonical_trusted
    from xlsxgen.spec.versions import format_of
    from xlsxgen.workbook.writer import build_workbook

    spec, year = portal.spec, portal.year
    agency = store.agency(year, code)
    if agency is None:
        raise PortalError("该单位不在本年度名单中", 404)
    rec = store.latest_usable(year - 1, code)
    if rec is not None and rec.data_json and _usable_previous(json.loads(rec.data_json), spec):
        doc = json.loads(rec.data_json)
        prev_spec = format_of(doc.get("format"), spec)
        previous = from_canonical_trusted(prev_spec, doc)
        data, keys = prefill_from_previous(spec, previous, year=year, agency_name=agency.name, agency_code=code)
        blob = build_workbook(spec, year=year, agency_name=agency.name, agency_code=code, data=data,
                              previous=previous if prev_spec is spec else None, prefilled=keys)
    else:
        blob = build_workbook(spec, year=year, agency_name=agency.name, agency_code=code)
    return workbook_file_name(year, agency), blob


# ---------------------------------------------------------------------------- the dashboard


@dataclass(slots=True)
class DashRow:
    position: int
    code: str
    name: str
    state: str  # key of STATE_LABELS
    review: str | None
    errors: int
    warnings: int
    received_at: str
    contact: str
    confirm: bool  # a flagged upload (another agency's workbook) waits for the office

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def review_word(self) -> str:
        return review_word(self.review) if self.review else ""

    def filters(self) -> list[str]:
        """The dashboard filters (keys of FILTERS) this row is in."""
        out = []
        if self.state == "missing":
            out.append("missing")
        elif self.state in ("invalid", "unreadable"):
            out.append("errors")
        elif self.state == "warning":
            out.append("warnings")
        if self.review == REVIEW_PENDING:
            out.append("to_review")
        elif self.review == REVIEW_RETURNED:
            out.append("returned")
        elif self.review == REVIEW_ACCEPTED:
            out.append("accepted")
        if self.confirm:
            out.append("confirm")
        return out

    def matches(self, f: str | None) -> bool:
        return not f or f not in FILTERS or f in self.filters()


def dashboard(portal: Portal, store: Store) -> tuple[list[DashRow], dict]:
    """One row per roster agency (and per agency seen without a roster entry), and the counts."""
    year = portal.year
    with store.reading():
        current = {r[0]: r for r in store.current_brief(year)}  # code -> (code, id, status, errors, warnings, at)
        reviews = store.review_rows(year)
        contacts = {code: link["contact"] for code, link in store.links(year).items()}
        mismatched = store.rejected_brief(year, MISMATCH)
        entries = store.roster_names(year)
    flagged: dict[str, str] = {}
    for code, at in mismatched:
        if code and at > flagged.get(code, ""):
            flagged[code] = at
    known = {c for c, _ in entries}
    entries += [(c, c) for c in sorted(c for c in current if c and c not in known)]
    rows = []
    counts = dict.fromkeys(["total", "submitted", *STATE_LABELS, *("f_" + k for k in FILTERS)], 0)
    for i, (code, name) in enumerate(entries, 1):
        rec = current.get(code)
        if rec is None:
            row = DashRow(i, code, name, "missing", None, 0, 0, "", contacts.get(code, ""), code in flagged)
        else:
            _c, sid, status, errors, warnings, at = rec
            rstate = review.effective_state(reviews.get(code), sid)
            if rstate == REVIEW_PENDING and status not in USABLE:
                rstate = None  # nothing for a reviewer yet: the agency has to send a usable file first
            f_at = flagged.get(code)
            row = DashRow(i, code, name, STATE_OF_STATUS.get(status, "invalid"), rstate, errors, warnings,
                          short_time(at), contacts.get(code, ""), bool(f_at and f_at >= at))
        rows.append(row)
        counts[row.state] += 1
        for f in row.filters():
            counts["f_" + f] += 1
    counts["total"] = len(rows)
    counts["submitted"] = counts["total"] - counts["missing"]
    counts["percent"] = round(100 * counts["submitted"] / counts["total"]) if counts["total"] else 0
    counts["percent_ok"] = round(100 * (counts["ok"] + counts["warning"]) / counts["total"]) if counts["total"] else 0
    return rows, counts


# ---------------------------------------------------------------------------- what changed between two versions


def diff_versions(spec, rec_a, rec_b) -> list[dict]:
    """Cell by cell: every figure and text that differs between two submissions (sheet, cell, label, before, after)."""
    from xlsxgen.workbook.plan import build_plan

    plan = build_plan(spec, False)
    a, b = (json.loads(r.data_json) if r.data_json else {} for r in (rec_a, rec_b))
    out = []
    for t in spec.tables:
        ta, tb = (a.get("tables") or {}).get(t.key) or {}, (b.get("tables") or {}).get(t.key) or {}
        for rk, ck in t.cells:
            va, vb = (ta.get(rk) or {}).get(ck), (tb.get(rk) or {}).get(ck)
            if va != vb:
                cell = plan.figure_cells.get((t.key, rk, ck))
                out.append({"sheet": cell.sheet if cell else t.key, "cell": cell.address if cell else "",
                            "label": t.cell_label(rk, ck), "before": _show(va), "after": _show(vb)})
    for group, fields in (("narrative", spec.narrative_fields),):
        ga, gb = a.get(group) or {}, b.get(group) or {}
        for f in fields:
            va, vb = ga.get(f.key), gb.get(f.key)
            if va != vb:
                cell = plan.field_cells.get((group, f.key))
                out.append({"sheet": cell.sheet if cell else group, "cell": cell.address if cell else "",
                            "label": f.label, "before": _show(va), "after": _show(vb)})
    return out


def _show(v) -> str:
    if v is None:
        return "（空）"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    text = str(v)
    return text if len(text) <= 200 else text[:200] + "……"


# ---------------------------------------------------------------------------- downloads from the store


def download(portal: Portal, store: Store, kind: str) -> tuple[str, bytes, str]:
    """(file name, bytes, media type) of a file generated from the store."""
    from xlsxgen.collection.consolidate import build_overview_workbook, write_consolidated_workbook
    from xlsxgen.collection.outputs import agency_texts, consolidated_draft
    from xlsxgen.collection.overview import build_overview

    year, spec = portal.year, portal.spec
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if kind == "status":
        ov = build_overview(store, year)
        return (f"报送情况-{year}.xlsx",
                build_overview_workbook(ov, title=spec.report_title_for("", year) + "报送情况"), xlsx)
    if kind == "consolidated":
        ov = build_overview(store, year)
        labels = {r.code: r.label for r in ov.rows}

        def state_label(rec):
            return labels.get(rec.agency_code) or STATE_LABELS.get(STATE_OF_STATUS.get(rec.status, ""), rec.status)

        names = {r.code: r.name for r in ov.rows}
        with tempfile.TemporaryDirectory(prefix="xlsxgen-web-") as tmp:
            path = Path(tmp) / "汇总表.xlsx"
            write_consolidated_workbook(path, spec=spec, year=year, state_label=state_label, sum_name=portal.office,
                                        records=(r for r in store.current(year, with_data=True)
                                                 if r.status in USABLE + (INVALID,)),
                                        texts=agency_texts(store, year, names))
            return f"汇总表-{year}.xlsx", path.read_bytes(), xlsx
    if kind == "draft":  # the same draft as collect's: the sum's figures, the agencies' texts under each item
        names = {r.code: r.name for r in build_overview(store, year).rows}
        bodies, _notes = consolidated_draft(store, spec, year, ("docx",), names=names, sum_name=portal.office)
        if not bodies:
            raise PortalError("还没有通过校验的报送，无法生成汇总报告草稿", 409)
        return (f"年报草稿-{safe_file_part(portal.office)}-{year}.docx", bodies["docx"],
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    if kind == "chasing":
        rows, _ = dashboard(portal, store)
        out = []
        for r in rows:
            if r.state in ("ok", "warning") and r.review != REVIEW_RETURNED and not r.confirm:
                continue
            what = {"missing": "尚未报送", "invalid": f"有 {r.errors} 项错误，需修改后重新上传",
                    "unreadable": "文件无法读取，请重新上传", "warning": "已报送"}.get(r.state, r.state_label)
            if r.review == REVIEW_RETURNED:
                what = "已退回修改，请按审核意见修改后重新上传"
            if r.confirm:
                what = "上传了其他单位的工作簿，待确认"
            out.append((r.code, r.name, r.contact, r.state_label, what,
                        f"{r.name}：您单位{spec.cover_title_for(year)}{what}"
                        + (f"，请于{portal.deadline}前" if portal.deadline else "，请尽快")
                        + "通过专用链接处理。"))
        return (f"催报名单-{year}.csv", csv_bytes(("代码", "名称", "联系人", "状态", "情况", "提醒文字"), out),
                "text/csv; charset=utf-8")
    raise PortalError("没有这种下载", 404)


def today() -> str:
    return _dt.date.today().isoformat()


