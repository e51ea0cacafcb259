"""The collection store: every file ever received, on SQLite (a file, the default) or PostgreSQL.

Nothing is deleted or overwritten. A file is identified by the SHA-256 of its
bytes: the same file again (per reporting year) is recognised and changes
nothing; a different file from the same agency is a resubmission and becomes
the agency's *current* submission while the earlier ones stay in the history.

This module (with :mod:`xlsxgen.collection.schema`, the tables and migrations) is
the only place with SQL. Queries are SQLAlchemy Core, so one query runs on both
databases; where they differ (``INSERT … ON CONFLICT``, locking) the dialect is
chosen here.

Where the store is (``--db``, or the ``XLSXGEN_DB`` environment variable):

- a file path (``收集库.sqlite``) or ``sqlite:///path``: SQLite in WAL mode;
- ``postgresql+psycopg://user@host:port/dbname`` (``postgresql://`` is read the same):
  PostgreSQL through psycopg 3. The database must exist; the tables are created in
  its current schema (``?options=-csearch_path%3Dname`` selects another).

Concurrency (several ``collect`` runs, review actions and web workers at once):

- every write is one short transaction: on SQLite ``BEGIN IMMEDIATE`` (one writer at
  a time, waiting up to :data:`BUSY_TIMEOUT_MS`); on PostgreSQL READ COMMITTED, retried
  on a deadlock or serialization failure;
- ``ON CONFLICT (year, sha256) DO NOTHING``: two runs importing the same file at once
  store it once;
- a state change of an agency (review decisions) runs under a per-agency lock
  (:meth:`Store.agency_transaction`: the SQLite write lock, a PostgreSQL transaction-level
  advisory lock), reads the state again inside it and appends to the audit log in the same
  transaction: nothing is lost and nothing is decided twice.

An interrupted run leaves whole transactions only; the next run imports what is missing.
Opening an old store migrates it (:data:`~xlsxgen.collection.schema.MIGRATIONS`, one
transaction); a store written by a newer release is refused.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, exc, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as _pg_insert
from sqlalchemy.dialects.sqlite import insert as _sqlite_insert
from sqlalchemy.pool import NullPool

from xlsxgen.collection import schema as t
from xlsxgen.collection.roster import Agency, Roster
from xlsxgen.collection.schema import MIGRATIONS, SCHEMA_VERSION, SUBMISSION_COLUMNS
from xlsxgen.collection.statuses import STATUSES, USABLE
from xlsxgen.errors import XlsxgenError

__all__ = ["DB_ENV", "MIGRATIONS", "SCHEMA_VERSION", "AgencyTx", "AuditRow", "NoteRow", "Record", "ReviewRow", "Store",
           "StoreError", "now_iso", "parse_target"]

BUSY_TIMEOUT_MS = 120_000
DB_ENV = "XLSXGEN_DB"  # the default --db
_MIGRATION_LOCK = 0x786C7378  # PostgreSQL advisory lock held while migrating ("xlsx")
_RETRIES = 8  # PostgreSQL deadlock / serialization failure retries of one write

_COLUMNS = SUBMISSION_COLUMNS
_INSERT_COLUMNS = _COLUMNS[1:]
_FINDINGS = _COLUMNS.index("findings")
S = t.submissions
A = t.agencies
V = t.current_submissions


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


# ---------------------------------------------------------------------------- where the store is


@dataclass(frozen=True)
class Target:
    """A parsed ``--db``: the SQLAlchemy URL, the SQLite file (or None) and how to show it."""

    url: sa.URL
    path: Path | None
    text: str  # what reopens it (worker processes); may contain a password
    display: str  # what is shown (password hidden)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.path is not None else "postgresql"


def parse_target(db) -> Target:
    """``--db`` as given: a SQLite file path, ``sqlite:///path`` or a PostgreSQL URL."""
    if db is None or str(db).strip() == "":
        raise StoreError(f"请用 --db 指定收集库（文件路径或 postgresql+psycopg://… 地址），或设置环境变量 {DB_ENV}")
    text = str(db)
    if "://" not in text:
        p = Path(text)
        return Target(sa.URL.create("sqlite", database=str(p)), p, text, str(p))
    try:
        url = sa.make_url(text)
    except exc.ArgumentError:
        raise StoreError(f"收集库地址 {text} 的格式不对（例如 postgresql+psycopg://用户@主机:5432/数据库）") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database:
            raise StoreError("SQLite 收集库需要文件路径，例如 sqlite:///收集库.sqlite 或直接写 收集库.sqlite")
        p = Path(url.database)
        return Target(sa.URL.create("sqlite", database=str(p)), p, str(p), str(p))
    if backend in ("postgresql", "postgres"):
        driver = url.get_driver_name()
        if driver not in ("psycopg", "postgresql", "postgres", ""):
            raise StoreError(f"收集库地址 {url.render_as_string(hide_password=True)}：只支持 psycopg 驱动"
                             "（postgresql+psycopg://…）")
        url = url.set(drivername="postgresql+psycopg")
        return Target(url, None, url.render_as_string(hide_password=False),
                      url.render_as_string(hide_password=True))
    raise StoreError(f"不支持的收集库地址 {text}：请给出 SQLite 文件路径，或 postgresql+psycopg://用户@主机:端口/数据库")


