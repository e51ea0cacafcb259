"""The collection store: schema versions and migrations, idempotency, history, concurrency."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from xlsxgen.collection.roster import parse_roster
from xlsxgen.collection.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError


def row(sha, code="001", status="accepted", received="2025-01-10T10:00:00", mtime="2025-01-09T10:00:00", **kw):
    d = dict(sha256=sha, year=2024, file_name=f"{sha}.xlsx", path=f"inbox/{sha}.xlsx", size=100, file_mtime=mtime,
             received_at=received, agency_code=code, agency_name="某局", data_year=2024, format_id="gov-info-2021",
             status=status, errors=1 if status == "invalid" else 0, warnings=0, findings="[]", data="{}")
    d.update(kw)
    return d


def test_new_store_has_current_schema(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as s:
        assert s.schema_version() == SCHEMA_VERSION
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.integrity_ok()


def test_old_store_is_migrated_forward(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for sql in MIGRATIONS[0][1]:
        conn.execute(sql)
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.execute("INSERT INTO submissions (sha256, year, file_name, path, size, received_at, agency_code, status) "
                 "VALUES ('aa', 2023, 'a.xlsx', 'a.xlsx', 1, '2024-01-01T00:00:00', '001', 'accepted')")
    conn.commit()
    conn.close()
    with Store.open(path) as s:
        assert s.schema_version() == SCHEMA_VERSION
        assert [r.sha256 for r in s.current(2023)] == ["aa"]  # old data survives, the new view works
        assert s.start_run(2024, "inbox") >= 1  # a table of a later migration


def test_newer_store_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="请升级 xlsxgen"):
        Store.open(path)


def test_foreign_database_and_bad_paths(tmp_path):
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="不是 xlsxgen 的收集库"):
        Store.open(other)
    (tmp_path / "text.sqlite").write_text("hello " * 100)
    with pytest.raises(StoreError, match="不是 SQLite 数据库"):
        Store.open(tmp_path / "text.sqlite")
    with pytest.raises(StoreError, match="不存在"):
        Store.open(tmp_path / "no" / "such" / "c.sqlite")
    with pytest.raises(StoreError, match="文件夹"):
        Store.open(tmp_path)
    with pytest.raises(StoreError, match="找不到收集库"):
        Store.open(tmp_path / "missing.sqlite", create=False)


def test_same_file_twice_is_stored_once(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as s:
        assert s.add_submissions([row("aa")]) == 1
        assert s.add_submissions([row("aa", received="2025-02-01T00:00:00")]) == 0
        assert s.has(2024, "aa")
        assert len(s.history("001")) == 1
        # the same bytes for another year is another submission
        assert s.add_submissions([row("aa", year=2025)]) == 1


def test_resubmission_becomes_current_and_history_keeps_every_version(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as s:
        s.add_submissions([row("v1", status="invalid", received="2025-01-10T10:00:00")])
        s.add_submissions([row("v2", status="accepted", received="2025-01-12T10:00:00")])
        s.add_submissions([row("v3", status="rejected", received="2025-01-13T10:00:00", reason="年度不符")])
        cur = list(s.current(2024))
        assert [(c.agency_code, c.sha256) for c in cur] == [("001", "v2")]  # rejected never becomes current
        assert [r.sha256 for r in s.history("001")] == ["v1", "v2", "v3"]
        s.add_submissions([row("v4", status="invalid", received="2025-01-20T10:00:00")])
        assert [c.sha256 for c in s.current(2024)] == ["v4"]  # the latest is current, even if worse
        assert s.latest_usable(2024, "001").sha256 == "v2"  # ... but last year's data is the latest accepted one
        assert len(s.history("001")) == 4


def test_within_one_run_the_newest_file_wins(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as s:
        s.add_submissions([row("new", mtime="2025-01-15T00:00:00"), row("old", mtime="2025-01-02T00:00:00")])
        assert [c.sha256 for c in s.current(2024)] == ["new"]


def test_roster_is_per_year_and_orders_current(tmp_path):
    r = parse_roster("代码,名称\n009,乙局\n001,甲局\n".encode())
    with Store.open(tmp_path / "c.sqlite") as s:
        s.save_roster(2024, r)
        assert [a.code for a in s.roster(2024)] == ["009", "001"]
        assert s.roster(2023) is None
        s.add_submissions([row("a", code="001"), row("b", code="009")])
        assert [c.agency_code for c in s.current(2024)] == ["009", "001"]


def test_readmit_after_roster_change(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as s:
        s.add_submissions([row("x", code="777", status="rejected", reason_code="unknown_agency",
                               checked_status="accepted", reason="不在名单中")])
        assert list(s.current(2024)) == []
        assert s.readmit(2024, ["777"]) == 1
        assert [(c.agency_code, c.status) for c in s.current(2024)] == [("777", "accepted")]


def _writer(path, prefix, n, shared):
    with Store.open(path) as s:
        for i in range(n):
            rows = [row(f"{prefix}{i}", code=f"{prefix}{i % 7}")]
            if i % 5 == 0:
                rows.append(row(f"shared{shared + i}", code="S"))
            s.add_submissions(rows)


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "c.sqlite"
    Store.open(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, p, 120, 0)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store.open(path) as s:
        assert s.integrity_ok()
        shas = [r.sha256 for r in s.all_records(2024)]
        assert len(shas) == len(set(shas))  # the shared files are stored once
        assert {f"a{i}" for i in range(120)} | {f"b{i}" for i in range(120)} <= set(shas)
        assert sum(1 for x in shas if x.startswith("shared")) == 24


def test_an_aborted_transaction_leaves_nothing(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as s:
        bad = row("b")
        bad["status"] = "nonsense"  # violates the CHECK constraint
        with pytest.raises(sqlite3.IntegrityError):
            s.add_submissions([row("a"), bad])
        assert list(s.all_records()) == []
        assert s.add_submissions([row("a")]) == 1
