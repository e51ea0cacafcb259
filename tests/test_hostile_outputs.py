"""Issue 11: writers safe against anything a store may hold; CSV injection; render onto its source; long
agency names; file modes; _xHHHH_ escapes; NUL in the roster."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from xlsxgen.collection.intake import collect
from xlsxgen.workbook.writer import build_workbook

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2023


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=cwd, timeout=300)


def _poison(db: Path, big) -> None:
    """Put ``big`` into the first input of every stored submission, as an older release could have."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT id, data FROM submissions WHERE data IS NOT NULL").fetchall()
    assert rows
    for sid, data in rows:
        doc = json.loads(data)
        table = next(iter(doc["tables"].values()))
        row = next(iter(table.values()))
        key = next(iter(row))
        text = json.dumps(doc, ensure_ascii=False)
        marker = json.dumps({key: row[key]}, ensure_ascii=False)[1:-1]
        text = text.replace(marker, f'"{key}": {big}', 1)
        con.execute("UPDATE submissions SET data = ? WHERE id = ?", (text, sid))
    con.commit()
    con.close()


@pytest.mark.parametrize("big", ["9" * 401, "1e308", "12345678901234567890"])
def test_a_store_poisoned_by_an_older_release_crashes_no_output(tmp_path, spec2021, seed_submission, big):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for code in ("1", "2"):
        (inbox / f"{code}.xlsx").write_bytes(build_workbook(spec2021, year=YEAR, agency_name=f"局{code}",
                                                            agency_code=code, data=seed_submission))
    db = tmp_path / "c.sqlite"
    collect(inbox, db=db, year=YEAR, show_progress=False)
    _poison(db, big)
    out = tmp_path / "out"
    r = run_cli("status", "--db", str(db), "--year", str(YEAR), "--out-dir", str(out))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    (inbox / "3.xlsx").write_bytes(build_workbook(spec2021, year=YEAR, agency_name="局3", agency_code="3",
                                                  data=seed_submission))
    r = run_cli("collect", str(inbox), "--db", str(db), "--year", str(YEAR), "--out-dir", str(out), "--quiet")
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    # the poisoned agencies are listed but not summed; the sum is of the clean one only
    from importer import read_workbook

    sums = [p for p in out.iterdir() if p.name.startswith("汇总-")]
    assert sums
    res = read_workbook(sums[0])
    assert res.status != "unreadable"
    assert res.submission.values == read_workbook(inbox / "3.xlsx").submission.values
    # next year's generate with this store as last year's data: no crash, no prefill from poisoned data
    roster = tmp_path / "r.csv"
    roster.write_text("代码,名称\n1,局1\n", encoding="utf-8")
    r = run_cli("generate", "--roster", str(roster), "--year", str(YEAR + 1), "--out-dir", str(tmp_path / "d"),
                "--db", str(db))
    assert r.returncode == 0, r.stderr


def test_format_number_takes_any_value():
    from xlsxgen.spec.rules import format_number

    assert format_number(10**400).endswith("位）")
    assert format_number(float("inf")) == "inf"
    assert format_number(12) == "12"
