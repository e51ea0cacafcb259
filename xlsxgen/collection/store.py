"""The collection store: every file ever received, in an SQLite database.

Nothing is deleted or overwritten. A file is identified by the SHA-256 of its
bytes: the same file again (per reporting year) is recognised and changes
nothing; a different file from the same agency is a resubmission and becomes
the agency's *current* submission while the earlier ones stay in the history.

Schema (version :data:`SCHEMA_VERSION`; see docs/collect.md)::

    schema_version(version)                      one row
    agencies(year, code, name, parent, kind, position)         the roster of a year
    runs(id, started_at, finished_at, year, inbox, pid, files_seen, imported, skipped)
    submissions(id, sha256, year, file_name, path, size, file_mtime, received_at,
                agency_code, agency_name, data_year, format_id,
                status, reason_code, reason, checked_status,
                errors, warnings, findings, data, run_id)   UNIQUE(year, sha256)
    view current_submissions                     latest non-rejected per (year, agency)

Concurrency: WAL journal, a busy timeout, and every write in a short
``BEGIN IMMEDIATE`` transaction; ``ON CONFLICT (year, sha256) DO NOTHING`` makes
two runs importing the same file at once store it once. An interrupted run
leaves whole transactions only; the next run imports what is missing.

Schema changes are forward migrations in :data:`MIGRATIONS`; opening an old
store migrates it, opening a store written by a newer release is refused.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from xlsxgen.collection.roster import Agency, Roster
from xlsxgen.collection.statuses import STATUSES, USABLE
from xlsxgen.errors import XlsxgenError

BUSY_TIMEOUT_MS = 120_000

MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE agencies (
            year INTEGER NOT NULL,
            code TEXT NOT NULL,
            name TEXT NOT NULL,
            parent TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT '',
            position INTEGER NOT NULL,
            PRIMARY KEY (year, code))""",
        """CREATE TABLE submissions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            sha256 TEXT NOT NULL,
            year INTEGER NOT NULL,
            file_name TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            file_mtime TEXT NOT NULL DEFAULT '',
            received_at TEXT NOT NULL,
            agency_code TEXT,
            agency_name TEXT,
            data_year INTEGER,
            format_id TEXT,
            status TEXT NOT NULL CHECK (status IN ('accepted','warning','invalid','unreadable','rejected')),
            reason_code TEXT,
            reason TEXT,
            checked_status TEXT,
            errors INTEGER NOT NULL DEFAULT 0,
            warnings INTEGER NOT NULL DEFAULT 0,
            findings TEXT NOT NULL DEFAULT '[]',
            data TEXT,
            UNIQUE (year, sha256))""",
        "CREATE INDEX submissions_agency ON submissions (year, agency_code)",
    ]),
    (2, [
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            year INTEGER NOT NULL,
            inbox TEXT NOT NULL,
            pid INTEGER,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            files_seen INTEGER NOT NULL DEFAULT 0,
            imported INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0)""",
        "ALTER TABLE submissions ADD COLUMN run_id INTEGER REFERENCES runs(id)",
        "CREATE INDEX submissions_code ON submissions (agency_code, year)",
        """CREATE VIEW current_submissions AS
            SELECT * FROM (
                SELECT s.*, ROW_NUMBER() OVER (
                    PARTITION BY s.year, s.agency_code
                    ORDER BY s.received_at DESC, s.file_mtime DESC, s.id DESC) AS rank_in_agency
                FROM submissions s
                WHERE s.status != 'rejected' AND s.agency_code IS NOT NULL AND s.agency_code != '')
            WHERE rank_in_agency = 1""",
    ]),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]

_COLUMNS = ("id", "sha256", "year", "file_name", "path", "size", "file_mtime", "received_at", "agency_code",
            "agency_name", "data_year", "format_id", "status", "reason_code", "reason", "checked_status",
            "errors", "warnings", "findings", "data", "run_id")
_INSERT_COLUMNS = _COLUMNS[1:]


class StoreError(XlsxgenError):
    """The store cannot be opened or written."""


@dataclass(slots=True)
class Record:
    """One stored submission (one received file)."""

    id: int
    sha256: str
    year: int
    file_name: str
    path: str
    size: int
    file_mtime: str
    received_at: str
    agency_code: str | None
    agency_name: str | None
    data_year: int | None
    format_id: str | None
    status: str
    reason_code: str | None
    reason: str | None
    checked_status: str | None
    errors: int
    warnings: int
    findings_json: str
    data_json: str | None
    run_id: int | None

    @property
    def findings(self) -> list[dict]:
        return json.loads(self.findings_json or "[]")

    @property
    def usable(self) -> bool:
        return self.status in USABLE


def now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="microseconds")


def _record(row) -> Record:
    return Record(*row[: len(_COLUMNS)])


class Store:
    """An open collection store. Use as a context manager or call :meth:`close`."""

    def __init__(self, conn: sqlite3.Connection, path: str):
        self.conn = conn
        self.path = path

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path, *, create: bool = True) -> Store:
        if "://" in str(path):
            raise StoreError(f"收集库 {path}：目前只支持 SQLite 数据库文件（例如 --db 收集库.sqlite），不支持数据库服务器地址")
        p = Path(path)
        if p.is_dir():
            raise StoreError(f"收集库 {p} 是一个文件夹；请用 --db 指定一个文件，例如 {p / '收集库.sqlite'}")
        if not p.exists():
            if not create:
                raise StoreError(f"找不到收集库 {p}（请检查 --db；收集库由 xlsxgen collect 或 generate --db 创建）")
            if not p.parent.is_dir():
                raise StoreError(f"无法创建收集库 {p}：文件夹 {p.parent} 不存在")
            if not os.access(p.parent, os.W_OK):
                raise StoreError(f"无法创建收集库 {p}：没有文件夹 {p.parent} 的写权限")
        elif not os.access(p, os.R_OK):
            raise StoreError(f"无法读取收集库 {p}：没有读权限")
        try:
            conn = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = " + ("NORMAL" if str(mode).lower() == "wal" else "FULL"))
            store = cls(conn, str(p))
            store._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"无法打开收集库 {p}：{_db_reason(e)}") from None
        return store

    @classmethod
    def open_readonly(cls, path) -> Store:
        """A read-only view of an existing store (worker processes read last year's data through it)."""
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only = 1")
        except sqlite3.DatabaseError as e:
            raise StoreError(f"无法打开收集库 {path}：{_db_reason(e)}") from None
        return cls(conn, str(path))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def schema_version(self) -> int:
        return _version(self.conn)

    def _migrate(self) -> None:
        conn = self.conn
        if _version(conn) == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = _version(conn)  # re-read under the write lock: another process may have migrated
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"收集库 {self.path} 的版本（{current}）比本程序支持的（{SCHEMA_VERSION}）新；请升级 xlsxgen 后再打开"
                )
            if current == 0 and conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT IN ('schema_version','sqlite_sequence')"
            ).fetchone()[0]:
                raise StoreError(f"{self.path} 不是 xlsxgen 的收集库（其中已有其他数据表）；请换一个文件名")
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for sql in statements:
                    conn.execute(sql)
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ writing
    def _write(self, fn):
        """Run ``fn(conn)`` in one ``BEGIN IMMEDIATE`` transaction."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise StoreError(f"收集库 {self.path} 暂时无法写入：{_db_reason(e)}") from None
        try:
            result = fn(conn)
            conn.execute("COMMIT")
            return result
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise

    def save_roster(self, year: int, roster) -> None:
        """Record ``roster`` as the roster of ``year`` (replacing an earlier roster of that year)."""

        def go(conn):
            conn.execute("DELETE FROM agencies WHERE year = ?", (year,))
            conn.executemany(
                "INSERT INTO agencies (year, code, name, parent, kind, position) VALUES (?, ?, ?, ?, ?, ?)",
                [(year, a.code, a.name, a.parent, a.kind, i) for i, a in enumerate(roster)],
            )

        self._write(go)

    def start_run(self, year: int, inbox: str) -> int:
        return self._write(lambda c: c.execute(
            "INSERT INTO runs (year, inbox, pid, started_at) VALUES (?, ?, ?, ?)",
            (year, inbox, os.getpid(), now_iso())).lastrowid)

    def finish_run(self, run_id: int, *, files_seen: int, imported: int, skipped: int) -> None:
        self._write(lambda c: c.execute(
            "UPDATE runs SET finished_at = ?, files_seen = ?, imported = ?, skipped = ? WHERE id = ?",
            (now_iso(), files_seen, imported, skipped, run_id)))

    def add_submissions(self, rows: list[dict]) -> int:
        """Insert received files (dicts with the column names); return how many were new."""
        if not rows:
            return 0
        # only the (year, sha256) conflict is ignored; any other constraint violation aborts the batch
        sql = (f"INSERT INTO submissions ({', '.join(_INSERT_COLUMNS)}) "
               f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)}) ON CONFLICT (year, sha256) DO NOTHING")

        def go(conn):
            before = conn.total_changes
            conn.executemany(sql, [tuple(r.get(c) if c not in ("findings",) else r.get(c) or "[]"
                                         for c in _INSERT_COLUMNS) for r in rows])
            return conn.total_changes - before

        return self._write(go)

    def readmit(self, year: int, codes, format_id: str | None = None) -> int:
        """Admit files once rejected for a reason this run no longer has.

        A file rejected because its agency was not in the roster is admitted once
        the roster has it (``codes``; None keeps the roster check out); one rejected
        for its format version is admitted when the run's format (``format_id``) is
        the file's own. Both conditions must hold for either kind of rejection.
        """
        codes = None if codes is None else set(codes)

        def go(conn):
            rows = conn.execute(
                "SELECT id, agency_code, checked_status, format_id, reason_code FROM submissions "
                "WHERE year = ? AND status = 'rejected' AND reason_code IN ('unknown_agency', 'wrong_format')",
                (year,)).fetchall()
            n = 0
            for sid, code, checked, fmt, reason in rows:
                if checked not in STATUSES:
                    continue
                if reason == "wrong_format" and (format_id is None or fmt != format_id):
                    continue
                if codes is not None and code not in codes:
                    continue
                conn.execute("UPDATE submissions SET status = ?, reason_code = NULL, reason = NULL WHERE id = ?",
                             (checked, sid))
                n += 1
            return n

        return self._write(go)

    # ------------------------------------------------------------------ reading
    def has(self, year: int, sha256: str) -> bool:
        return self.conn.execute("SELECT 1 FROM submissions WHERE year = ? AND sha256 = ?",
                                 (year, sha256)).fetchone() is not None

    def roster(self, year: int):
        """The roster recorded for ``year``, or None."""
        rows = self.conn.execute("SELECT code, name, parent, kind FROM agencies WHERE year = ? ORDER BY position",
                                 (year,)).fetchall()
        if not rows:
            return None
        return Roster([Agency(c, n, p, k) for c, n, p, k in rows], source=f"{self.path}（{year}年度名单）")

    def years(self) -> list[int]:
        return [r[0] for r in self.conn.execute(
            "SELECT year FROM submissions UNION SELECT year FROM agencies ORDER BY 1")]

    def current(self, year: int, *, with_data: bool = False, with_findings: bool = True):
        """Yield the current submission of each agency of ``year``, in roster order (streamed)."""
        skip = set() if with_data else {"data"}
        if not with_findings:
            skip.add("findings")
        cols = ", ".join(f"c.{c}" if c not in skip else ("'[]'" if c == "findings" else "NULL") for c in _COLUMNS)
        yield from (_record(r) for r in self.conn.execute(
            f"SELECT {cols} FROM current_submissions c "
            f"LEFT JOIN agencies a ON a.year = c.year AND a.code = c.agency_code "
            f"WHERE c.year = ? ORDER BY a.position IS NULL, a.position, c.agency_code", (year,)))

    def latest_usable(self, year: int, agency_code: str) -> Record | None:
        """The latest accepted (or warnings-only) submission of an agency in ``year``."""
        row = self.conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM submissions WHERE year = ? AND agency_code = ? "
            f"AND status IN ('accepted', 'warning') ORDER BY received_at DESC, file_mtime DESC, id DESC LIMIT 1",
            (year, agency_code)).fetchone()
        return _record(row) if row else None

    def usable_data(self, year: int, agency_code: str) -> dict | None:
        """The canonical data of the agency's latest usable submission of ``year`` (parsed), or None."""
        row = self.conn.execute(
            "SELECT data FROM submissions WHERE year = ? AND agency_code = ? AND status IN ('accepted','warning') "
            "AND data IS NOT NULL ORDER BY received_at DESC, file_mtime DESC, id DESC LIMIT 1",
            (year, agency_code)).fetchone()
        return json.loads(row[0]) if row else None

    def codes_named(self, name: str) -> list[str]:
        """Agency codes recorded under the full name ``name`` (in submissions or rosters)."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT agency_code FROM submissions WHERE agency_name = ? AND agency_code IS NOT NULL "
            "UNION SELECT DISTINCT code FROM agencies WHERE name = ?", (name, name)).fetchall()]

    def get(self, submission_id: int) -> Record | None:
        row = self.conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM submissions WHERE id = ?",
                                (submission_id,)).fetchone()
        return _record(row) if row else None

    def history(self, agency_code: str, year: int | None = None) -> list[Record]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM submissions WHERE agency_code = ?"
        args: list = [agency_code]
        if year is not None:
            sql += " AND year = ?"
            args.append(year)
        sql += " ORDER BY year, received_at, file_mtime, id"
        return [_record(r) for r in self.conn.execute(sql, args)]

    def counts(self, year: int) -> dict[str, int]:
        """Number of files per status in ``year`` (all versions)."""
        return dict(self.conn.execute("SELECT status, count(*) FROM submissions WHERE year = ? GROUP BY status",
                                      (year,)).fetchall())

    def submission_counts(self, year: int) -> dict[str, int]:
        """Number of files received per agency in ``year`` (rejected ones included)."""
        return dict(self.conn.execute(
            "SELECT agency_code, count(*) FROM submissions WHERE year = ? AND agency_code IS NOT NULL "
            "GROUP BY agency_code", (year,)).fetchall())

    def unattributed(self, year: int) -> list[Record]:
        """Files of ``year`` that are rejected or could not be attributed to an agency."""
        return [_record(r) for r in self.conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM submissions WHERE year = ? "
            f"AND (status = 'rejected' OR agency_code IS NULL OR agency_code = '') ORDER BY received_at, id",
            (year,))]

    def all_records(self, year: int | None = None):
        sql = f"SELECT {', '.join(_COLUMNS)} FROM submissions"
        if year is None:
            yield from (_record(r) for r in self.conn.execute(sql + " ORDER BY id"))
        else:
            yield from (_record(r) for r in self.conn.execute(sql + " WHERE year = ? ORDER BY id", (year,)))

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _version(conn) -> int:
    try:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError:
        return 0
    return row[0] or 0


def _db_reason(e: Exception) -> str:
    text = str(e)
    if "locked" in text or "busy" in text:
        return "收集库正被另一个程序长时间占用，请稍后重试"
    if "not a database" in text or "malformed" in text:
        return "文件不是 SQLite 数据库或已损坏"
    if "readonly" in text or "read-only" in text:
        return "收集库是只读的（请检查文件和所在文件夹的写权限）"
    if "unable to open" in text:
        return "无法打开文件（请检查路径和权限）"
    return text
