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
import stat
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import importer
from xlsxgen.collection.progress import Progress
from xlsxgen.collection.roster import named_agency, read_roster
from xlsxgen.collection.statuses import ACCEPTED, INVALID, REJECTED, UNREADABLE, WARNING
from xlsxgen.collection.store import Store
from xlsxgen.data import from_canonical_trusted, to_canonical
from xlsxgen.errors import UsageError, XlsxgenError
from xlsxgen.files import OUTPUT_MARKER, display_name, display_path
from xlsxgen.spec.versions import check_year, format_of, resolve_format
from xlsxgen.workbook.plan import CONSOLIDATED_ROLE

BATCH_ROWS = 200  # results per write transaction
BATCH_SECONDS = 2.0
CHUNK = 4  # files per worker task
MIN_FILES_FOR_POOL = 1  # with more than one job, files are read in worker processes (budgets enforced there)
MAX_FILE_BYTES = 50 * 1024 * 1024  # larger files are not read at all (not even hashed)
MAX_ARCHIVE_MEMBERS = 200
MAX_ARCHIVE_TOTAL = 200 * 1024 * 1024  # uncompressed bytes read from one archive, nesting included
MAX_ARCHIVE_DEPTH = 1  # a zip inside a zip is opened; one inside that is not
TIME_BUDGET_SECONDS = 30.0  # wall time to read and validate one file in a worker
MEMORY_BUDGET_MB = 1024  # how far a worker's address space may grow beyond its size at start
SPARSE_MIN_BYTES = 1024 * 1024  # a file this large occupying less than half its size on disk is sparse

