"""Collect an inbox: import every returned workbook, validate it, record it in the store.

The batch never stops on one bad file. Files are found by a streaming
``os.scandir`` walk; worker processes read, hash and validate them and return
compact results (hash, canonical JSON, findings); the parent alone writes to
the store, in short batched transactions. A file whose hash is already stored
for the year is skipped before it is parsed, so a re-run (after Ctrl-C or a
power cut) only imports what is missing, and the same file twice changes
nothing.

Decisions that depend on the roster (agency unknown, wrong year) are made in
the parent: the file is then recorded as ``rejected`` with its reason.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import hashlib
import json
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from xlsxgen.errors import UsageError, XlsxgenError
from xlsxgen.progress import Progress
from xlsxgen.store import ACCEPTED, INVALID, REJECTED, UNREADABLE, USABLE, WARNING, Store

SPREADSHEET_LIKE = (".xls", ".et", ".xlsm", ".xlsb", ".ods", ".csv", ".wps")
BATCH_ROWS = 200  # results per write transaction
BATCH_SECONDS = 2.0
CHUNK = 4  # files per worker task
MIN_FILES_FOR_POOL = 8
MAX_FILE_BYTES = 50 * 1024 * 1024

# overview states, in display order
STATE_LABELS = {
    "ok": "已提交且通过",
    "warning": "仅有警告",
    "invalid": "有错误",
    "unreadable": "无法读取",
    "missing": "未提交",
}
_STATE_OF_STATUS = {ACCEPTED: "ok", WARNING: "warning", INVALID: "invalid", UNREADABLE: "unreadable"}


@dataclass(slots=True)
class FileTask:
    path: str
    rel: str
    size: int
    mtime: str


@dataclass
class CollectResult:
    year: int
    inbox: str
    db: str
    files_seen: int = 0
    imported: int = 0
    already: int = 0  # skipped: this exact file is already in the store
    duplicates: int = 0  # the same file twice within this run
    by_status: Counter = field(default_factory=Counter)
    other_files: Counter = field(default_factory=Counter)  # extension -> count of files that are not .xlsx
    other_examples: list = field(default_factory=list)
    readmitted: int = 0
    seconds: float = 0.0
    interrupted: bool = False


# ---------------------------------------------------------------------------- scanning


def scan(inbox: str | os.PathLike, other=None):
    """Yield every ``.xlsx`` under ``inbox`` (recursively, streamed, sorted per folder).

    Office lock files (``~$name.xlsx``) and hidden files are skipped; other
    files are counted in ``other`` (a Counter by extension) when given.
    """
    stack = [str(inbox)]
    root = str(inbox)
    while stack:
        folder = stack.pop()
        # names and kinds only, sorted: an inbox of 10,000 files costs a list of short strings, not of DirEntry objects
        entries: list[tuple[str, bool]] = []
        try:
            with os.scandir(folder) as it:
                for e in it:
                    name = e.name
                    if name.startswith("."):
                        continue
                    try:
                        if e.is_dir(follow_symlinks=False):
                            entries.append((name, True))
                        elif e.is_file():
                            entries.append((name, False))
                    except OSError:
                        continue
        except OSError:
            continue
        entries.sort()
        subdirs = []
        for name, is_dir in entries:
            path = os.path.join(folder, name)
            if is_dir:
                subdirs.append(path)
                continue
            if name.startswith("~$"):
                continue
            ext = os.path.splitext(name)[1].lower()
            if ext != ".xlsx":
                if other is not None:
                    other[ext or "(无扩展名)"] += 1
                    if ext in SPREADSHEET_LIKE and hasattr(other, "examples") and len(other.examples) < 10:
                        other.examples.append(os.path.relpath(path, root))
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            mtime = _dt.datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(timespec="microseconds")
            yield FileTask(path, os.path.relpath(path, root), st.st_size, mtime)
        stack.extend(reversed(subdirs))


class _OtherFiles(Counter):
    def __init__(self):
        super().__init__()
        self.examples: list[str] = []


# ---------------------------------------------------------------------------- the worker side

_W: dict = {}


def _init_worker(db_path: str, year: int, ignore_sigint: bool = True) -> None:
    """Per-process state: a read-only view of the store (known hashes, last year's data)."""
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    import sqlite3

    _W.clear()
    conn = sqlite3.connect(db_path, timeout=120)
    conn.execute("PRAGMA busy_timeout = 120000")
    conn.execute("PRAGMA query_only = 1")
    _W.update(conn=conn, year=year, prev_cache={})


def _previous_for(spec, code: str, year: int):
    """Last year's accepted data of ``code`` (a Submission), from the store."""
    if not code or not year:
        return None
    key = (spec.id, code, year)
    cache = _W["prev_cache"]
    if key in cache:
        return cache[key]
    row = _W["conn"].execute(
        "SELECT data FROM submissions WHERE year = ? AND agency_code = ? AND status IN ('accepted','warning') "
        "AND data IS NOT NULL ORDER BY received_at DESC, file_mtime DESC, id DESC LIMIT 1",
        (year - 1, code)).fetchone()
    prev = None
    if row:
        from xlsxgen.data import from_canonical_trusted

        doc = json.loads(row[0])
        prev_spec = spec
        if doc.get("format") != spec.id:  # last year in an older format: the validator maps what it can
            from xlsxgen.errors import SpecError
            from xlsxgen.spec import load_format

            try:
                prev_spec = load_format(doc.get("format") or "")
            except SpecError:
                prev_spec = None
        if prev_spec is not None:
            prev = from_canonical_trusted(prev_spec, doc)
    if len(cache) > 256:
        cache.clear()
    cache[key] = prev
    return prev


def _finding_dict(f) -> dict:
    if isinstance(f, dict):
        d = dict(f)
    else:
        d = {k: getattr(f, k, None) for k in ("rule", "severity", "message", "table", "row", "column", "sheet",
                                               "cell", "expected", "actual", "fix")}
    for k, v in list(d.items()):
        if v is not None and not isinstance(v, (str, int, float, bool)):
            d[k] = str(v)
    return d


def _import(data: bytes, name: str):
    """Read and validate one workbook: (status, reason, spec, submission, findings).

    Cross-year rules use the agency's accepted data of the previous year from
    the store; without it, the last-year values the workbook itself carries.
    """
    import importer

    res = importer.read_workbook(data, name=name)
    if res.status == "unreadable" or res.submission is None or res.spec is None:
        return UNREADABLE, (res.reason or "无法读取"), None, None, list(res.findings)
    sub, spec = res.submission, res.spec
    prev = _previous_for(spec, sub.agency_code, sub.year) if _W else None
    importer.validate_result(res, prev)
    return None, None, spec, sub, list(res.findings)


def process_file(task: FileTask) -> dict:
    """Read, hash and validate one file; a compact, picklable result. Never raises."""
    out = {"path": task.path, "rel": task.rel, "file_name": os.path.basename(task.path), "size": task.size,
           "file_mtime": task.mtime}
    try:
        if task.size > MAX_FILE_BYTES:
            with open(task.path, "rb") as fh:
                h = hashlib.sha256()
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out.update(sha256=h.hexdigest(), status=UNREADABLE,
                       reason=f"文件过大（{task.size // (1024 * 1024)} MB），不是正常的填报工作簿")
            return out
        with open(task.path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        out.update(sha256=None, status=UNREADABLE, reason=f"无法读取文件：{e.strerror or e}")
        return out
    sha = hashlib.sha256(data).hexdigest()
    out["sha256"] = sha
    out["size"] = len(data)
    if _W and _W["conn"].execute("SELECT 1 FROM submissions WHERE year = ? AND sha256 = ?",
                                 (_W["year"], sha)).fetchone():
        out["skip"] = True
        return out
    try:
        status, reason, spec, sub, findings = _import(data, out["file_name"])
    except XlsxgenError as e:
        out.update(status=UNREADABLE, reason=str(e))
        return out
    except Exception as e:  # noqa: BLE001 - a hostile or odd file must not stop the batch
        out.update(status=UNREADABLE, reason=f"读取时出错（{type(e).__name__}）")
        return out
    if status == UNREADABLE:
        fl = [_finding_dict(f) for f in findings]
        out.update(status=UNREADABLE, reason=reason,
                   findings=json.dumps(fl, ensure_ascii=False, separators=(",", ":")))
        return out
    from xlsxgen.data import to_canonical

    fl = [_finding_dict(f) for f in findings]
    out.update(
        status="read",
        format_id=spec.id,
        agency_code=sub.agency_code or "",
        agency_name=sub.agency_name or "",
        data_year=sub.year,
        errors=sum(1 for f in fl if f.get("severity") == "error"),
        warnings=sum(1 for f in fl if f.get("severity") == "warning"),
        findings=json.dumps(fl, ensure_ascii=False, separators=(",", ":")),
        data=json.dumps(to_canonical(spec, sub), ensure_ascii=False, separators=(",", ":")),
    )
    return out


def process_chunk(tasks: list[FileTask]) -> list[dict]:
    return [process_file(t) for t in tasks]


# ---------------------------------------------------------------------------- the parent side


def classify(result: dict, *, year: int, spec, roster) -> dict:
    """The store row of a worker result: attribute the agency, decide the status and reason."""
    row = {k: result.get(k) for k in ("sha256", "file_name", "size", "file_mtime", "agency_code", "agency_name",
                                      "data_year", "format_id", "errors", "warnings", "findings", "data")}
    row["path"] = result.get("rel") or result.get("path")
    row["year"] = year
    row["errors"] = row["errors"] or 0
    row["warnings"] = row["warnings"] or 0
    if result["status"] == UNREADABLE:
        row.update(status=UNREADABLE, reason=result.get("reason") or "无法读取", reason_code="unreadable")
        guess = roster.match_file_name(row["file_name"]) if roster else None
        if guess:
            row.update(agency_code=guess.code, agency_name=guess.name)
        return row
    checked = INVALID if row["errors"] else (WARNING if row["warnings"] else ACCEPTED)
    row["checked_status"] = checked
    code, name = row["agency_code"] or "", row["agency_name"] or ""
    if roster is not None:
        agency = roster.get(code) if code else None
        if agency is None and name:
            agency = roster.match_name(name)
        if agency is not None:
            code = agency.code
            name = name or agency.name
    elif not code:
        code = name  # no roster and no code: the name identifies the agency
    row["agency_code"], row["agency_name"] = code or None, name
    if row["data_year"] != year:
        row.update(status=REJECTED, reason_code="wrong_year",
                   reason=f"文件是{row['data_year']}年度的，本次收集的是{year}年度")
    elif row["format_id"] != spec.id:
        row.update(status=REJECTED, reason_code="wrong_format",
                   reason=f"文件的格式版本为 {row['format_id']}，{year}年度应使用 {spec.id}（请用本次下发的模板填写）")
    elif roster is not None and roster.get(code or "") is None:
        row.update(status=REJECTED, reason_code="unknown_agency",
                   reason=f"单位“{name}”（代码 {code or '空'}）不在{year}年度名单中")
    else:
        row["status"] = checked
    return row


def collect(inbox, *, db, year: int, roster_path=None, jobs: int | None = None, show_progress: bool = True,
            spec=None, roster=None) -> CollectResult:
    """Import every workbook under ``inbox`` into the store ``db`` for ``year``."""
    from xlsxgen.formats import check_year, resolve_format
    from xlsxgen.roster import read_roster

    inbox_p = Path(inbox)
    if not inbox_p.exists():
        raise UsageError(f"收件文件夹 {inbox_p} 不存在")
    if not inbox_p.is_dir():
        raise UsageError(f"{inbox_p} 不是文件夹；请给出存放回收工作簿的文件夹")
    if spec is None:
        spec = resolve_format(None, year)
        check_year(spec, year)
    if roster is None and roster_path is not None:
        roster = read_roster(roster_path)  # a bad roster fails before anything is written
    result = CollectResult(year=year, inbox=str(inbox_p), db=str(db))
    start = time.monotonic()
    with Store.open(db) as store:
        if roster is not None:
            store.save_roster(year, roster)
        else:
            roster = store.roster(year)
        result.readmitted = store.readmit(year, None if roster is None else [a.code for a in roster], spec.id)
        total = sum(1 for _ in scan(inbox_p))
        run_id = store.start_run(year, str(inbox_p.resolve()))
        received_at = _dt.datetime.now().astimezone().isoformat(timespec="microseconds")
        other = _OtherFiles()
        pending: list[dict] = []
        last_flush = time.monotonic()
        seen_in_run: set[str] = set()

        def flush():
            nonlocal last_flush
            if pending:
                n = store.add_submissions(pending)
                result.imported += n
                result.duplicates += len(pending) - n
                pending.clear()
            last_flush = time.monotonic()

        def handle(res: dict):
            result.files_seen += 1
            if res.get("skip"):
                result.already += 1
                return
            sha = res.get("sha256")
            if sha is None:  # could not even be read: identify it by path and size
                sha = "unread:" + hashlib.sha256(f"{res['rel']}|{res['size']}|{res['file_mtime']}".encode()).hexdigest()
                res["sha256"] = sha
            if sha in seen_in_run:
                result.duplicates += 1
                return
            if len(seen_in_run) < 100_000:
                seen_in_run.add(sha)
            row = classify(res, year=year, spec=spec, roster=roster)
            row["received_at"] = received_at
            row["run_id"] = run_id
            result.by_status[row["status"]] += 1
            pending.append(row)
            if len(pending) >= BATCH_ROWS or time.monotonic() - last_flush > BATCH_SECONDS:
                flush()

        progress = Progress("收集", total, quiet=not show_progress)
        try:
            for res in _run(scan(inbox_p, other), store.path, year, jobs, total):
                handle(res)
                progress.advance()
        except KeyboardInterrupt:
            result.interrupted = True
            raise
        finally:
            progress.close()
            try:
                flush()
            except Exception:  # noqa: BLE001 - keep the original error
                if not result.interrupted:
                    raise
            result.other_files = Counter(other)
            result.other_examples = list(other.examples)
            result.seconds = time.monotonic() - start
        store.finish_run(run_id, files_seen=result.files_seen, imported=result.imported,
                         skipped=result.already + result.duplicates)
    return result


def _chunks(it, n):
    buf = []
    for x in it:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


def _default_jobs() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, n)


def _run(tasks, db_path: str, year: int, jobs: int | None, total: int):
    """Yield a result per file: in-process for small batches, else on a process pool."""
    jobs = jobs or _default_jobs()
    if jobs <= 1 or total < MIN_FILES_FOR_POOL:
        _init_worker(db_path, year, ignore_sigint=False)
        try:
            for t in tasks:
                yield process_file(t)
        finally:
            _W.get("conn") and _W["conn"].close()
            _W.clear()
        return
    yield from _run_pool(tasks, db_path, year, jobs)


def _run_pool(tasks, db_path, year, jobs):
    window = jobs * 4
    chunks = _chunks(tasks, CHUNK)
    retry: list[list[FileTask]] = []  # chunks of a pool that broke, to redo one file at a time
    ex = cf.ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(db_path, year))
    running: dict = {}
    exhausted = False
    try:
        while True:
            while len(running) < window:
                if retry:
                    chunk = retry.pop()
                elif not exhausted:
                    chunk = next(chunks, None)
                    if chunk is None:
                        exhausted = True
                        continue
                else:
                    break
                running[ex.submit(process_chunk, chunk)] = chunk
            if not running:
                break
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                chunk = running.pop(fut)
                try:
                    yield from fut.result()
                except cf.process.BrokenProcessPool:
                    broken = True
                    if len(chunk) == 1:
                        yield _crashed(chunk[0])
                    else:
                        retry.extend([t] for t in chunk)
            if broken:
                for fut, chunk in running.items():
                    fut.cancel()
                    retry.extend([t] for t in chunk)
                running.clear()
                ex.shutdown(wait=False, cancel_futures=True)
                ex = cf.ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(db_path, year))
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def _crashed(task: FileTask) -> dict:
    h = hashlib.sha256()
    try:
        with open(task.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        sha = h.hexdigest()
    except OSError:
        sha = None
    return {"path": task.path, "rel": task.rel, "file_name": os.path.basename(task.path), "size": task.size,
            "file_mtime": task.mtime, "sha256": sha, "status": UNREADABLE,
            "reason": "读取该文件时程序异常退出（文件可能已损坏或被恶意构造）"}


# ---------------------------------------------------------------------------- the overview


@dataclass(slots=True)
class OverviewRow:
    position: int
    code: str
    name: str
    parent: str
    kind: str
    state: str  # key of STATE_LABELS
    errors: int = 0
    warnings: int = 0
    file_name: str = ""
    received_at: str = ""
    versions: int = 0
    note: str = ""
    record_id: int | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class Overview:
    year: int
    rows: list[OverviewRow]
    rejected: list  # Records rejected or not attributable to an agency
    has_roster: bool

    def counts(self) -> dict[str, int]:
        c = Counter(r.state for r in self.rows)
        return {k: c.get(k, 0) for k in STATE_LABELS}

    @property
    def usable_codes(self) -> list[str]:
        return [r.code for r in self.rows if r.state in ("ok", "warning")]


_REJECT_WORDS = {"wrong_year": "年度不符", "wrong_format": "格式版本不符", "unknown_agency": "不在名单中",
                 "unreadable": "无法读取且无法识别单位"}


def os_reason(e: OSError) -> str:
    """A Chinese reason for the common OS errors (strerror is English on Linux)."""
    import errno

    words = {errno.ENOENT: "路径不存在", errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOSPC: "磁盘已满",
             errno.EROFS: "只读文件系统", errno.ENOTDIR: "路径中有一段不是文件夹", errno.EISDIR: "是文件夹"}
    return words.get(e.errno, e.strerror or str(e))


def prepare_out_dir(out_dir) -> Path:
    """Create the output folder (before any work, so that a bad path fails first)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"输出位置 {out} 是文件，不是文件夹")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"无法创建输出文件夹 {out}：{os_reason(e)}") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"无法写入输出文件夹 {out}：没有写权限")
    return out


class _Brief(NamedTuple):
    agency_name: str | None
    status: str
    errors: int
    warnings: int
    file_name: str
    received_at: str
    id: int
    reason: str | None


def build_overview(store: Store, year: int, roster=None) -> Overview:
    """Per agency of the roster (or per agency seen, without one): its current state."""
    if roster is None:
        roster = store.roster(year)
    # what the rows need of each current submission (not whole records: 10,000 agencies stay a few MB)
    current = {r.agency_code: _Brief(r.agency_name, r.status, r.errors, r.warnings, r.file_name, r.received_at, r.id,
                                     r.reason)
               for r in store.current(year, with_data=False, with_findings=False)}
    versions = store.submission_counts(year)
    rejected = store.unattributed(year)
    rejected_by_code: dict[str, list] = {}
    for r in rejected:
        if r.agency_code:
            rejected_by_code.setdefault(r.agency_code, []).append(r)
    rows: list[OverviewRow] = []
    entries = [(a.code, a.name, a.parent, a.kind) for a in roster] if roster is not None else []
    known = {e[0] for e in entries}
    for code in sorted(c for c in current if c not in known):
        rec = current[code]
        entries.append((code, rec.agency_name or code, "", ""))
    for i, (code, name, parent, kind) in enumerate(entries, 1):
        rec = current.get(code)
        row = OverviewRow(i, code, name, parent, kind, "missing", versions=versions.get(code, 0))
        if rec is not None:
            row.state = _STATE_OF_STATUS.get(rec.status, "invalid")
            row.errors, row.warnings = rec.errors, rec.warnings
            row.file_name, row.received_at, row.record_id = rec.file_name, rec.received_at, rec.id
            if rec.status == UNREADABLE:
                row.note = rec.reason or ""
            elif rec.status in (INVALID, WARNING):
                row.note = _first_problem(store.get(rec.id))
            if roster is not None and code not in known:
                row.note = (row.note + "；" if row.note else "") + "不在名单中"
        rj = rejected_by_code.get(code)
        if rj and (rec is None or rj[-1].received_at >= rec.received_at):
            row.note = (row.note + "；" if row.note else "") + f"有 {len(rj)} 份被拒收：{rj[-1].reason}"
        rows.append(row)
    return Overview(year, rows, rejected, roster is not None)


def _first_problem(rec) -> str:
    """The first (most severe) finding of a record, with its place, and how many there are."""
    if rec is None:
        return ""
    fs = rec.findings
    if not fs:
        return ""
    fs.sort(key=lambda f: f.get("severity") != "error")
    f = fs[0]
    where = "!".join(x for x in (f.get("sheet"), f.get("cell")) if x)
    text = (f"{where} " if where else "") + (f.get("message") or "")
    return text + (f"（共 {len(fs)} 项）" if len(fs) > 1 else "")


def usable_status(status: str) -> bool:
    return status in USABLE


# ---------------------------------------------------------------------------- terminal table


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (CJK and full-width characters count two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def _clip(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out, w = "", 0
    for ch in text:
        cw = display_width(ch)
        if w + cw > width - 1:
            break
        out += ch
        w += cw
    return out + "…"


def format_table(headers, rows, *, max_widths=None, align=None) -> str:
    """An aligned plain-text table (CJK-aware widths)."""
    rows = [[str(c) for c in r] for r in rows]
    n = len(headers)
    max_widths = max_widths or [40] * n
    rows = [[_clip(r[i], max_widths[i]) for i in range(n)] for r in rows]
    widths = [max([display_width(headers[i])] + [display_width(r[i]) for r in rows]) for i in range(n)]
    align = align or ["<"] * n

    def fmt(cells):
        out = []
        for i, c in enumerate(cells):
            pad = " " * (widths[i] - display_width(c))
            out.append(pad + c if align[i] == ">" else c + pad)
        return "  ".join(out).rstrip()

    lines = [fmt(headers), "  ".join("─" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def overview_text(overview: Overview, *, show_all: bool = False, limit_ok: int = 60) -> str:
    """The overview as the terminal shows it: counts, then a table of the agencies."""
    counts = overview.counts()
    total = len(overview.rows)
    lines = [f"{overview.year}年度报送情况：共 {total} 个单位　" + "　".join(
        f"{STATE_LABELS[k]} {v}" for k, v in counts.items() if v or k in ("ok", "missing"))]
    rows = overview.rows
    hidden = 0
    if not show_all and total > limit_ok:
        shown = [r for r in rows if r.state != "ok"]
        hidden = total - len(shown)
        rows = shown
    if rows:
        table = format_table(
            ("序号", "代码", "单位", "状态", "错误", "警告", "次数", "备注"),
            [(r.position, r.code, r.name, r.label, r.errors or "", r.warnings or "", r.versions or "", r.note)
             for r in rows],
            max_widths=[5, 16, 28, 12, 4, 4, 4, 50], align=[">", "<", "<", "<", ">", ">", ">", "<"])
        lines += ["", table]
    if hidden:
        lines.append(f"（另有 {hidden} 个单位已提交且通过，未逐一列出；加 --all 显示全部）")
    if overview.rejected:
        kinds = Counter(_REJECT_WORDS.get(r.reason_code or "", "其他") for r in overview.rejected)
        lines += ["", f"未能计入任何单位的文件 {len(overview.rejected)} 个（"
                  + "、".join(f"{k} {v} 个" for k, v in kinds.most_common()) + "）："]
        for rec in overview.rejected[:10]:
            lines.append(f"  {rec.path or rec.file_name}：{rec.reason or '无法识别单位'}")
        if len(overview.rejected) > 10:
            lines.append(f"  ……其余 {len(overview.rejected) - 10} 个见报送情况表的“未接收的文件”")
    if not overview.has_roster:
        lines.append("（未提供名单：无法列出未提交的单位；用 --roster 指定名单）")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- outputs


@dataclass
class Outputs:
    overview: Path | None = None
    feedback_dir: Path | None = None
    feedback: list = field(default_factory=list)
    consolidated: Path | None = None
    official: Path | None = None
    sum_json: Path | None = None
    drafts: list = field(default_factory=list)
    data_dir: Path | None = None
    data_files: int = 0
    summed: int = 0
    notes: list = field(default_factory=list)


FEEDBACK_PREFIX = "反馈单-"


def write_outputs(store: Store, overview: Overview, *, spec, out_dir, sum_name: str = "", sum_code: str = "",
                  draft_formats=("docx", "md")) -> Outputs:
    """Write the overview, feedback files, consolidated workbooks, drafts and canonical JSON to ``out_dir``."""
    from xlsxgen.commands._common import write_atomic
    from xlsxgen.consolidate import build_overview_workbook, sum_store, write_consolidated_workbook
    from xlsxgen.feedback import build_feedback
    from xlsxgen.generate import build_workbook
    from xlsxgen.roster import safe_file_part

    year = overview.year
    out = prepare_out_dir(out_dir)
    res = Outputs()
    sum_name = sum_name or "各单位汇总"

    # 1. the overview
    res.overview = write_atomic(out / f"报送情况-{year}.xlsx",
                                build_overview_workbook(overview, title=f"{year}年度政府信息公开工作年度报告报送情况"))

    # 2. feedback, one per agency with problems (stale ones of earlier runs are removed)
    fb_dir = out / "反馈单"
    fb_dir.mkdir(exist_ok=True)
    res.feedback_dir = fb_dir
    wanted = set()
    for row in overview.rows:
        if row.state not in ("invalid", "warning", "unreadable") or row.record_id is None:
            continue
        rec = store.get(row.record_id)
        name = f"{FEEDBACK_PREFIX}{year}-{safe_file_part(row.code, 30)}-{safe_file_part(row.name)}.xlsx"
        template = f"{year}-{safe_file_part(row.code, 30)}-{safe_file_part(row.name)}.xlsx"
        data = build_feedback(spec=spec, year=year, agency_name=row.name, agency_code=row.code, record=rec,
                              template_name=template)
        res.feedback.append(write_atomic(fb_dir / name, data))
        wanted.add(name)
    _remove_stale(fb_dir, f"{FEEDBACK_PREFIX}{year}-*.xlsx", keep=wanted)

    # 3. canonical JSON of every accepted submission
    data_dir = out / "数据"
    data_dir.mkdir(exist_ok=True)
    res.data_dir = data_dir
    labels = {r.code: r.label for r in overview.rows}
    written = set()
    for rec in store.current(year, with_data=True):
        if rec.usable and rec.data_json:
            name = f"{year}-{safe_file_part(rec.agency_code or '', 30)}-{safe_file_part(rec.agency_name or '')}.json"
            _write_quick(data_dir / name, canonical_text(json.loads(rec.data_json)))
            written.add(name)
            res.data_files += 1
    _remove_stale(data_dir, f"{year}-*.json", keep=written)

    # 4. the consolidated workbook (streamed) and the sum in the official layout
    res.consolidated = out / f"汇总表-{year}.xlsx"

    def state_label(rec):
        return labels.get(rec.agency_code) or STATE_LABELS.get(_STATE_OF_STATUS.get(rec.status, ""), rec.status)

    total, res.summed = write_consolidated_workbook(
        res.consolidated, spec=spec, year=year, state_label=state_label, sum_name=sum_name,
        records=(r for r in store.current(year, with_data=True) if r.status in USABLE + (INVALID,)))
    total.agency_code = sum_code
    if res.summed:
        from xlsxgen.data import to_canonical

        prev_total, _ = sum_store(spec, store, year - 1, agency_name=sum_name, agency_code=sum_code)
        res.official = write_atomic(
            out / f"汇总-{year}-{safe_file_part(sum_name)}.xlsx",
            build_workbook(spec, year=year, agency_name=sum_name, agency_code=sum_code, data=total,
                           previous=prev_total))
        res.sum_json = write_atomic(out / f"汇总数据-{year}.json",
                                    json.dumps(to_canonical(spec, total), ensure_ascii=False, indent=2) + "\n")
        # 5. the report draft of the sum
        try:
            from xlsxgen.render import SUFFIXES, render_report
        except ImportError:
            res.notes.append("报告草稿模块不可用，未生成汇总报告草稿")
        else:
            for fmt in draft_formats:
                try:
                    body, warnings = render_report(spec, total, fmt, previous=prev_total)
                except XlsxgenError as e:
                    res.notes.append(f"汇总报告草稿（{fmt}）未生成：{e}")
                    continue
                res.drafts.append(write_atomic(out / f"年报草稿-{safe_file_part(sum_name)}-{year}{SUFFIXES[fmt]}",
                                               body))
    else:
        res.notes.append("还没有通过校验的报送，未生成汇总数据和报告草稿")
    return res


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(v, ensure_ascii=False), without a new encoder per call


def canonical_text(doc: dict) -> str:
    """Canonical JSON, indented down to the table rows (one line per row): readable and fast to write."""
    enc = _ENCODE

    def block(obj: dict, depth: int, inline_at: int) -> str:
        pad = "  " * (depth + 1)
        items = []
        for k, v in obj.items():
            if isinstance(v, dict) and v and depth + 1 < inline_at:
                items.append(f"{pad}{enc(k)}: {block(v, depth + 1, inline_at)}")
            else:
                items.append(f"{pad}{enc(k)}: {enc(v)}")
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}" if items else "{}"

    parts = []
    for k, v in doc.items():
        if k == "tables" and isinstance(v, dict):
            parts.append(f"  {enc(k)}: {block(v, 1, 3)}")
        elif isinstance(v, dict) and v:
            parts.append(f"  {enc(k)}: {block(v, 1, 2)}")
        else:
            parts.append(f"  {enc(k)}: {enc(v)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _write_quick(path: Path, text: str) -> None:
    """Write a derived file via a temporary name and a rename (no fsync: it can be regenerated)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise XlsxgenError(f"无法写入 {path}：{os_reason(e)}") from None


def _remove_stale(folder: Path, pattern: str, keep: set) -> None:
    """Delete earlier outputs (never inputs) matching ``pattern`` that this run did not write again."""
    for old in folder.glob(pattern):
        if old.name not in keep:
            try:
                old.unlink()
            except OSError:
                pass