# engines of this process; a forked child (a worker) must not use the parent's pooled connections
_ENGINES: weakref.WeakSet = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _engine(target: Target, readonly: bool) -> sa.Engine:
    if target.dialect == "sqlite":
        engine = sa.create_engine(target.url, poolclass=NullPool,
                                  connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # transactions are begun by the "begin" hook below, not by sqlite3
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                if readonly:
                    cur.execute("PRAGMA query_only = 1")
                else:
                    mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    cur.execute("PRAGMA synchronous = " + ("NORMAL" if str(mode).lower() == "wal" else "FULL"))
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # a write takes the write lock at once (no deadlock between two upgrading readers)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("xlsxgen_write") else "BEGIN")
    else:
        engine = sa.create_engine(target.url, poolclass=NullPool,
                                  connect_args={"connect_timeout": 15, "application_name": "xlsxgen"})
    _ENGINES.add(engine)
    return engine


# ---------------------------------------------------------------------------- point reads on the hot path


class _PointReads:
    """Point reads that every worker makes per file (:meth:`Store.has`, last year's data, :meth:`Store.get`)
    and the portal per request (a link, an agency's versions, review row and notes; one upload's insert).

    The Core statements are compiled once to the driver's SQL and run on a DBAPI connection
    in autocommit mode: one statement, no SQLAlchemy transaction bookkeeping (which costs
    ~100 µs a call, as much as the lookup itself, 10,000 times per collect). SQLite uses
    the store's own connection (autocommit outside a transaction); PostgreSQL a second
    connection in autocommit mode, so that a read never leaves a transaction open.
    """

    def __init__(self, store: Store):
        self.store = store
        self._raw = None
        self._compiled: dict[str, tuple] = {}

    def _conn(self):
        if self._raw is None:
            if self.store.dialect == "sqlite":
                self._raw = self.store.conn.connection.driver_connection
            else:
                proxy = self.store.engine.raw_connection()
                proxy.driver_connection.autocommit = True
                self._raw = proxy
        return self._raw

    def close(self) -> None:
        if self._raw is not None and self.store.dialect != "sqlite":
            try:
                self._raw.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass
        self._raw = None

    def cursor(self):
        return self._conn().cursor()

    def _sql(self, name: str, build):
        got = self._compiled.get(name)
        if got is None:
            c = build().compile(dialect=self.store.engine.dialect, compile_kwargs={"render_postcompile": True})
            got = self._compiled[name] = (str(c), c.positiontup, dict(c.params))
        return got

    def first(self, name: str, build, **params):
        return self._run(name, build, params, many=False)

    def all(self, name: str, build, **params) -> list:
        return self._run(name, build, params, many=True)

    def batch(self, *reads) -> list:
        """Several reads ``(name, build, params, many)`` at once: on PostgreSQL pipelined (one round trip)."""
        return self.run_many([(*self.prepare(name, build, params), many) for name, build, params, many in reads])

    def prepare(self, name: str, build, params: dict) -> tuple[str, object]:
        """(SQL, arguments) of a named statement, compiled once."""
        sql, positions, defaults = self._sql(name, build)
        args = {**defaults, **params}
        if positions is not None:
            args = [args[k] for k in positions]
        return sql, args

    def run_many(self, statements) -> list:
        """Statements ``(sql, args, many)`` in order, each autocommitted; on PostgreSQL pipelined (one round
        trip: a SELECT after an INSERT sees the inserted row). Their rows (``many``) or first rows."""
        if self.store.dialect != "postgresql":
            return [self._execute(sql, args, many) for sql, args, many in statements]
        driver = self._conn().driver_connection
        cursors = []
        try:
            with driver.pipeline():
                for sql, args, many in statements:
                    cur = driver.cursor()
                    cur.execute(sql, args)
                    cursors.append((cur, many))
            return [cur.fetchall() if many else cur.fetchone() for cur, many in cursors]
        finally:
            for cur, _ in cursors:
                cur.close()

    def _run(self, name: str, build, params: dict, *, many: bool):
        return self._execute(*self.prepare(name, build, params), many)

    def _execute(self, sql: str, args, many: bool):
        cur = self.cursor()
        try:
            cur.execute(sql, args)
            return cur.fetchall() if many else cur.fetchone()
        finally:
            cur.close()


def _q_has():
    return select(literal_column("1")).where(S.c.year == sa.bindparam("year", 0), S.c.sha256 == sa.bindparam("sha", ""))


def _q_get():
    return select(*[S.c[n] for n in _COLUMNS]).where(S.c.id == sa.bindparam("sid", 0))


def _q_usable(cols, code=None):
    """Latest usable submission of an agency (``code``: by default the parameter ``code``), the one
    accepted in review first."""
    R = t.reviews
    accepted = sa.and_(R.c.year == S.c.year, R.c.agency_code == S.c.agency_code, R.c.state == "accepted",
                       R.c.submission_id == S.c.id)
    code = sa.bindparam("code", "") if code is None else code
    return (select(*cols).select_from(S.outerjoin(R, accepted))
            .where(S.c.year == sa.bindparam("year", 0), S.c.agency_code == code,
                   S.c.status.in_(USABLE))
            .order_by(R.c.submission_id.is_(None), S.c.received_at.desc(), S.c.file_mtime.desc(), S.c.id.desc())
            .limit(1))


def _q_usable_data_by_link():
    L = t.portal_links
    code = (select(L.c.agency_code).where(L.c.token_hash == sa.bindparam("hash", ""),
                                          L.c.year == sa.bindparam("link_year", 0)).scalar_subquery())
    return _q_usable([S.c.data], code).where(S.c.data.is_not(None))


def _q_review_row():
    R = t.reviews
    return select(*R.c).where(R.c.year == sa.bindparam("year", 0), R.c.agency_code == sa.bindparam("code", ""))


def _q_finding_notes():
    N = t.finding_notes
    return select(*N.c).where(N.c.year == sa.bindparam("year", 0), N.c.agency_code == sa.bindparam("code", ""))


def _q_submission_of():
    return select(S.c.id, S.c.agency_code).where(S.c.year == sa.bindparam("year", 0),
                                                 S.c.sha256 == sa.bindparam("sha", ""))


def _q_versions(shown=None):
    """An agency's versions of a year, oldest first, without data; findings only of the one shown
    (``shown``: the condition that picks it; by default ``id = :sid``)."""
    shown = S.c.id == sa.bindparam("sid", 0) if shown is None else shown
    cols = []
    for name in _COLUMNS:
        if name == "data":
            cols.append(sa.null().label("data"))
        elif name == "findings":  # only the one a page shows
            cols.append(sa.case((shown, S.c.findings), else_=literal_column("'[]'")).label("findings"))
        else:
            cols.append(S.c[name])
    return (select(*cols).where(S.c.agency_code == sa.bindparam("code", ""), S.c.year == sa.bindparam("year", 0))
            .order_by(S.c.received_at, S.c.file_mtime, S.c.id))


def _q_versions_by_sha():
    return _q_versions(S.c.sha256 == sa.bindparam("sha", ""))


def _agency_view(rows, review, notes) -> tuple[list[Record], ReviewRow | None, dict[str, NoteRow]]:
    return ([_record(r) for r in rows], ReviewRow(*review) if review else None,
            {r[2]: NoteRow(*r[2:]) for r in notes})


def _q_findings():
    return select(S.c.findings).where(S.c.id == sa.bindparam("sid", 0))


def _q_link_by_hash(cols):
    L = t.portal_links
    return (select(*[L.c[n] for n in cols], A.c.name)
            .select_from(L.outerjoin(A, sa.and_(A.c.year == L.c.year, A.c.code == L.c.agency_code)))
            .where(L.c.token_hash == sa.bindparam("hash", "")))


# ---------------------------------------------------------------------------- the store


class Store:
    """An open collection store. Use as a context manager or call :meth:`close`.

    ``path`` is what to show (a PostgreSQL password is hidden); ``target`` reopens
    the same store (worker processes).
    """

    def __init__(self, engine: sa.Engine, conn: sa.Connection, target: Target):
        self.engine = engine
        self.conn = conn
        self.target_info = target
        self.target = target.text
        self.path = target.display
        self.dialect = target.dialect
        self._points = _PointReads(self)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, db, *, create: bool = True) -> Store:
        target = parse_target(db)
        if target.path is not None:
            _check_sqlite_path(target.path, create)
        store = cls._connect(target, readonly=False)
        try:
            store._migrate(create=create)
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_readonly(cls, db) -> Store:
        """A read-only view of an existing store (worker processes read last year's data through it)."""
        return cls._connect(parse_target(db), readonly=True)

    @classmethod
    def _connect(cls, target: Target, *, readonly: bool) -> Store:
        engine = _engine(target, readonly)
        try:
            conn = engine.connect()
            if readonly and target.dialect == "postgresql":
                conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                conn.commit()
        except exc.DBAPIError as e:
            engine.dispose()
            raise StoreError(f"无法打开收集库 {target.display}：{_db_reason(e, target)}") from None
        return cls(engine, conn, target)

    def close(self) -> None:
        try:
            self._points.close()
            if self.conn.in_transaction():
                self.conn.rollback()
            self.conn.close()
        finally:
            self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def schema_version(self) -> int:
        with self._read() as c:
            return self._version(c)

    def _has_table(self, conn, name: str) -> bool:
        if self.dialect == "sqlite":
            return conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE type='table' AND name = :n"),
                                {"n": name}).first() is not None
        return conn.execute(sa.text(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = :n"),
            {"n": name}).first() is not None

    def _other_tables(self, conn) -> int:
        if self.dialect == "sqlite":
            sql = ("SELECT count(*) FROM sqlite_master WHERE type='table' "
                   "AND name NOT IN ('schema_version','sqlite_sequence')")
        else:
            sql = ("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                   "AND table_name <> 'schema_version'")
        return conn.execute(sa.text(sql)).scalar_one()

    def _version(self, conn) -> int:
        if not self._has_table(conn, "schema_version"):
            return 0
        return conn.execute(select(func.max(t.schema_version.c.version))).scalar() or 0

    def _migrate(self, *, create: bool) -> None:
        try:
            with self._read() as c:
                if self._version(c) == SCHEMA_VERSION:
                    return
        except exc.DBAPIError as e:
            raise StoreError(f"无法打开收集库 {self.path}：{_db_reason(e, self.target_info)}") from None

        def go(conn):
            if self.dialect == "postgresql":  # one migrator at a time; the others wait, then find it done
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            current = self._version(conn)  # re-read under the lock: another process may have migrated
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"收集库 {self.path} 的版本（{current}）比本程序支持的（{SCHEMA_VERSION}）新；请升级 xlsxgen 后再打开")
            if current == SCHEMA_VERSION:
                return
            if current == 0:
                if self._other_tables(conn):
                    raise StoreError(f"{self.path} 不是 xlsxgen 的收集库（其中已有其他数据表）；"
                                     + ("请换一个文件名" if self.dialect == "sqlite" else "请换一个数据库或 schema"))
                if not create:
                    raise StoreError(f"收集库 {self.path} 中还没有数据（收集库由 xlsxgen collect 或 generate --db 创建）")
                if not self._has_table(conn, "schema_version"):
                    conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            for version, steps in MIGRATIONS:
                if version <= current:
                    continue
                for sql in t.statements(self.dialect, steps):
                    conn.exec_driver_sql(sql)
                conn.execute(sa.delete(t.schema_version))
                conn.execute(sa.insert(t.schema_version).values(version=version))

        self._write(go)

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _read(self):
        """A read transaction (or the one already open on this connection)."""
        conn = self.conn
        if conn.in_transaction():
            yield conn
            return
        try:
            yield conn
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            raise
        if conn.in_transaction():
            conn.commit()

    def _write(self, fn):
        """Run ``fn(conn)`` in one write transaction; PostgreSQL deadlocks and serialization failures are retried."""
        for attempt in range(_RETRIES + 1):
            try:
                return self._write_once(fn)
            except exc.DBAPIError as e:
                if self.dialect == "postgresql" and _sqlstate(e) in ("40001", "40P01") and attempt < _RETRIES:
                    time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                    continue
                if isinstance(e, exc.OperationalError):
                    raise StoreError(f"收集库 {self.path} 暂时无法写入：{_db_reason(e, self.target_info)}") from None
                raise
        raise AssertionError("unreachable")

    def _write_once(self, fn):
        conn = self.conn
        if conn.in_transaction():
            raise RuntimeError("a store write inside an open read (finish iterating first)")
        conn.info["xlsxgen_write"] = True
        try:
            try:
                txn = conn.begin()
            except BaseException:
                if conn.in_transaction():
                    conn.rollback()
                raise
            with txn:
                return fn(conn)
        finally:
            conn.info["xlsxgen_write"] = False

    @contextmanager
    def agency_transaction(self, year: int, agency_code: str):
        """A write transaction holding the lock of one agency's review state (see the module docstring).

        Everything read inside sees the latest committed state; everything written commits together.
        """
        conn = self.conn
        if conn.in_transaction():
            raise RuntimeError("a store write inside an open read (finish iterating first)")
        conn.info["xlsxgen_write"] = True
        try:
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:y, hashtext(:c))"),
                                 {"y": int(year), "c": agency_code})
                yield AgencyTx(self, conn, int(year), agency_code)
        except exc.OperationalError as e:
            raise StoreError(f"收集库 {self.path} 暂时无法写入：{_db_reason(e, self.target_info)}") from None
        finally:
            conn.info["xlsxgen_write"] = False

    def _insert(self, table):
        return (_pg_insert if self.dialect == "postgresql" else _sqlite_insert)(table)

    # ------------------------------------------------------------------ writing
    def save_roster(self, year: int, roster) -> None:
        """Record ``roster`` as the roster of ``year`` (replacing an earlier roster of that year)."""
        rows = [dict(year=year, code=a.code, name=a.name, parent=a.parent, kind=a.kind, position=i,
                     contact=getattr(a, "contact", "") or "", phone=getattr(a, "phone", "") or "",
                     email=getattr(a, "email", "") or "") for i, a in enumerate(roster)]

        def go(conn):
            conn.execute(sa.delete(A).where(A.c.year == year))
            if rows:
                conn.execute(sa.insert(A), rows)

        self._write(go)

    def start_run(self, year: int, inbox: str) -> int:
        stmt = sa.insert(t.runs).values(year=year, inbox=inbox, pid=os.getpid(), started_at=now_iso(),
                                        files_seen=0, imported=0, skipped=0).returning(t.runs.c.id)
        return self._write(lambda c: c.execute(stmt).scalar_one())

    def finish_run(self, run_id: int, *, files_seen: int, imported: int, skipped: int) -> None:
        stmt = sa.update(t.runs).where(t.runs.c.id == run_id).values(
            finished_at=now_iso(), files_seen=files_seen, imported=imported, skipped=skipped)
        self._write(lambda c: c.execute(stmt))

    def add_submissions(self, rows: list[dict]) -> int:
        """Insert received files (dicts with the column names); return how many were new."""
        if not rows:
            return 0
        # only the (year, sha256) conflict is ignored; any other constraint violation aborts the batch.
        # One single-row statement, compiled once, run by the driver's executemany (psycopg pipelines it):
        # a multi-row INSERT … RETURNING costs psycopg a parse of thousands of placeholders per batch.
        sql, positions = self._insert_sql()
        if positions is None:
            params = [{c: (r.get(c) if c != "findings" else r.get(c) or "[]") for c in _INSERT_COLUMNS} for r in rows]
        else:
            params = [tuple(r.get(c) if c != "findings" else r.get(c) or "[]" for c in positions) for r in rows]
        return self._write(lambda c: c.exec_driver_sql(sql, params).rowcount)

    def add_submission_viewed(self, row: dict) -> tuple[int | None, tuple | None]:
        """Insert one received file (a portal upload), autocommitted, and in the same round trip read what the
        agency's page then shows (:meth:`agency_view` of the row's agency, with the new file's findings).

        Returns (id, view); (None, None) when the same file (year, SHA-256) is stored already.
        """
        year, code = row["year"], row["agency_code"]
        params = {"year": year, "code": code}
        sid, rows, review, notes = self._add_submission(row, [
            (*self._points.prepare("versions_sha", _q_versions_by_sha, dict(params, sha=row["sha256"])), True),
            (*self._points.prepare("review_row", _q_review_row, params), False),
            (*self._points.prepare("finding_notes", _q_finding_notes, params), True)])
        if sid is None:
            return None, None
        return sid, _agency_view(rows, review, notes)

    def _add_submission(self, row: dict, then: list) -> list:
        if self.conn.in_transaction():
            raise RuntimeError("a store write inside an open read (finish iterating first)")
        sql, positions = self._insert_sql(returning=True)
        args = {c: (row.get(c) if c != "findings" else row.get(c) or "[]") for c in _INSERT_COLUMNS}
        if positions is not None:
            args = [args[c] for c in positions]
        try:
            got, *rest = self._points.run_many([(sql, args, False), *then])
        except self._driver_errors() as e:
            raise StoreError(f"收集库 {self.path} 暂时无法写入：{_db_reason(e, self.target_info)}") from None
        return [got[0] if got else None, *rest]

    def _driver_errors(self):
        if self.dialect == "sqlite":
            import sqlite3

            return sqlite3.OperationalError
        import psycopg

        return psycopg.OperationalError

    def _insert_sql(self, returning: bool = False):
        key = "_insert_returning" if returning else "_insert_compiled"
        got = getattr(self, key, None)
        if got is None:
            stmt = self._insert(S).values({c: sa.bindparam(c) for c in _INSERT_COLUMNS}).on_conflict_do_nothing(
                index_elements=["year", "sha256"])
            if returning:
                stmt = stmt.returning(S.c.id)
            compiled = stmt.compile(dialect=self.engine.dialect)
            got = (str(compiled), compiled.positiontup)
            setattr(self, key, got)
        return got

    def hold(self, year: int, hashes: list[str], reason_code: str, reason: str) -> int:
        """Hold stored submissions (by hash) until someone confirms whose they are: not current, not summed."""
        if not hashes:
            return 0
        stmt = (sa.update(S).where(S.c.year == year, S.c.sha256 == sa.bindparam("h"),
                                   S.c.status.in_(("accepted", "warning", "invalid")))
                .values(status="rejected", reason_code=reason_code, reason=reason))
        # one statement per hash: a driver's executemany may not report how many rows it changed (psycopg: -1)
        return self._write(lambda c: sum(max(c.execute(stmt, {"h": h}).rowcount, 0) for h in hashes))

    def confirm(self, submission_id: int, *, agency_code: str, agency_name: str, by: str, note: str = "") -> Record:
        """Resolve a held submission: it becomes ``agency_code``'s (its checked status back), recorded in the audit log."""
        at = now_iso()

        def go(conn):
            row = conn.execute(select(*[S.c[c] for c in _COLUMNS]).where(S.c.id == submission_id)).first()
            if row is None:
                raise StoreError(f"收集库中没有编号为 {submission_id} 的报送")
            rec = _record(row)
            conn.execute(sa.update(S).where(S.c.id == submission_id).values(
                status=rec.checked_status or rec.status, agency_code=agency_code, agency_name=agency_name,
                reason_code="confirmed", reason=f"已确认为{agency_name}（{agency_code}）的报送：{by}，{at[:16].replace('T', ' ')}"
                + (f"；{note}" if note else "")))
            conn.execute(sa.insert(t.audit).values(
                at=at, actor=by, action="confirm", year=rec.year, agency_code=agency_code, submission_id=submission_id,
                before_state=f"{rec.status}:{rec.reason_code or ''}:{rec.agency_code or ''}",
                after_state=f"{rec.checked_status or rec.status}:confirmed:{agency_code}", comment=note or None))
            return rec

        self._write(go)
        return self.get(submission_id)

    def find(self, year: int, key: str) -> list[Record]:
        """Submissions of ``year`` whose SHA-256, stored path or file name is ``key`` (newest first)."""
        q = (select(*[S.c[c] for c in _COLUMNS]).where(
            S.c.year == year, sa.or_(S.c.sha256 == key, S.c.path == key, S.c.file_name == key))
            .order_by(S.c.id.desc()))
        with self._read() as c:
            return [_record(r) for r in c.execute(q)]

    def save_skipped(self, year: int, run_id: int | None, entries) -> int:
        """Record inbox entries that were not collected (one row per year and path; a later run updates it)."""
        rows = [dict(year=year, path=e.path, file_name=e.file_name, size=int(e.size or 0), code=e.code,
                     reason=e.reason, ask=e.ask or "", agency_code=e.agency_code or None,
                     agency_name=e.agency_name or None, matched_by=e.matched_by or "", run_id=run_id,
                     seen_at=now_iso()) for e in entries]
        if not rows:
            return 0
        F = t.inbox_files
        stmt = self._insert(F)
        stmt = stmt.on_conflict_do_update(index_elements=["year", "path"], set_={
            c: stmt.excluded[c] for c in ("file_name", "size", "code", "reason", "ask", "agency_code",
                                          "agency_name", "matched_by", "run_id", "seen_at")})
        self._write(lambda c: c.execute(stmt, rows))
        return len(rows)

    def skipped_files(self, year: int, *, codes=None) -> list[dict]:
        """The inbox entries of ``year`` that were not collected (dicts), in path order."""
        F = t.inbox_files
        q = select(F).where(F.c.year == year).order_by(F.c.path)
        if codes is not None:
            q = q.where(F.c.code.in_(tuple(codes)))
        with self._read() as c:
            return [dict(r._mapping) for r in c.execute(q)]

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
                select(S.c.id, S.c.agency_code, S.c.checked_status, S.c.format_id, S.c.reason_code)
                .where(S.c.year == year, S.c.status == "rejected",
                       S.c.reason_code.in_(("unknown_agency", "wrong_format")))).all()
            n = 0
            for sid, code, checked, fmt, reason in rows:
                if checked not in STATUSES:
                    continue
                if reason == "wrong_format" and (format_id is None or fmt != format_id):
                    continue
                if codes is not None and code not in codes:
                    continue
                conn.execute(sa.update(S).where(S.c.id == sid, S.c.status == "rejected")
                             .values(status=checked, reason_code=None, reason=None))
                n += 1
            return n

        return self._write(go)

    # ------------------------------------------------------------------ reading
    def has(self, year: int, sha256: str) -> bool:
        return self._points.first("has", _q_has, year=year, sha=sha256) is not None

    def roster(self, year: int):
        """The roster recorded for ``year``, or None."""
        with self._read() as c:
            rows = c.execute(select(A.c.code, A.c.name, A.c.parent, A.c.kind, A.c.contact, A.c.phone, A.c.email)
                             .where(A.c.year == year).order_by(A.c.position)).all()
        if not rows:
            return None
        return Roster([Agency(c, n, p, k, contact=ct or "", phone=ph or "", email=em or "")
                       for c, n, p, k, ct, ph, em in rows], source=f"{self.path}（{year}年度名单）")

    def agency(self, year: int, code: str) -> Agency | None:
        """One agency of the roster of ``year`` (without reading the whole roster)."""
        with self._read() as c:
            r = c.execute(select(A.c.code, A.c.name, A.c.parent, A.c.kind).where(A.c.year == year, A.c.code == code)
                          ).first()
        return Agency(*r) if r else None

    def years(self) -> list[int]:
        with self._read() as c:
            years = set(c.execute(select(S.c.year).distinct()).scalars()) | set(
                c.execute(select(A.c.year).distinct()).scalars())
        return sorted(years)

    def _stream(self, stmt):
        """Rows of ``stmt``, streamed (a server-side cursor on PostgreSQL: memory stays flat)."""
        opts = {"stream_results": True, "yield_per": 256} if self.dialect == "postgresql" else {}
        with self._read() as c:
            yield from c.execute(stmt, execution_options=opts)

    def _columns(self, src, with_data: bool, with_findings: bool):
        cols = []
        for name in _COLUMNS:
            if name == "data" and not with_data:
                cols.append(sa.null().label("data"))
            elif name == "findings" and not with_findings:
                cols.append(literal_column("'[]'").label("findings"))
            else:
                cols.append(src.c[name])
        return cols

    def current(self, year: int, *, with_data: bool = False, with_findings: bool = True, reviewed: bool = False):
        """Yield the current submission of each agency of ``year``, in roster order (streamed).

        ``reviewed``: instead of the latest usable-or-not submission, the submission each
        agency has accepted in review (agencies not accepted are left out).
        """
        if reviewed:
            R = t.reviews
            src = S
            base = select(*self._columns(S, with_data, with_findings)).select_from(
                S.join(R, sa.and_(R.c.submission_id == S.c.id, R.c.state == "accepted")))
        else:
            src = V
            base = select(*self._columns(V, with_data, with_findings)).select_from(V)
        stmt = (base.outerjoin(A, sa.and_(A.c.year == src.c.year, A.c.code == src.c.agency_code))
                .where(src.c.year == year)
                .order_by(A.c.position.is_(None), A.c.position, src.c.agency_code))
        for r in self._stream(stmt):
            yield _record(r)

    def current_of(self, year: int, agency_code: str, *, with_data: bool = False) -> Record | None:
        """The current submission of one agency (as :meth:`current`), or None."""
        stmt = select(*self._columns(V, with_data, True)).where(V.c.year == year, V.c.agency_code == agency_code)
        with self._read() as c:
            row = c.execute(stmt).first()
        return _record(row) if row else None

    def latest_usable(self, year: int, agency_code: str) -> Record | None:
        """The agency's submission of ``year`` that counts: the one accepted in review, else the latest usable one."""
        row = self._points.first("latest_usable", lambda: _q_usable([S.c[n] for n in _COLUMNS]),
                                 year=year, code=agency_code)
        return _record(row) if row else None

    def usable_data(self, year: int, agency_code: str) -> dict | None:
        """The canonical data of :meth:`latest_usable` (parsed), or None."""
        row = self._points.first("usable_data", lambda: _q_usable([S.c.data]).where(S.c.data.is_not(None)),
                                 year=year, code=agency_code)
        return json.loads(row[0]) if row and row[0] else None

    def known_hash_prefixes(self, year: int) -> set[int]:
        """The first 64 bits of every stored file hash of ``year``: a worker's local pre-check before :meth:`has`.

        A miss means the file is new (no query per file); a hit is confirmed by :meth:`has`.
        About 70 bytes an entry.
        """
        out: set[int] = set()
        for (sha,) in self._stream(select(S.c.sha256).where(S.c.year == year)):
            try:
                out.add(int(sha[:16], 16))
            except ValueError:  # "unread:…" placeholders of files that could not be read
                continue
        return out

    def codes_with_usable(self, year: int) -> set[str]:
        """Codes of the agencies that have a usable submission in ``year`` (workers ask once, not per file)."""
        with self._read() as c:
            return set(c.execute(select(S.c.agency_code).where(
                S.c.year == year, S.c.status.in_(USABLE), S.c.agency_code.is_not(None)).distinct()).scalars())

    def codes_named(self, name: str) -> list[str]:
        """Agency codes recorded under the full name ``name`` (in submissions or rosters)."""
        with self._read() as c:
            a = set(c.execute(select(S.c.agency_code).where(S.c.agency_name == name, S.c.agency_code.is_not(None))
                              .distinct()).scalars())
            b = set(c.execute(select(A.c.code).where(A.c.name == name).distinct()).scalars())
        return sorted(a | b)

    def get(self, submission_id: int) -> Record | None:
        row = self._points.first("get", _q_get, sid=submission_id)
        return _record(row) if row else None

    def history(self, agency_code: str, year: int | None = None) -> list[Record]:
        stmt = select(*[S.c[n] for n in _COLUMNS]).where(S.c.agency_code == agency_code)
        if year is not None:
            stmt = stmt.where(S.c.year == year)
        stmt = stmt.order_by(S.c.year, S.c.received_at, S.c.file_mtime, S.c.id)
        with self._read() as c:
            return [_record(r) for r in c.execute(stmt)]

    def counts(self, year: int) -> dict[str, int]:
        """Number of files per status in ``year`` (all versions)."""
        with self._read() as c:
            return {s: n for s, n in c.execute(select(S.c.status, func.count()).where(S.c.year == year)
                                               .group_by(S.c.status))}

    def submission_counts(self, year: int) -> dict[str, int]:
        """Number of files received per agency in ``year`` (rejected ones included)."""
        with self._read() as c:
            return {s: n for s, n in c.execute(
                select(S.c.agency_code, func.count()).where(S.c.year == year, S.c.agency_code.is_not(None))
                .group_by(S.c.agency_code))}

    def unattributed(self, year: int) -> list[Record]:
        """Files of ``year`` that are rejected or could not be attributed to an agency."""
        stmt = (select(*[S.c[n] for n in _COLUMNS])
                .where(S.c.year == year,
                       sa.or_(S.c.status == "rejected", S.c.agency_code.is_(None), S.c.agency_code == ""))
                .order_by(S.c.received_at, S.c.id))
        with self._read() as c:
            return [_record(r) for r in c.execute(stmt)]

    def all_records(self, year: int | None = None):
        stmt = select(*[S.c[n] for n in _COLUMNS])
        if year is not None:
            stmt = stmt.where(S.c.year == year)
        for r in self._stream(stmt.order_by(S.c.id)):
            yield _record(r)

    # ------------------------------------------------------------------ review (read)
    def review_rows(self, year: int) -> dict[str, ReviewRow]:
        """The recorded review state of every agency of ``year`` that has one."""
        R = t.reviews
        with self._read() as c:
            return {r.agency_code: ReviewRow(*r) for r in c.execute(
                select(*R.c).where(R.c.year == year))}

    def review_row(self, year: int, agency_code: str) -> ReviewRow | None:
        r = self._points.first("review_row", _q_review_row, year=year, code=agency_code)
        return ReviewRow(*r) if r else None

    def finding_notes(self, year: int, agency_code: str) -> dict[str, NoteRow]:
        """Explanations and decisions of an agency's findings, by fingerprint."""
        return {r[2]: NoteRow(*r[2:]) for r in self._points.all("finding_notes", _q_finding_notes, year=year,
                                                                 code=agency_code)}

    def audit_log(self, year: int | None = None, agency_code: str | None = None) -> list[AuditRow]:
        """The audit log, oldest first (of a year, of an agency)."""
        L = t.audit
        stmt = select(*L.c)
        if year is not None:
            stmt = stmt.where(L.c.year == year)
        if agency_code is not None:
            stmt = stmt.where(L.c.agency_code == agency_code)
        with self._read() as c:
            return [AuditRow(*r) for r in c.execute(stmt.order_by(L.c.id))]

    def log_action(self, year: int, agency_code: str, *, action: str, by: str, comment: str | None = None,
                   submission_id: int | None = None) -> None:
        """Append an action that changes no review state (a portal upload, a link issued) to the audit log."""
        self._write(lambda c: c.execute(sa.insert(t.audit).values(
            at=now_iso(), actor=by, action=action, year=year, agency_code=agency_code, submission_id=submission_id,
            comment=comment)))

    # ------------------------------------------------------------------ the web portal
    def setting(self, key: str) -> str | None:
        P = t.portal_settings
        with self._read() as c:
            return c.execute(select(P.c.value).where(P.c.key == key)).scalar()

    def set_setting(self, key: str, value: str, *, keep_existing: bool = False) -> str:
        """Store a portal setting; with ``keep_existing`` an existing value wins. Returns the stored value."""
        P = t.portal_settings

        def go(conn):
            stmt = self._insert(P).values(key=key, value=value)
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]) if keep_existing
                         else stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))
            return conn.execute(select(P.c.value).where(P.c.key == key)).scalar_one()

        return self._write(go)

    def set_link(self, year: int, code: str, token_hash: str, *, expires_at: str | None = None) -> None:
        """Issue (or re-issue) the link of an agency: the earlier token stops working."""
        L = t.portal_links
        values = dict(token_hash=token_hash, created_at=now_iso(), expires_at=expires_at, revoked_at=None)
        stmt = self._insert(L).values(year=year, agency_code=code, contact="", **values)
        self._write(lambda c: c.execute(stmt.on_conflict_do_update(index_elements=["year", "agency_code"],
                                                                   set_=values)))

    def revoke_link(self, year: int, code: str) -> bool:
        L = t.portal_links
        stmt = sa.update(L).where(L.c.year == year, L.c.agency_code == code, L.c.revoked_at.is_(None)).values(
            revoked_at=now_iso())
        return self._write(lambda c: c.execute(stmt).rowcount) > 0

    def set_contact(self, year: int, code: str, contact: str) -> None:
        L = t.portal_links
        self._write(lambda c: c.execute(sa.update(L).where(L.c.year == year, L.c.agency_code == code)
                                        .values(contact=contact)))

    def submission_of(self, year: int, sha256: str) -> tuple[int, str | None] | None:
        """(id, agency code) of the file with this SHA-256 in ``year``, or None."""
        r = self._points.first("submission_of", _q_submission_of, year=year, sha=sha256)
        return (r[0], r[1]) if r else None

    def agency_view(self, year: int, agency_code: str, *, findings_of: int | None = None
                    ) -> tuple[list[Record], ReviewRow | None, dict[str, NoteRow]]:
        """What an agency's page reads, in one round trip: its submissions of ``year``, oldest first, without
        their data and findings, :meth:`review_row` and :meth:`finding_notes`.

        ``findings_of``: the id of one submission whose findings come with it (the one a page shows);
        -1: the latest one's.
        """
        params = {"year": year, "code": agency_code}
        rows, review, notes = self._points.batch(
            ("versions", _q_versions, dict(params, sid=findings_of if findings_of is not None else 0), True),
            ("review_row", _q_review_row, params, False),
            ("finding_notes", _q_finding_notes, params, True))
        if findings_of == -1 and rows:
            last = rows[-1]
            got = self._points.first("findings", _q_findings, sid=last[0])
            if got is not None:
                rows[-1] = (*last[:_FINDINGS], got[0], *last[_FINDINGS + 1:])
        return _agency_view(rows, review, notes)

    def reading(self):
        """Several reads in one transaction: one consistent view, and on PostgreSQL no BEGIN/COMMIT per read."""
        return self._read()

    def roster_names(self, year: int) -> list[tuple[str, str]]:
        """(code, name) of the roster of ``year`` in order (a dashboard of 10,000 rows needs no more)."""
        with self._read() as c:
            return [tuple(r) for r in c.execute(select(A.c.code, A.c.name).where(A.c.year == year)
                                                .order_by(A.c.position))]

    def current_brief(self, year: int) -> list[tuple]:
        """(agency_code, id, status, errors, warnings, received_at) of each agency's current submission."""
        with self._read() as c:
            return [tuple(r) for r in c.execute(
                select(V.c.agency_code, V.c.id, V.c.status, V.c.errors, V.c.warnings, V.c.received_at)
                .where(V.c.year == year))]

    def rejected_brief(self, year: int, reason_code: str) -> list[tuple[str, str]]:
        """(agency_code, received_at) of the files of ``year`` rejected for ``reason_code``."""
        with self._read() as c:
            return [tuple(r) for r in c.execute(
                select(S.c.agency_code, S.c.received_at).where(S.c.year == year, S.c.status == "rejected",
                                                               S.c.reason_code == reason_code))]

    def set_contact_if_empty(self, year: int, code: str, contact: str) -> None:
        L = t.portal_links
        self._write(lambda c: c.execute(sa.update(L).where(L.c.year == year, L.c.agency_code == code,
                                                           L.c.contact == "").values(contact=contact)))

    _LINK_COLS = ("year", "agency_code", "created_at", "expires_at", "revoked_at", "contact")

    def link_by_hash(self, token_hash: str) -> dict | None:
        """The link whose token hashes to ``token_hash`` (revoked and expired ones too: the caller decides),
        with ``agency_name`` from the roster of its year (None when the agency has left the roster)."""
        row = self._points.first("link_by_hash", lambda: _q_link_by_hash(self._LINK_COLS), hash=token_hash)
        return dict(zip(self._LINK_COLS + ("agency_name",), row)) if row else None

    def link_with_previous(self, token_hash: str, year: int) -> tuple[dict | None, dict | None]:
        """:meth:`link_by_hash`, and in the same round trip the :meth:`usable_data` of ``year - 1`` of the
        agency of the link of ``year`` with that hash (an upload's cross-year checks): (link, data or None)."""
        row, prev = self._points.batch(
            ("link_by_hash", lambda: _q_link_by_hash(self._LINK_COLS), {"hash": token_hash}, False),
            ("usable_data_by_link", _q_usable_data_by_link, {"hash": token_hash, "year": year - 1,
                                                              "link_year": year}, False))
        link = dict(zip(self._LINK_COLS + ("agency_name",), row)) if row else None
        return link, (json.loads(prev[0]) if link and prev and prev[0] else None)

    def link_of(self, year: int, code: str) -> dict | None:
        L = t.portal_links
        with self._read() as c:
            row = c.execute(select(*[L.c[n] for n in self._LINK_COLS]).where(L.c.year == year,
                                                                              L.c.agency_code == code)).first()
        return dict(zip(self._LINK_COLS, row)) if row else None

    def links(self, year: int) -> dict[str, dict]:
        """agency code -> its link (without the hash) for ``year``."""
        L = t.portal_links
        with self._read() as c:
            return {r.agency_code: dict(zip(self._LINK_COLS, r)) for r in c.execute(
                select(*[L.c[n] for n in self._LINK_COLS]).where(L.c.year == year))}

    def add_user(self, name: str, role: str, password_hash: str) -> None:
        """Create an account, or replace the role and password of an existing one."""
        U = t.portal_users
        values = dict(role=role, password_hash=password_hash, disabled=0)
        stmt = self._insert(U).values(name=name, created_at=now_iso(), **values)
        self._write(lambda c: c.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values)))

    def user(self, name: str) -> dict | None:
        U = t.portal_users
        cols = ("name", "role", "password_hash", "disabled")
        with self._read() as c:
            row = c.execute(select(*[U.c[n] for n in cols]).where(U.c.name == name)).first()
        return dict(zip(cols, row)) if row else None

    def integrity_ok(self) -> bool:
        with self._read() as c:
            if self.dialect == "sqlite":
                return c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            return c.exec_driver_sql("SELECT 1").scalar() == 1


