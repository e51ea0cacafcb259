"""The review workflow as the portal sees it: states, accept, return, explanations, the audit log.

One narrow interface (the functions below). When the review workflow of issue 13
(``xlsxgen.collection.review``) is installed it is meant to back this module; until
then a minimal implementation on the store's portal tables does: an agency's state
follows from its current submission and the latest decision on it.

- 待审核 (``pending``): the current submission is usable and no decision is on it;
- 已接受 (``accepted``): a reviewer accepted the current submission;
- 退回修改 (``returned``): a reviewer sent the current submission back with a comment.

A submission with errors cannot be accepted; a return needs a comment. Every
action goes to the append-only audit log (who, when, what, comment, before/after).
"""

from __future__ import annotations

import hashlib
import json

from xlsxgen.collection.statuses import USABLE
from xlsxgen.errors import XlsxgenError

PENDING, ACCEPTED, RETURNED = "pending", "accepted", "returned"
REVIEW_WORDS = {PENDING: "待审核", ACCEPTED: "已接受", RETURNED: "退回修改"}
ACTION_WORDS = {"accept": "接受", "return": "退回修改", "explain": "填写说明", "link": "发放链接",
                "revoke": "停用链接", "upload": "上传"}


class ReviewError(XlsxgenError):
    """A review action is refused; the message says why (Chinese)."""


def finding_key(f: dict) -> str:
    """A fingerprint of a finding (rule, place, value): a resubmission with the same finding keeps its explanation."""
    parts = [f.get(k) for k in ("rule", "table", "row", "column", "sheet", "cell", "actual")]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()[:20]


def state_of(record, last_event: dict | None) -> str | None:
    """The review state of an agency whose current submission is ``record`` (None: nothing to review)."""
    if record is None or record.status not in USABLE:
        return None
    if last_event and last_event.get("submission_id") == record.id and last_event.get("state_after") in (
            ACCEPTED, RETURNED):
        return last_event["state_after"]
    return PENDING


def states(store, year: int, current: dict) -> dict[str, tuple[str | None, dict | None]]:
    """agency code -> (state, last decision) for the current records ``current`` (code -> record)."""
    last = store.last_review_events(year)
    return {code: (state_of(rec, last.get(code)), last.get(code)) for code, rec in current.items()}


def _current(store, year: int, code: str):
    for rec in store.history(code, year)[::-1]:
        if rec.status != "rejected":
            return rec
    return None


def accept(store, year: int, code: str, *, by: str, comment: str = "") -> str:
    rec = _current(store, year, code)
    if rec is None:
        raise ReviewError(f"单位 {code} 还没有可审核的报送，不能接受")
    if rec.status not in USABLE:
        raise ReviewError(f"单位 {code} 当前报送有错误或无法读取，不能接受；请退回修改")
    events = store.review_events(year, code)
    before = state_of(rec, events[-1] if events else None)
    if before == ACCEPTED:
        return ACCEPTED
    store.add_review_event(year=year, code=code, submission_id=rec.id, actor=by, action="accept",
                           comment=comment.strip(), before=before, after=ACCEPTED)
    return ACCEPTED


def return_(store, year: int, code: str, *, by: str, comment: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise ReviewError("退回修改必须填写意见，说明需要修改什么")
    rec = _current(store, year, code)
    if rec is None:
        raise ReviewError(f"单位 {code} 还没有报送，无法退回")
    events = store.review_events(year, code)
    before = state_of(rec, events[-1] if events else None)
    store.add_review_event(year=year, code=code, submission_id=rec.id, actor=by, action="return", comment=comment,
                           before=before, after=RETURNED)
    return RETURNED


def explain(store, year: int, code: str, key: str, text: str, *, by: str) -> None:
    text = (text or "").strip()
    if len(text) > 2000:
        raise ReviewError("说明过长（最多 2000 字）")
    store.set_explanation(year, code, key, text)
    store.add_review_event(year=year, code=code, submission_id=None, actor=by, action="explain",
                           comment=text[:200])


def log(store, year: int, code: str, *, by: str, action: str, comment: str = "", submission_id=None) -> None:
    """Record a portal action (a link issued or revoked, an upload) in the audit log."""
    store.add_review_event(year=year, code=code, submission_id=submission_id, actor=by, action=action,
                           comment=comment)


def audit(store, year: int, code: str) -> list[dict]:
    return store.review_events(year, code)


def explanations(store, year: int, code: str) -> dict[str, str]:
    return store.explanations(year, code)
