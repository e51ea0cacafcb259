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

import importer
from xlsxgen.collection.progress import Progress
from xlsxgen.collection.roster import read_roster
from xlsxgen.collection.statuses import ACCEPTED, INVALID, REJECTED, UNREADABLE, WARNING
from xlsxgen.collection.store import Store
from xlsxgen.data import from_canonical_trusted, to_canonical
from xlsxgen.errors import UsageError, XlsxgenError
from xlsxgen.spec.versions import check_year, format_of, resolve_format

SPREADSHEET_LIKE = (".xls", ".et", ".xlsm", ".xlsb", ".ods", ".csv", ".wps")
BATCH_ROWS = 200  # results per write transaction
BATCH_SECONDS = 2.0
CHUNK = 4  # files per worker task
MIN_FILES_FOR_POOL = 8
MAX_FILE_BYTES = 50 * 1024 * 1024


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
    _W.clear()
    _W.update(store=Store.open_readonly(db_path), year=year, prev_cache={})


def _previous_for(spec, code: str, year: int):
    """Last year's accepted data of ``code`` (a Submission), from the store."""
    if not code or not year:
        return None
    key = (spec.id, code, year)
    cache = _W["prev_cache"]
    if key in cache:
        return cache[key]
    doc = _W["store"].usable_data(year - 1, code)
    prev = None
    if doc:
        prev_spec = format_of(doc.get("format"), spec)  # last year in an older format: the validator maps what it can
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
    if _W and _W["store"].has(_W["year"], sha):
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
            for res in _run(scan(inbox_p, other), store.target, year, jobs, total):
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
            _W.get("store") and _W["store"].close()
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


# ---------------------------------------------------------------------------- terminal table


# ---------------------------------------------------------------------------- outputs