@dataclass(slots=True)
class ReviewRow:
    """The recorded review state of one agency in one year (``reviews``)."""

    year: int
    agency_code: str
    state: str  # pending / accepted / returned
    submission_id: int | None  # accepted: the locked version; returned: the version sent back
    comment: str | None
    updated_at: str
    updated_by: str


@dataclass(slots=True)
class NoteRow:
    """An explanation and a decision on one finding of an agency (``finding_notes``)."""

    fingerprint: str
    rule: str | None
    location: str | None
    value: str | None
    explanation: str | None
    explained_by: str | None
    explained_at: str | None
    decision: str | None  # accepted / rejected / None
    decided_by: str | None
    decided_at: str | None
    decision_comment: str | None


@dataclass(slots=True)
class AuditRow:
    id: int
    at: str
    actor: str
    action: str
    year: int
    agency_code: str | None
    submission_id: int | None
    fingerprint: str | None
    before_state: str | None
    after_state: str | None
    comment: str | None


class AgencyTx:
    """Reads and writes of one agency's review state inside :meth:`Store.agency_transaction` (locked)."""

    def __init__(self, store: Store, conn: sa.Connection, year: int, agency_code: str):
        self.store, self.conn, self.year, self.code = store, conn, year, agency_code

    def review(self) -> ReviewRow | None:
        R = t.reviews
        r = self.conn.execute(select(*R.c).where(R.c.year == self.year, R.c.agency_code == self.code)).first()
        return ReviewRow(*r) if r else None

    def current(self) -> Record | None:
        """The agency's latest non-rejected submission (as :meth:`Store.current`)."""
        r = self.conn.execute(select(*[V.c[n] for n in _COLUMNS]).where(
            V.c.year == self.year, V.c.agency_code == self.code)).first()
        return _record(r) if r else None

    def submission(self, submission_id: int) -> Record | None:
        r = self.conn.execute(select(*[S.c[n] for n in _COLUMNS]).where(
            S.c.id == submission_id, S.c.year == self.year, S.c.agency_code == self.code)).first()
        return _record(r) if r else None

    def notes(self) -> dict[str, NoteRow]:
        N = t.finding_notes
        return {r.fingerprint: NoteRow(*r[2:]) for r in self.conn.execute(
            select(*N.c).where(N.c.year == self.year, N.c.agency_code == self.code))}

    def set_review(self, *, state: str, submission_id: int | None, comment: str | None, by: str, at: str) -> None:
        R = t.reviews
        values = dict(state=state, submission_id=submission_id, comment=comment, updated_at=at, updated_by=by)
        stmt = self.store._insert(R).values(year=self.year, agency_code=self.code, **values)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["year", "agency_code"], set_=values))

    def set_note(self, fingerprint: str, *, rule, location, value, **fields) -> None:
        """Create or update the note of a finding; ``fields``: explanation…/decision… columns to set."""
        N = t.finding_notes
        stmt = self.store._insert(N).values(year=self.year, agency_code=self.code, fingerprint=fingerprint,
                                            rule=rule, location=location, value=value, **fields)
        self.conn.execute(stmt.on_conflict_do_update(
            index_elements=["year", "agency_code", "fingerprint"], set_=fields))

    def audit(self, *, action: str, by: str, at: str, submission_id: int | None = None,
              fingerprint: str | None = None, before=None, after=None, comment: str | None = None) -> None:
        def enc(v):
            return None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True)

        self.conn.execute(sa.insert(t.audit).values(
            at=at, actor=by, action=action, year=self.year, agency_code=self.code, submission_id=submission_id,
            fingerprint=fingerprint, before_state=enc(before), after_state=enc(after), comment=comment))


