"""Submission statuses and their words: one vocabulary, shown the same everywhere.

Two sets of values, each with its Chinese words here and nowhere else:

- the **status of a submission** (one received file), decided by the importer and the roster:
  ``accepted`` (read, no problem), ``warning``, ``invalid`` (errors), ``unreadable``, ``rejected``
  (readable, but not for this collection);
- the **state of an agency** in a collection (its current submission, or none): ``ok``, ``warning``,
  ``invalid``, ``unreadable``, ``missing``;
- the **review state of an agency** (what the office decided, on top of the automatic status):
  ``pending`` 待审核, ``accepted`` 已接受, ``returned`` 退回修改; and the reviewer's decision on a
  warning: ``accepted`` 接受, ``rejected`` 不接受.
"""

from __future__ import annotations

from xlsxgen import messages

ACCEPTED = "accepted"  # read, no errors, no warnings
WARNING = "warning"  # read, warnings only
INVALID = "invalid"  # read, errors
UNREADABLE = "unreadable"  # not a usable workbook
REJECTED = "rejected"  # readable but not for this collection (year, agency, format)
STATUSES = (ACCEPTED, WARNING, INVALID, UNREADABLE, REJECTED)
USABLE = (ACCEPTED, WARNING)  # summed and used as last year's data

# the words of a submission's status (history, collect summary)
STATUS_WORDS = {ACCEPTED: "通过", WARNING: "仅有警告", INVALID: "有错误", UNREADABLE: "无法读取", REJECTED: "拒收"}

# an agency's state in a collection, in display order
STATE_LABELS = {
    "ok": "已提交且通过",
    "warning": "仅有警告",
    "invalid": "有错误",
    "unreadable": "无法读取",
    "held": "单位不符，待确认",  # a file named for this agency holds another's workbook (or vice versa)
    "other_file": "文件类型不符",  # only files that are not workbooks (.xls, .doc, .pdf ...) arrived
    "missing": "未提交",
}
NOT_DONE = ("missing", "invalid", "unreadable", "held", "other_file")  # states an office chases (xlsxgen remind)

# held submissions: the file's name names one agency, the workbook another (or one agency twice in a run)
HELD_REASONS = ("agency_mismatch", "agency_twice")
STATE_OF_STATUS = {ACCEPTED: "ok", WARNING: "warning", INVALID: "invalid", UNREADABLE: "unreadable"}

# why a file was rejected (reason codes recorded by the intake)
REJECT_WORDS = {"wrong_year": "年度不符", "wrong_format": "格式版本不符", "unknown_agency": "不在名单中",
                "unreadable": "无法读取且无法识别单位", "agency_mismatch": "单位不符，待确认",
                "agency_twice": "同一单位两个文件，待确认"}

# review states of an agency and year (xlsxgen.collection.review)
REVIEW_PENDING = "pending"
REVIEW_ACCEPTED = "accepted"
REVIEW_RETURNED = "returned"
REVIEW_WORDS = {REVIEW_PENDING: "待审核", REVIEW_ACCEPTED: "已接受", REVIEW_RETURNED: "退回修改"}
NO_REVIEW_WORD = "—"  # nothing to review (no submission)

# a reviewer's decision on a warning
DECISION_ACCEPTED = "accepted"
DECISION_REJECTED = "rejected"
DECISION_WORDS = {DECISION_ACCEPTED: "接受", DECISION_REJECTED: "不接受"}

# the actions of the audit log
ACTION_WORDS = {"accept": "接受", "return": "退回修改", "reopen": "重新打开", "explain": "说明警告",
                "decide": "决定警告", "confirm": "确认归属"}


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def severity_word(severity: str | None) -> str:
    return messages.SEVERITY.get(severity or "", severity or "")


def review_word(state: str | None) -> str:
    return REVIEW_WORDS.get(state or "", NO_REVIEW_WORD)


def decision_word(decision: str | None) -> str:
    return DECISION_WORDS.get(decision or "", "未决定")