# what a file that is not a workbook is, and what to ask its sender for (tool wording, not a format's)
_ASK_XLSX = "请在 Excel/WPS 中另存为 .xlsx（Excel 工作簿）后重新报送，最好直接在下发的模板中填写"
_ASK_TEMPLATE = "请用下发的 .xlsx 填报工作簿填写后报送（文字材料填在工作簿中）"
OTHER_KINDS = {
    (".xls", ".et", ".ods", ".xlsm", ".xlsb", ".csv", ".numbers"): ("spreadsheet", "其他格式的表格（{ext}），不是 .xlsx 工作簿", _ASK_XLSX),
    (".doc", ".docx", ".wps", ".odt", ".rtf", ".txt", ".pdf", ".ofd", ".html", ".htm"):
        ("document", "文档（{ext}），不是填报工作簿", _ASK_TEMPLATE),
    (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic"):
        ("image", "图片（{ext}，扫描件或截图），无法读取数据", "请报送填好的 .xlsx 工作簿，不要拍照、截图或扫描"),
    (".rar", ".7z", ".tar", ".gz", ".bz2", ".xz", ".tgz"):
        ("archive", "压缩包（{ext}）无法打开（只能打开 .zip）", "请直接发送 .xlsx 工作簿，或改用 .zip 压缩"),
}
SKIP_WORDS = {  # reason codes of entries that were not collected -> what the status workbook calls them
    "other_type": "不是 .xlsx 工作簿",
    "hidden": "隐藏文件",
    "lock_file": "Office 临时文件",
    "symlink_outside": "链接指向收件文件夹以外",
    "symlink_dir": "链接的文件夹",
    "special": "不是普通文件",
    "sparse": "稀疏文件",
    "too_large": "文件过大",
    "out_dir": "本工具的输出文件夹",
    "own_output": "本工具生成的文件",
    "archive": "压缩包问题",
    "unreadable_entry": "无法访问",
}


@dataclass(slots=True)
class FileTask:
    path: str  # as the OS gives it (undecodable bytes as surrogates)
    rel: str  # readable and printable form, relative to the inbox (display_path)
    size: int
    mtime: str
    gbk: bool = False  # the name was not UTF-8


@dataclass(slots=True)
class Skipped:
    """An inbox entry that was not collected, and why."""

    path: str  # readable, printable, relative to the inbox (``a.zip!b.doc`` inside an archive)
    code: str  # key of SKIP_WORDS
    reason: str
    ask: str = ""  # what to ask the sender for
    size: int = 0
    agency_code: str = ""
    agency_name: str = ""
    matched_by: str = ""

    @property
    def file_name(self) -> str:
        return self.path.rsplit("!", 1)[-1].rsplit("/", 1)[-1]


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
    skipped: list = field(default_factory=list)  # Skipped entries (not collected), every one
    held: int = 0  # submissions held because the file name names another agency
    readmitted: int = 0
    seconds: float = 0.0
    interrupted: bool = False


def other_kind(name: str) -> tuple[str, str, str]:
    """(kind, reason, ask) of a file that is not a workbook, by its extension."""
    ext = os.path.splitext(name)[1].lower()
    for exts, (kind, reason, ask) in OTHER_KINDS.items():
        if ext in exts:
            return kind, reason.format(ext=ext), ask
    return "other", f"不是 .xlsx 工作簿（{ext or '无扩展名'}）", "请报送填好的 .xlsx 填报工作簿"


# ---------------------------------------------------------------------------- scanning


def _mtime(st) -> str:
    return _dt.datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(timespec="microseconds")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def scan(inbox: str | os.PathLike, skipped=None, *, exclude=()):
    """Yield every ``.xlsx`` and ``.zip`` under ``inbox`` (recursively, streamed, sorted per folder).

    Nothing is ignored silently: every other entry is passed to ``skipped`` (a
    callable taking a :class:`Skipped`) when given — hidden files, Office lock
    files, files of other types, symlinks that lead out of the inbox, linked
    folders, FIFOs and devices, sparse or oversized files, and the folders in
    ``exclude`` (e.g. the output folder inside the inbox). Names that are not
    UTF-8 are handled as the OS gives them and shown readably (GBK decoded).
    """
    root = os.path.realpath(os.fspath(inbox))
    excluded = {os.path.realpath(os.fspath(x)) for x in exclude if x}
    report = skipped or (lambda s: None)
    stack = [os.fspath(inbox)]
    base = os.fspath(inbox)

    def rel_of(path):
        return display_path(os.path.relpath(path, base))

    while stack:
        folder = stack.pop()
        # names and kinds only, sorted: an inbox of 10,000 files costs a list of short strings, not of DirEntry objects
        entries: list[tuple[str, int]] = []  # (name, 0 file / 1 folder / 2 symlink)
        try:
            with os.scandir(folder) as it:
                for e in it:
                    try:
                        kind = 2 if e.is_symlink() else (1 if e.is_dir(follow_symlinks=False) else 0)
                    except OSError:
                        kind = 0
                    entries.append((e.name, kind))
        except OSError as e:
            if folder != base:
                report(Skipped(rel_of(folder)[0], "unreadable_entry", f"无法打开文件夹（{e.strerror or e}）"))
                continue
            raise
        entries.sort()
        subdirs = []
        for name, kind in entries:
            path = os.path.join(folder, name)
            rel, gbk = rel_of(path)
            if kind == 1:
                if os.path.realpath(path) in excluded:
                    report(Skipped(rel + "/", "out_dir", "本工具的输出文件夹（汇总表、反馈单等），不收集"))
                elif name.startswith("."):
                    report(Skipped(rel + "/", "hidden", "隐藏文件夹，未收集"))
                else:
                    subdirs.append(path)
                continue
            if name.startswith("."):
                report(Skipped(rel, "hidden", "隐藏文件，未收集"))
                continue
            if name.startswith("~$"):
                report(Skipped(rel, "lock_file", "Office 的临时锁定文件（文件正被打开时产生），不是报送文件"))
                continue
            try:
                st = os.stat(path)  # follows a symlink: what the name leads to
            except OSError as e:
                report(Skipped(rel, "unreadable_entry",
                               "链接指向的文件不存在" if kind == 2 else f"无法访问（{e.strerror or e}）"))
                continue
            if kind == 2:
                target = os.path.realpath(path)
                if not _within(target, root) or any(_within(target, x) for x in excluded):
                    report(Skipped(rel, "symlink_outside", "这是一个链接，指向收件文件夹以外的位置，未读取",
                                   "请把报送文件本身放进收件文件夹"))
                    continue
                if stat.S_ISDIR(st.st_mode):
                    report(Skipped(rel + "/", "symlink_dir", "这是指向文件夹的链接，未进入（其中的文件请直接放在收件文件夹中）"))
                    continue
            if not stat.S_ISREG(st.st_mode):
                report(Skipped(rel, "special", "不是普通文件（管道、设备或套接字），未读取"))
                continue
            ext = os.path.splitext(name)[1].lower()
            if ext not in (".xlsx", ".zip"):
                _, reason, ask = other_kind(name)
                report(Skipped(rel, "other_type", reason, ask, st.st_size))
                continue
            blocks = getattr(st, "st_blocks", None)
            if blocks is not None and st.st_size >= SPARSE_MIN_BYTES and blocks * 512 < st.st_size // 2:
                report(Skipped(rel, "sparse", f"稀疏文件（标称 {st.st_size // (1024 * 1024)} MB，实际几乎不占磁盘），"
                                              "不是正常的报送文件，未读取", "请重新发送原文件", st.st_size))
                continue
            if st.st_size > MAX_FILE_BYTES:
                report(Skipped(rel, "too_large", f"文件过大（{st.st_size // (1024 * 1024)} MB），"
                                                 "不是正常的填报工作簿，未读取", "请确认文件是否正确，重新发送填报工作簿",
                               st.st_size))
                continue
            yield FileTask(path, rel, st.st_size, _mtime(st), gbk)
        stack.extend(reversed(subdirs))


# ---------------------------------------------------------------------------- the worker side

_W: dict = {}


class BudgetExceeded(BaseException):
    """Raised in a worker when one file has used up its time budget (a BaseException: nothing may swallow it)."""


def _on_alarm(signum, frame):  # noqa: ARG001
    raise BudgetExceeded()


def _die_with_parent() -> None:
    """Linux: let the kernel kill this worker when its parent dies (even by kill -9)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _limit_memory() -> None:
    """Cap this worker's address space at its current size plus the memory budget."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = size + MEMORY_BUDGET_MB * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError, ImportError, AttributeError):
        pass


def _init_worker(db_path: str, year: int, ignore_sigint: bool = True, parent: int | None = None) -> None:
    """Per-process state: a read-only view of the store (known hashes, last year's data); budgets in workers."""
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
        _die_with_parent()
        if parent is not None and os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
        _limit_memory()
    _W.clear()
    store = Store.open_readonly(db_path)
    # files already stored, known locally: a new file costs no query (a hit is confirmed by store.has)
    _W.update(store=store, year=year, prev_cache={}, known=store.known_hash_prefixes(year),
              worker=ignore_sigint)


def previous_from(store: Store, spec, code: str, year: int):
    """Last year's accepted data of ``code`` (a Submission) from ``store``, or None."""
    return previous_of(spec, store.usable_data(year - 1, code))


def previous_of(spec, doc: dict | None):
    """Last year's stored canonical data ``doc`` as a Submission for the rules of ``spec``, or None."""
    if doc:
        prev_spec = format_of(doc.get("format"), spec)  # last year in an older format: the validator maps what it can
        if prev_spec is not None:
            return from_canonical_trusted(prev_spec, doc)
    return None


def _previous_for(spec, code: str, year: int):
    """Last year's accepted data of ``code`` (a Submission), from the worker's store (cached)."""
    if not code or not year:
        return None
    key = (spec.id, code, year)
    cache = _W["prev_cache"]
    if key in cache:
        return cache[key]
    having = _W.setdefault("prev_codes", {})
    if year - 1 not in having:  # one query per worker: which agencies have last year's data at all
        having[year - 1] = _W["store"].codes_with_usable(year - 1)
    prev = previous_from(_W["store"], spec, code, year) if code in having[year - 1] else None
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


def _import(data: bytes, name: str, store: Store | None = None, known: tuple | None = None):
    """Read and validate one workbook: (status, reason, spec, submission, findings, metadata).

    Cross-year rules use the agency's accepted data of the previous year from
    the store (the worker's, or ``store``); without it, the last-year values the
    workbook itself carries. ``known``: ``(code, year, data)``, the stored data of
    ``year - 1`` of agency ``code`` already read (used when the workbook is that agency's of that year).
    """

    res = importer.read_workbook(data, name=name)
    if res.status == "unreadable" or res.submission is None or res.spec is None:
        return UNREADABLE, (res.reason or "无法读取"), None, None, list(res.findings), res.metadata
    sub, spec = res.submission, res.spec
    if known is not None and (sub.agency_code, sub.year) == known[:2]:
        prev = previous_of(spec, known[2])
    elif store is not None:
        prev = previous_from(store, spec, sub.agency_code, sub.year) if sub.agency_code and sub.year else None
    else:
        prev = _previous_for(spec, sub.agency_code, sub.year) if _W else None
    importer.validate_result(res, prev)
    return None, None, spec, sub, list(res.findings), res.metadata


def is_own_output(data: bytes) -> bool:
    """True for a workbook a collection wrote (status, feedback, consolidated table): its keywords say so."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo("docProps/core.xml")
            if info.file_size > 64 * 1024:
                return False
            with z.open(info) as fh:
                return OUTPUT_MARKER.encode() in fh.read(64 * 1024)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile, NotImplementedError, EOFError, RuntimeError):
        return False


def _with_budget(fn, *args):
    """``fn(*args)`` under the per-file time budget (a SIGALRM timer; in the main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return fn(*args)  # (Windows has no interval timer: the parent's deadline still stops a stuck worker)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_BUDGET_SECONDS)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def process_file(task: FileTask) -> list[dict]:
    """Read, hash and validate one file (a workbook, or every workbook of a .zip): compact results. Never raises."""
    base = {"path": task.rel, "rel": task.rel, "file_name": task.rel.rsplit("/", 1)[-1], "size": task.size,
            "file_mtime": task.mtime}
    try:
        if task.size > MAX_FILE_BYTES:
            return [dict(base, skipped=Skipped(task.rel, "too_large", "文件过大，未读取", size=task.size))]
        with open(task.path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return [dict(base, skipped=Skipped(task.rel, "too_large", "文件过大，未读取", size=len(data)))]
    except OSError as e:
        return [dict(base, sha256=None, status=UNREADABLE, reason=f"无法读取文件：{e.strerror or e}")]
    if task.path.lower().endswith(".zip"):
        out: list[dict] = []
        _archive(data, task.rel, base, out, depth=0)
        return out
    return [process_bytes(data, base)]


def process_bytes(data: bytes, base: dict) -> dict:
    """Hash, and unless the store has it, read and validate one workbook's bytes under the budgets."""
    out = dict(base)
    sha = hashlib.sha256(data).hexdigest()
    out["sha256"] = sha
    out["size"] = len(data)
    if _W and int(sha[:16], 16) in _W["known"] and _W["store"].has(_W["year"], sha):
        out["skip"] = True
        return out
    return process_data(data, out)


def process_data(data: bytes, out: dict, store: Store | None = None, previous: tuple | None = None) -> dict:
    """Read and validate the bytes of one file into ``out`` (see :func:`process_file`). Never raises.

    ``out`` carries path, rel, file_name, size, file_mtime and sha256; ``store``
    (when not in a worker) gives last year's data. The web portal's upload uses it, with
    ``previous``: ``(code, year, data)`` — the stored data of ``year - 1`` of the agency of the link,
    read with the link (used when the workbook is that agency's of that year).
    """
    started = time.perf_counter()
    try:
        status, reason, spec, sub, findings, meta = _with_budget(_import, data, out["file_name"], store, previous)
        out["read_seconds"] = time.perf_counter() - started  # reading and checking (the portal reports it)
    except BudgetExceeded:
        out.update(status=UNREADABLE, reason=f"文件内容异常复杂，{TIME_BUDGET_SECONDS:.0f} 秒内未能读完，已停止读取"
                                             "（正常的填报工作簿不到 1 秒）")
        return out
    except MemoryError:
        out.update(status=UNREADABLE, reason=f"读取该文件所需内存超过 {MEMORY_BUDGET_MB} MB，已停止读取"
                                             "（正常的填报工作簿只需几 MB）")
        return out
    except XlsxgenError as e:
        out.update(status=UNREADABLE, reason=str(e))
        return out
    except Exception as e:  # noqa: BLE001 - a hostile or odd file must not stop the batch
        out.update(status=UNREADABLE, reason=f"读取时出错（{type(e).__name__}）")
        return out
    fl = [_finding_dict(f) for f in findings]
    if status == UNREADABLE:
        if is_own_output(data):
            out["skipped"] = Skipped(out["rel"], "own_output", "本工具生成的文件（报送情况表、反馈单或汇总表），不作为报送收集",
                                     size=len(data))
            return out
        out.update(status=UNREADABLE, reason=reason,
                   findings=json.dumps(fl, ensure_ascii=False, separators=(",", ":")))
        return out

    out.update(
        status="read",
        format_id=spec.id,
        agency_code=sub.agency_code or "",
        agency_name=sub.agency_name or "",
        data_year=sub.year,
        own_output=(meta or {}).get("role") == CONSOLIDATED_ROLE,
        errors=sum(1 for f in fl if f.get("severity") == "error"),
        warnings=sum(1 for f in fl if f.get("severity") == "warning"),
        findings=json.dumps(fl, ensure_ascii=False, separators=(",", ":")),
        data=json.dumps(to_canonical(spec, sub), ensure_ascii=False, separators=(",", ":")),
    )
    return out


def _member_name(info) -> str:
    """A member's name as its author saw it: zip names without the UTF-8 flag are often GBK (Windows)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                name = display_name(os.fsdecode(raw))[0]
        except UnicodeEncodeError:
            pass
    return display_path(name.replace("\\", "/"))[0]


def _archive(data: bytes, label: str, base: dict, out: list, depth: int) -> None:
    """Collect the workbooks of a .zip in memory (nothing is written to disk, so no member path can escape).

    The hostile-file limits apply to the archive and to every member: number of
    members, declared and actual uncompressed size, compression ratio; an
    encrypted member, a deeper nesting than :data:`MAX_ARCHIVE_DEPTH` and every
    member that is not a workbook are reported as skipped.
    """
    import io
    import zipfile

    from importer.safety import DEFAULT_LIMITS

    def skip(path, code, reason, ask="", size=0):
        out.append(dict(base, path=path, rel=path, skipped=Skipped(path, code, reason, ask, size)))

    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, RuntimeError):
        skip(label, "archive", "压缩包已损坏或不是 .zip 文件，无法打开", "请重新发送（或直接发送 .xlsx 工作簿）", len(data))
        return
    members = [i for i in infos if not i.is_dir()]
    if len(members) > MAX_ARCHIVE_MEMBERS:
        skip(label, "archive", f"压缩包内有 {len(members)} 个文件，超过上限 {MAX_ARCHIVE_MEMBERS}，未打开",
             "请只发送本单位的填报工作簿", len(data))
        return
    budget = [MAX_ARCHIVE_TOTAL]
    limit = DEFAULT_LIMITS.max_file_size
    with z:
        for info in members:
            name = _member_name(info)
            path = f"{label}!{name}"
            leaf = name.rsplit("/", 1)[-1]
            if name.startswith("__MACOSX/") or leaf.startswith("."):
                skip(path, "hidden", "压缩包中的隐藏文件，未收集")
                continue
            if leaf.startswith("~$"):
                skip(path, "lock_file", "Office 的临时锁定文件，不是报送文件")
                continue
            ext = os.path.splitext(leaf)[1].lower()
            if ext not in (".xlsx", ".zip"):
                _, reason, ask = other_kind(leaf)
                skip(path, "other_type", reason, ask, info.file_size)
                continue
            if ext == ".zip" and depth >= MAX_ARCHIVE_DEPTH:
                skip(path, "archive", "压缩包中套压缩包超过一层，未打开", "请直接发送 .xlsx 工作簿", info.file_size)
                continue
            if info.flag_bits & 0x1:
                skip(path, "archive", "压缩包设有密码，无法打开", "请发送不加密码的文件", info.file_size)
                continue
            cap = min(limit, budget[0])
            if info.file_size > cap:
                skip(path, "archive", f"压缩包中的文件解压后过大（{info.file_size // 1024} KB），未读取",
                     "请直接发送 .xlsx 工作簿", info.file_size)
                continue
            if info.compress_size and info.file_size / info.compress_size > DEFAULT_LIMITS.max_ratio:
                skip(path, "archive", "压缩比异常（疑似“压缩炸弹”），未读取", "请重新发送原文件", info.file_size)
                continue
            try:
                with z.open(info) as fh:
                    blob = fh.read(cap + 1)  # never trust the declared size
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, RuntimeError,
                    zlib.error):
                skip(path, "archive", "压缩包中的该文件已损坏，无法解压", "请重新发送", info.file_size)
                continue
            if len(blob) > cap:
                skip(path, "archive", "压缩包中的文件解压后过大，未读取", "请直接发送 .xlsx 工作簿", info.file_size)
                continue
            budget[0] -= len(blob)
            mbase = dict(base, path=path, rel=path, file_name=leaf, size=len(blob))
            if ext == ".zip":
                _archive(blob, path, mbase, out, depth + 1)
            else:
                out.append(process_bytes(blob, mbase))


def process_chunk(tasks: list[FileTask]) -> list[dict]:
    return [r for t in tasks for r in process_file(t)]


# ---------------------------------------------------------------------------- the parent side

HELD_CODE = "agency_mismatch"  # reason code of a submission held until someone confirms whose numbers they are
TWICE_CODE = "agency_twice"  # the same agency's workbook twice in one run, from differently named files


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
        guess, _how = named_agency(roster, row["path"] or row["file_name"])
        if guess:
            row.update(agency_code=guess.code, agency_name=guess.name)
        return row
    checked = INVALID if row["errors"] else (WARNING if row["warnings"] else ACCEPTED)
    row["checked_status"] = checked
    code, name = row["agency_code"] or "", row["agency_name"] or ""
    if roster is not None:
        agency = roster.get(code) if code else None
        if agency is None and code:
            agency = roster.match_code(code)  # 001 written as 1 somewhere along the way
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
        other, how = named_agency(roster, row["path"] or row["file_name"])
        row["_named"] = other.code if other is not None else ""
        if other is not None and other.code != code:
            row.update(status=REJECTED, reason_code=HELD_CODE, reason=held_reason(how, other, code, name))
    return row


def held_reason(how: str, other, code: str, name: str) -> str:
    return (f"{how}指向“{other.name}”（{other.code}），工作簿中的填报单位却是“{name}”（{code}）："
            f"可能是用了别的单位的模板。数据暂不计入；请核实后用 xlsxgen confirm 确认归属")


def collect(inbox, *, db, year: int, roster_path=None, jobs: int | None = None, show_progress: bool = True,
            spec=None, roster=None, out_dir=None) -> CollectResult:
    """Import every workbook under ``inbox`` into the store ``db`` for ``year``.

    ``out_dir`` (the output folder of this collection) is never collected when it
    lies inside the inbox.
    """

    inbox_p = Path(inbox)
    if not inbox_p.exists():
        raise UsageError(f"收件文件夹 {display_path(str(inbox_p))[0]} 不存在")
    if not inbox_p.is_dir():
        raise UsageError(f"{display_path(str(inbox_p))[0]} 不是文件夹；请给出存放回收工作簿的文件夹")
    if spec is None:
        spec = resolve_format(None, year)
        check_year(spec, year)
    if roster is None and roster_path is not None:
        roster = read_roster(roster_path)  # a bad roster fails before anything is written
    result = CollectResult(year=year, inbox=display_path(str(inbox_p))[0], db=str(db))
    start = time.monotonic()
    exclude = [out_dir] if out_dir else []
    db_real = os.path.realpath(os.fspath(db))
    with Store.open(db) as store:
        if roster is not None:
            store.save_roster(year, roster)
        else:
            roster = store.roster(year)
        result.readmitted = store.readmit(year, None if roster is None else [a.code for a in roster], spec.id)
        total = sum(1 for _ in scan(inbox_p, exclude=exclude))
        run_id = store.start_run(year, display_path(str(inbox_p.resolve()))[0])
        received_at = _dt.datetime.now().astimezone().isoformat(timespec="microseconds")
        pending: list[dict] = []
        last_flush = time.monotonic()
        seen_in_run: set[str] = set()
        first_of_agency: dict[str, dict] = {}  # agency code -> its first row of this run (identity seen twice)
        twice: list[str] = []  # hashes of rows already written that must be held after all

        def flush():
            nonlocal last_flush
            if pending:
                n = store.add_submissions(pending)
                result.imported += n
                result.duplicates += len(pending) - n
                for r in pending:  # what the twice check and the counts still need of a written row
                    for k in [k for k in r if k not in _LIGHT]:
                        del r[k]
                pending.clear()
            if twice:
                store.hold(year, list(twice), TWICE_CODE, _twice_reason)
                twice.clear()
            last_flush = time.monotonic()

        def note_skipped(sk: Skipped):
            if sk.code == "other_type" or sk.code == "archive":
                ext = os.path.splitext(sk.file_name)[1].lower() or "(无扩展名)"
                result.other_files[ext] += 1
                if len(result.other_examples) < 10:
                    result.other_examples.append(sk.path)
            agency, how = named_agency(roster, sk.path)
            if agency is not None:
                sk.agency_code, sk.agency_name, sk.matched_by = agency.code, agency.name, how
            result.skipped.append(sk)

        def handle(res: dict):
            if res.get("skipped") is not None:
                note_skipped(res["skipped"])
                return
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
            if res.get("own_output") and (roster is None or roster.get(res.get("agency_code") or "") is None):
                note_skipped(Skipped(res["rel"], "own_output", "本工具生成的汇总工作簿（汇总-年度-单位.xlsx），不作为报送收集",
                                     size=res.get("size") or 0))
                result.files_seen -= 1
                return
            row = classify(res, year=year, spec=spec, roster=roster)
            row["received_at"] = received_at
            row["run_id"] = run_id
            _check_twice(row, first_of_agency, twice)
            pending.append(row)
            if len(pending) >= BATCH_ROWS or time.monotonic() - last_flush > BATCH_SECONDS:
                flush()

        progress = Progress("收集", total, quiet=not show_progress)
        try:
            for res in _run(scan(inbox_p, note_skipped, exclude=exclude), store.target, year, jobs, total,
                            skip_paths={db_real}):
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
            result.seconds = time.monotonic() - start
        for rows in first_of_agency.values():
            for r in rows:
                result.by_status[r["status"]] += 1
                result.held += r.get("reason_code") in (HELD_CODE, TWICE_CODE)
        if hasattr(store, "save_skipped"):
            store.save_skipped(year, run_id, result.skipped)
        store.finish_run(run_id, files_seen=result.files_seen, imported=result.imported,
                         skipped=result.already + result.duplicates)
    return result


_twice_reason = ("同一次收集中收到该单位内容不同、文件名也不同的两个工作簿，可能其中一个是别的单位用错了模板。"
                 "数据暂不计入；请核实后用 xlsxgen confirm 确认哪一个属于该单位")


def _check_twice(row: dict, first: dict, twice: list) -> None:
    """Hold an agency's rows when its workbook identity arrives twice in this run from differently named files.

    A file whose own name names its agency is evidence enough and is not held;
    the others of that agency are (both of them when neither name says whose).
    """
    held = row.get("reason_code") == HELD_CODE
    if not row.get("agency_code") or (row["status"] in (UNREADABLE, REJECTED) and not held):
        first.setdefault("", []).append(row)
        return
    rows = first.setdefault(row["agency_code"], [])
    others = [r for r in rows if r["file_name"] != row["file_name"]]
    rows.append(row)
    if not others:
        return
    for r in [row, *others]:
        if r.get("reason_code") in (HELD_CODE, TWICE_CODE) or r.get("_named") == r["agency_code"]:
            continue
        r.update(status=REJECTED, reason_code=TWICE_CODE, reason=_twice_reason)
        if r is not row:
            twice.append(r["sha256"])  # may already be in the store: held there too


_LIGHT = ("file_name", "sha256", "status", "reason_code", "agency_code", "_named")


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


def _run(tasks, db_path: str, year: int, jobs: int | None, total: int, skip_paths=()):
    """Yield a result per file: in-process with ``jobs == 1``, else on a process pool (budgets enforced there)."""
    in_process = jobs == 1  # --jobs 1: in this process (the time budget applies, not the memory budget)
    jobs = jobs or _default_jobs()
    tasks = (t for t in tasks if os.path.realpath(t.path) not in skip_paths)
    if in_process or total < MIN_FILES_FOR_POOL:
        _init_worker(db_path, year, ignore_sigint=False)
        try:
            for t in tasks:
                yield from process_file(t)
        finally:
            _W.get("store") and _W["store"].close()
            _W.clear()
        return
    yield from _run_pool(tasks, db_path, year, min(jobs, max(1, total)))


def _new_pool(jobs, db_path, year):
    return cf.ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                  initargs=(db_path, year, True, os.getpid()))


def _kill_pool(ex) -> None:
    """Stop a pool whose worker is stuck beyond the budget (in C code a timer cannot interrupt)."""
    for p in list(getattr(ex, "_processes", {}).values() or []):
        try:
            p.kill()
        except (OSError, AttributeError):
            pass


def _run_pool(tasks, db_path, year, jobs):
    window = jobs * 4
    chunks = _chunks(tasks, CHUNK)
    retry: list[list[FileTask]] = []  # chunks of a pool that broke, to redo one file at a time
    ex = _new_pool(jobs, db_path, year)
    running: dict = {}
    started: dict = {}  # future -> when it was first seen running
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
            done, _ = cf.wait(running, timeout=1.0, return_when=cf.FIRST_COMPLETED)
            now = time.monotonic()
            if not done:
                for fut, chunk in running.items():
                    if fut.running():
                        t0 = started.setdefault(fut, now)
                        if now - t0 > len(chunk) * TIME_BUDGET_SECONDS + 10:
                            _kill_pool(ex)  # the pool breaks; its chunks are redone one file at a time
                            break
                continue
            broken = False
            for fut in done:
                chunk = running.pop(fut)
                started.pop(fut, None)
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
                started.clear()
                ex.shutdown(wait=False, cancel_futures=True)
                ex = _new_pool(jobs, db_path, year)
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
    return {"path": task.rel, "rel": task.rel, "file_name": task.rel.rsplit("/", 1)[-1], "size": task.size,
            "file_mtime": task.mtime, "sha256": sha, "status": UNREADABLE,
            "reason": f"读取该文件时超出了时间（{TIME_BUDGET_SECONDS:.0f} 秒）或内存（{MEMORY_BUDGET_MB} MB）上限，"
                      "或程序异常退出；文件可能已损坏或被恶意构造"}