def _check_sqlite_path(p: Path, create: bool) -> None:
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


def _sqlstate(e: exc.DBAPIError) -> str | None:
    return getattr(getattr(e, "orig", None), "sqlstate", None)


def _db_reason(e: Exception, target: Target | None = None) -> str:
    text = str(getattr(e, "orig", None) or e)
    if target is not None and target.dialect == "postgresql":
        if "password authentication failed" in text or "no password supplied" in text:
            return "数据库服务器拒绝登录（用户名或密码不对）"
        if "does not exist" in text and "database" in text:
            return "数据库服务器上没有这个数据库（请先创建，例如 createdb）"
        if "Connection refused" in text or "could not connect" in text or "connection failed" in text \
                or "timeout" in text:
            return "无法连接数据库服务器（请检查地址、端口，以及服务器是否在运行）"
        return text.strip().splitlines()[0] if text.strip() else type(e).__name__
    if "locked" in text or "busy" in text:
        return "收集库正被另一个程序长时间占用，请稍后重试"
    if "not a database" in text or "malformed" in text:
        return "文件不是 SQLite 数据库或已损坏"
    if "readonly" in text or "read-only" in text:
        return "收集库是只读的（请检查文件和所在文件夹的写权限）"
    if "unable to open" in text:
        return "无法打开文件（请检查路径和权限）"
    return text
