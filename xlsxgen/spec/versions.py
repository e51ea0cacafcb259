"""Choosing a format version: by id, or the newest one whose years cover a reporting year."""

from __future__ import annotations

import datetime as _dt

from xlsxgen.errors import UsageError
from xlsxgen.resources import format_dirs
from xlsxgen.spec.model import available_formats, load_format


def resolve_format(format_id: str | None, year: int | None):
    """The spec for ``format_id``, or for ``year`` when no id is given."""
    if format_id:
        return load_format(format_id)
    specs = available_formats()
    if year is not None:
        covering = [s for s in specs if s.years[0] <= year <= s.years[1]]
        if covering:
            return max(covering, key=lambda s: s.years[0])
    return max(specs, key=lambda s: s.years[0])


def check_year(spec, year: int) -> None:
    """Refuse a year that is not a plausible reporting year for ``spec``."""
    this_year = _dt.date.today().year
    low, high = spec.years[0], min(spec.years[1], this_year + 1)
    if not (low <= year <= high):
        raise UsageError(
            f"年度 {year} 不是格式 {spec.id} 可用的报告年度（应在 {low}–{high} 之间）；"
            f"请检查 --year，或用 --format 选择其他格式（xlsxgen formats 可查看）"
        )


def format_of(format_id: str | None, default=None):
    """The installed format a piece of data says it is in (last year's data, say).

    ``default`` when the id is empty or is ``default``'s own; None when no installed
    format has that id (the caller says what it then skips).
    """
    if default is not None and format_id in (None, "", default.id):
        return default
    if not isinstance(format_id, str) or format_id not in format_dirs():
        return None
    return load_format(format_id)
