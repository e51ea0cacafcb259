"""The collection store on SQLite and PostgreSQL: schema versions and migrations, idempotency, history,
concurrency. Every test taking ``db`` runs on both databases (see conftest.py)."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from xlsxgen.collection import schema
from xlsxgen.collection.roster import parse_roster
from xlsxgen.collection.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError, parse_target

FIXTURES = Path(__file__).parent / "fixtures"


def row(sha, code="001", status="accepted", received="2025-01-10T10:00:00", mtime="2025-01-09T10:00:00", **kw):
    d = dict(sha256=sha, year=2024, file_name=f"{sha}.xlsx", path=f"inbox/{sha}.xlsx", size=100, file_mtime=mtime,
             received_at=received, agency_code=code, agency_name="某局", data_year=2024, format_id="gov-info-2021",
             status=status, errors=1 if status == "invalid" else 0, warnings=0, findings="[]", data="{}")
    d.update(kw)
    return d


def test_new_store_has_current_schema(db):
    with Store.open(db) as s:
        assert s.schema_version() == SCHEMA_VERSION
        assert s.integrity_ok()
        if s.dialect == "sqlite":
            assert s.conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_tables_match_the_migrated_schema(db):
    """The Core tables the queries use and the tables the migrations make have the same columns."""
    with Store.open(db) as s:
        insp = sa.inspect(s.conn)
        for name, table in schema.metadata.tables.items():
            assert [c["name"] for c in insp.get_columns(name)] == [c.name for c in table.columns], name
        assert [c["name"] for c in insp.get_columns("current_submissions")] == [
            c.name for c in schema.current_submissions.columns]


def test_targets():
    assert parse_target("收集库.sqlite").path == Path("收集库.sqlite")
    assert parse_target("sqlite:///a/b.sqlite").path == Path("a/b.sqlite")
    t = parse_target("postgresql://u:secret@h:5433/d")
    assert t.dialect == "postgresql" and str(t.url.drivername) == "postgresql+psycopg"
    assert "secret" not in t.display and "secret" in t.text
    for bad in ("mysql://u@h/d", "postgresql+asyncpg://u@h/d", ""):
        with pytest.raises(StoreError):
            parse_target(bad)


def _v2_on(db) -> None:
    """A store of schema version 2 (the SQLite-only releases), made by the DDL of that release."""
    with Store._connect(parse_target(db), readonly=False) as s:
        def go(conn):
            conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            for _version, steps in MIGRATIONS[:2]:
                for sql in schema.statements(s.dialect, steps):
                    conn.exec_driver_sql(sql)
            conn.exec_driver_sql("INSERT INTO schema_version (version) VALUES (2)")
        s._write(go)


def test_a_version_2_store_is_migrated_forward(db):
    _v2_on(db)
    with Store.open(db) as s:
        assert s.schema_version() == 2 + len(MIGRATIONS) - 2 == SCHEMA_VERSION
        s.add_submissions([row("aa")])
        assert [r.sha256 for r in s.current(2024)] == ["aa"]


def _dump(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("agencies", "runs", "submissions", "current_submissions")}
    finally:
        conn.close()


def test_store_of_the_current_release_migrates_without_loss(tmp_path):
    """tests/fixtures/store-v2-61288bb.sqlite: `xlsxgen demo` at commit 61288bb (the last SQLite-only release)."""
    path = tmp_path / "收集库.sqlite"
    shutil.copy(FIXTURES / "store-v2-61288bb.sqlite", path)
    before = _dump(path)
    assert sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchall() == [(2,)]
    with Store.open(path, create=False) as s:
        assert s.schema_version() == SCHEMA_VERSION
        assert len(s.roster(2023)) == 7 and len(s.roster(2024)) == 7
        cur = list(s.current(2023, with_data=True))
        assert [(r.agency_code, r.status) for r in cur] == [
            ("130500-001", "accepted"), ("130500-101", "accepted"), ("130500-102", "accepted"),
            ("130500-103", "invalid"), ("130500-104", "invalid"), ("130500-105", "unreadable")]
        assert json.loads(cur[0].data_json)["agency"]["code"] == "130500-001" and cur[3].findings
        assert s.latest_usable(2023, "130500-001").id == cur[0].id
        s.add_submissions([row("new", year=2023, code="130500-103")])
    after = _dump(path)
    # v4 adds the roster's contact columns (empty for an old roster)
    assert [r[:6] for r in after["agencies"]] == before["agencies"] and after["runs"] == before["runs"]
    assert all(r[6:] == ("", "", "") for r in after["agencies"])
    assert after["submissions"][: len(before["submissions"])] == before["submissions"]  # nothing lost or changed
    assert len(after["submissions"]) == len(before["submissions"]) + 1


def test_newer_store_is_refused(db):
    Store.open(db).close()
    with Store.open(db) as s:
        s._write(lambda c: c.execute(sa.update(schema.schema_version).values(version=SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match="请升级 xlsxgen"):
        Store.open(db)


def test_foreign_database_is_refused(db):
    with Store._connect(parse_target(db), readonly=False) as s:
        s._write(lambda c: c.exec_driver_sql("CREATE TABLE t (x INTEGER)"))
    with pytest.raises(StoreError, match="不是 xlsxgen 的收集库"):
        Store.open(db)


def test_bad_paths(tmp_path):
    (tmp_path / "text.sqlite").write_text("hello " * 100)
    with pytest.raises(StoreError, match="不是 SQLite 数据库"):
        Store.open(tmp_path / "text.sqlite")
    with pytest.raises(StoreError, match="不存在"):
        Store.open(tmp_path / "no" / "such" / "c.sqlite")
    with pytest.raises(StoreError, match="文件夹"):
        Store.open(tmp_path)
    with pytest.raises(StoreError, match="找不到收集库"):
        Store.open(tmp_path / "missing.sqlite", create=False)


def test_unreachable_server_is_one_line():
    with pytest.raises(StoreError, match="无法连接数据库服务器"):
        Store.open("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")


def test_same_file_twice_is_stored_once(db):
    with Store.open(db) as s:
        assert s.add_submissions([row("aa")]) == 1
        assert s.add_submissions([row("aa", received="2025-02-01T00:00:00")]) == 0
        assert s.has(2024, "aa")
        assert len(s.history("001")) == 1
        # the same bytes for another year is another submission
        assert s.add_submissions([row("aa", year=2025)]) == 1
        assert s.add_submissions([row("aa"), row("bb"), row("cc")]) == 2


def test_an_upload_is_inserted_and_its_page_read_in_one_go(db):
    """add_submission_viewed: the id and the agency's versions (the new one with its findings), review
    row and notes, as agency_view reads them; nothing inserted and no view for a file stored already."""
    with Store.open(db) as s:
        s.add_submissions([row("a1", findings='[{"rule":"r1"}]')])
        first = s.history("001", 2024)[0].id
        sid, view = s.add_submission_viewed(row("a2", received="2025-01-11T10:00:00", findings='[{"rule":"r2"}]'))
        assert sid is not None and sid != first
        versions, review, notes = view
        assert [r.id for r in versions] == [first, sid] and review is None and notes == {}
        assert versions[-1].findings == [{"rule": "r2"}] and versions[0].findings == []  # only the new one's
        assert view == s.agency_view(2024, "001", findings_of=sid)
        assert s.add_submission_viewed(row("a2", received="2025-01-12T10:00:00")) == (None, None)
        assert len(s.history("001", 2024)) == 2


def test_resubmission_becomes_current_and_history_keeps_every_version(db):
    with Store.open(db) as s:
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
        assert s.counts(2024) == {"invalid": 2, "accepted": 1, "rejected": 1}
        assert s.submission_counts(2024) == {"001": 4}
        assert [r.sha256 for r in s.unattributed(2024)] == ["v3"]
        assert s.years() == [2024]
        assert s.codes_named("某局") == ["001"]


def test_within_one_run_the_newest_file_wins(db):
    with Store.open(db) as s:
        s.add_submissions([row("new", mtime="2025-01-15T00:00:00"), row("old", mtime="2025-01-02T00:00:00")])
        assert [c.sha256 for c in s.current(2024)] == ["new"]


def test_roster_is_per_year_and_orders_current(db):
    r = parse_roster("代码,名称\n009,乙局\n001,甲局\n".encode())
    with Store.open(db) as s:
        s.save_roster(2024, r)
        assert [a.code for a in s.roster(2024)] == ["009", "001"]
        assert s.roster(2023) is None
        s.add_submissions([row("a", code="001"), row("b", code="009"), row("c", code="777")])
        assert [c.agency_code for c in s.current(2024)] == ["009", "001", "777"]
        assert [c.agency_code for c in s.current(2024, with_findings=False)] == ["009", "001", "777"]


def test_readmit_after_roster_change(db):
    with Store.open(db) as s:
        s.add_submissions([row("x", code="777", status="rejected", reason_code="unknown_agency",
                               checked_status="accepted", reason="不在名单中")])
        assert list(s.current(2024)) == []
        assert s.readmit(2024, ["777"]) == 1
        assert [(c.agency_code, c.status) for c in s.current(2024)] == [("777", "accepted")]


def test_runs(db):
    with Store.open(db) as s:
        rid = s.start_run(2024, "inbox")
        s.add_submissions([row("a", run_id=rid)])
        s.finish_run(rid, files_seen=1, imported=1, skipped=0)
        assert s.get(list(s.current(2024))[0].id).run_id == rid


def _writer(db, prefix, n, shared):
    with Store.open(db) as s:
        for i in range(n):
            rows = [row(f"{prefix}{i}", code=f"{prefix}{i % 7}")]
            if i % 5 == 0:
                rows.append(row(f"shared{shared + i}", code="S"))
            s.add_submissions(rows)


def test_two_processes_write_at_once(db):
    Store.open(db).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, p, 120, 0)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Store.open(db) as s:
        assert s.integrity_ok()
        shas = [r.sha256 for r in s.all_records(2024)]
        assert len(shas) == len(set(shas))  # the shared files are stored once
        assert {f"a{i}" for i in range(120)} | {f"b{i}" for i in range(120)} <= set(shas)
        assert sum(1 for x in shas if x.startswith("shared")) == 24


def test_an_aborted_transaction_leaves_nothing(db):
    with Store.open(db) as s:
        bad = row("b")
        bad["status"] = "nonsense"  # violates the CHECK constraint
        with pytest.raises(sa.exc.IntegrityError):
            s.add_submissions([row("a"), bad])
        assert list(s.all_records()) == []
        assert s.add_submissions([row("a")]) == 1


def test_readonly_view_cannot_write(db):
    with Store.open(db) as s:
        s.add_submissions([row("a")])
    with Store.open_readonly(db) as r:
        assert r.has(2024, "a") and r.usable_data(2024, "001") == {}
        with pytest.raises((sa.exc.DBAPIError, StoreError)):
            r.add_submissions([row("b")])
