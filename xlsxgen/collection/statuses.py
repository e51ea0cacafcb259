"""Submission statuses and review words: one vocabulary, shown the same everywhere."""

from __future__ import annotations

ACCEPTED = "accepted"  # read, no errors, no warnings



WARNING = "warning"  # read, warnings only



INVALID = "invalid"  # read, errors



UNREADABLE = "unreadable"  # not a usable workbook



REJECTED = "rejected"  # readable but not for this collection (year, agency, format)



STATUSES = (ACCEPTED, WARNING, INVALID, UNREADABLE, REJECTED)



USABLE = (ACCEPTED, WARNING)  # summed and used as last year's data


# overview states, in display order
STATE_LABELS = {
    "ok": "已提交且通过",
    "warning": "仅有警告",
    "invalid": "有错误",
    "unreadable": "无法读取",
    "missing": "未提交",
}



STATE_OF_STATUS = {ACCEPTED: "ok", WARNING: "warning", INVALID: "invalid", UNREADABLE: "unreadable"}



REJECT_WORDS = {"wrong_year": "年度不符", "wrong_format": "格式版本不符", "unknown_agency": "不在名单中",
                 "unreadable": "无法读取且无法识别单位"}
