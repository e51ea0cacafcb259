"""Shared by the portal tests: a store with a roster, workbooks filled right and wrong, a logged-in client."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import EXAMPLES

YEAR = 2023
ROSTER = [("W01", "测试市甲局"), ("W02", "测试市乙局"), ("W03", "测试市丙局"), ("W04", "=测试市丁局")]
PASSWORD = "correct horse battery"


def spec():
    from xlsxgen.spec import load_format

    return load_format("gov-info-2021")


def seed():
    from xlsxgen.data import from_canonical_trusted

    return from_canonical_trusted(spec(), json.loads((EXAMPLES / "xingtai-2023.json").read_text(encoding="utf-8")))


def make_store(root: Path, roster=ROSTER, year: int = YEAR, db=None) -> str:
    """A store with the roster of ``year``, a reviewer, a viewer and an admin."""
    from xlsxgen.collection.roster import Agency, Roster
    from xlsxgen.collection.store import Store
    from xlsxgen.web.security import hash_password

    db = db or str(root / "portal.sqlite")
    with Store.open(db) as st:
        st.save_roster(year, Roster([Agency(c, n) for c, n in roster]))
        h = hash_password(PASSWORD)
        for name, role in (("审核员", "reviewer"), ("查看员", "viewer"), ("管理员", "admin")):
            st.add_user(name, role, h)
    return db


def workbook(code: str, name: str, kind: str = "good", year: int = YEAR) -> bytes:
    """A filled workbook: ``good`` (passes), ``bad`` (a balance error), ``warn`` (a cross-year warning only)."""
    from xlsxgen.data import Submission
    from xlsxgen.demo import break_balance, simulate
    from xlsxgen.workbook.writer import build_workbook

    sp = spec()
    sub = simulate(sp, seed(), year=year, agency_name=name, agency_code=code, seed=code, factor=0.3)
    previous = None
    if kind == "bad":
        break_balance(sp, sub.values)
    elif kind == "warn":
        from xlsxgen.collection.distribute import prefill_pairs
        from xlsxgen.spec.rules import recompute_totals

        values = recompute_totals(sp, dict(sub.values))
        prev_values = {prev: values.get(this, 0) for this, prev in prefill_pairs(sp)}
        key = ("active_disclosure", "rules", "in_force")
        prev_values[key] = 1000 + int(values.get(key, 0) or 0)
        previous = Submission(sp.id, year=year - 1, agency_name=name, agency_code=code, values=prev_values)
    return build_workbook(sp, year=year, agency_name=name, agency_code=code, data=sub, previous=previous)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
