"""Confirming whose numbers a held submission holds (``xlsxgen confirm``).

A submission is held (status ``rejected``, reason ``agency_mismatch`` or
``agency_twice``) when its file or folder name names a roster agency other than
the one in the workbook, or when one agency's workbook came twice in one run
from differently named files. Nothing held is current or counted. Confirming
it for an agency makes it that agency's submission (with the status its checks
gave it); who and when are recorded in the submission's reason and in the
audit log (action ``confirm``).
"""

from __future__ import annotations

import hashlib
import os

from xlsxgen.collection.statuses import HELD_REASONS
from xlsxgen.errors import UsageError


def find_held(store, year: int, key: str):
    """The held submission ``key`` names: a submission number, a file (hashed), a stored path or file name."""
    recs = []
    if key.isdigit():
        rec = store.get(int(key))
        recs = [rec] if rec is not None and rec.year == year else []
    if not recs and os.path.isfile(key):
        h = hashlib.sha256()
        with open(key, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        recs = store.find(year, h.hexdigest())
    if not recs:
        from xlsxgen.files import display_path

        shown = display_path(key)[0]
        recs = store.find(year, shown) or store.find(year, os.path.basename(shown))
    if not recs:
        raise UsageError(f"{year}年度的收集库中找不到“{key}”（可以给出报送编号、文件路径或文件名；编号见 xlsxgen status）")
    held = [r for r in recs if r.reason_code in HELD_REASONS]
    if not held:
        r = recs[0]
        raise UsageError(f"报送 {r.id}（{r.path or r.file_name}）不需要确认：它没有因单位不符而暂缓计入")
    if len({r.id for r in held}) > 1:
        ids = "、".join(str(r.id) for r in held)
        raise UsageError(f"“{key}”对应多份待确认的报送（编号 {ids}），请给出编号")
    return held[0]


def confirm(store, year: int, key: str, agency_code: str, *, by: str, note: str = ""):
    """Make the held submission ``key`` agency ``agency_code``'s; returns the updated Record."""
    rec = find_held(store, year, key)
    roster = store.roster(year)
    name = rec.agency_name or agency_code
    if roster is not None:
        agency = roster.get(agency_code) or roster.match_code(agency_code)
        if agency is None:
            raise UsageError(f"单位代码 {agency_code} 不在{year}年度名单中")
        agency_code, name = agency.code, agency.name
    return store.confirm(rec.id, agency_code=agency_code, agency_name=name, by=by, note=note)
