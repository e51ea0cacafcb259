"""Files: atomic writes, names safe on every OS, OS errors in Chinese."""

from __future__ import annotations

import codecs
import errno
import os
import re
import tempfile
from pathlib import Path

from xlsxgen.errors import XlsxgenError

OUTPUT_MARKER = "xlsxgen-output"  # the keywords property of every workbook a collection writes (never collected)


def file_mode() -> int:
    """The mode a new file gets from ``open()``: 0666 less the user's umask (mkstemp would give 0600)."""
    mask = os.umask(0o022)  # read the umask (there is no other way) and put it back at once
    os.umask(mask)
    return 0o666 & ~mask


def new_temp(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """A hidden temporary file next to ``path`` (fd, name) with the mode of an ordinary new file."""
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=suffix, dir=path.parent if str(path.parent) else ".")
    try:
        os.fchmod(fd, file_mode())
    except (OSError, AttributeError):  # fchmod is POSIX only; Windows has no umask
        pass
    return fd, tmp


def write_atomic(path: str | os.PathLike, data: bytes | str, make_parents: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    An existing file is replaced only once the new content is complete. A
    missing folder is an error unless ``make_parents`` is set.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        if make_parents:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise XlsxgenError(f"无法写入 {path}：文件夹 {folder} 不存在")
        fd, tmp = new_temp(folder / path.name)
    except OSError as e:
        raise XlsxgenError(f"无法写入 {path}：{os_reason(e)}（请检查文件夹是否存在、是否有写权限）") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise XlsxgenError(f"无法写入 {path}：{os_reason(e)}（文件是否正被 Excel/WPS 打开？）") from None
    return path


def _undecodable_bytes(e: UnicodeError):
    """Codec error handler: a byte that was not UTF-8 (a lone surrogate U+DC80..U+DCFF from the file system)
    as ``\\xNN``, any other unencodable character as ``\\uNNNN``."""
    if not isinstance(e, UnicodeEncodeError):
        raise e
    out = []
    for ch in e.object[e.start:e.end]:
        n = ord(ch)
        out.append(f"\\x{n - 0xDC00:02x}" if 0xDC80 <= n <= 0xDCFF else f"\\u{n:04x}")
    return "".join(out), e.end


PATH_ERRORS = "xlsxgen-path"
codecs.register_error(PATH_ERRORS, _undecodable_bytes)


def same_file(a, b) -> bool:
    """``a`` and ``b`` name the same file (same path once resolved, or the same inode: a hard link)."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def os_reason(e: OSError) -> str:
    """A Chinese reason for the common OS errors (strerror is English on Linux)."""

    words = {errno.ENOENT: "路径不存在", errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOSPC: "磁盘已满",
             errno.EROFS: "只读文件系统", errno.ENOTDIR: "路径中有一段不是文件夹", errno.EISDIR: "是文件夹",
             errno.ENAMETOOLONG: "文件名过长", errno.EMFILE: "打开的文件过多", errno.EIO: "输入输出错误（磁盘或网络故障）",
             errno.EBUSY: "文件正被占用", errno.EEXIST: "文件已存在", errno.EINVAL: "参数无效（文件名中可能有不允许的字符）",
             errno.EDQUOT: "超出磁盘配额", errno.ELOOP: "符号链接循环", errno.ETXTBSY: "文件正被占用"}
    return words.get(e.errno, e.strerror or str(e))


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')



def safe_file_part(text: str, limit: int = 60) -> str:
    """``text`` made safe as part of a file name on Windows and Linux."""
    s = _UNSAFE.sub("_", text).strip().strip(".")
    return s[:limit] or "_"


# CSV injection (OWASP): a spreadsheet's CSV import turns a cell starting with one of these into a formula
# (=HYPERLINK(...), +cmd|...); full-width forms are included because some Chinese spreadsheets accept them too
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def csv_cell(value) -> str:
    """``value`` as CSV cell text that no spreadsheet evaluates: text beginning like a formula gets a
    leading apostrophe (what a user types in Excel to enter such text literally). Numbers are left alone."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_CSV_FORMULA_START) else text


def write_csv(path, rows, make_parents: bool = False) -> Path:
    """Write ``rows`` as a CSV file for Excel (UTF-8 with BOM, CRLF), every cell through :func:`csv_cell`,
    atomically. The one CSV writer of the program."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        w.writerow([csv_cell(v) for v in row])
    return write_atomic(path, "\ufeff" + buf.getvalue(), make_parents=make_parents)


# ---------------------------------------------------------------------------- names as the user sees them

# C0/C1 controls, DEL, bidi overrides and isolates, zero-width and line/paragraph separators: never printed raw
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """``text`` with control and direction characters spelled out (``\\x1b``, ``\\u202e``): safe on a terminal.

    Reversible for names without a literal backslash escape in them; surrogates of
    undecodable bytes (``os.fsdecode``) are spelled ``\\xNN`` too.
    """
    if text is None:
        return ""
    s = str(text)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if not _INVISIBLE.search(s):
        return s

    def spell(m):
        c = ord(m.group(0))
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    return _INVISIBLE.sub(spell, s)


def display_name(name: str) -> tuple[str, bool]:
    """A readable, printable form of a file name as the OS gave it; True when the bytes were not UTF-8.

    A name that is not UTF-8 (typically GBK, from an archive unpacked on a Chinese
    Windows) is decoded as GB18030 when that reproduces the very same bytes, else
    its undecodable bytes are spelled ``\\xNN``. Never raises.
    """
    try:
        raw = os.fsencode(name)
    except (UnicodeError, TypeError):
        return printable(str(name)), False
    try:
        return printable(raw.decode("utf-8")), False
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
        if text.encode("gb18030") == raw and not _INVISIBLE.search(text):
            return text, True
    except UnicodeError:
        pass
    return printable(raw.decode("utf-8", "backslashreplace")), True


def display_path(rel: str) -> tuple[str, bool]:
    """:func:`display_name` of every part of a path (``/``-joined). Idempotent: a backslash (as in ``\\xNN``)
    is not a separator (archive members with Windows separators are normalised before)."""
    parts = [display_name(p) for p in rel.split("/")] if rel else [("", False)]
    return "/".join(p for p, _ in parts), any(b for _, b in parts)


# ---------------------------------------------------------------------------- temporaries of a process

def temp_prefix(name: str) -> str:
    """The prefix of a hidden temporary file for ``name``, carrying our pid (see :func:`clean_stale_temporaries`)."""
    return f".{name}.~{os.getpid()}~."


_TEMP = re.compile(r"^\..*\.~(\d+)~\.[^/]*$|^\..+\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_stale_temporaries(folder, *, max_age_seconds: float = 3600) -> int:
    """Delete hidden temporaries we left in ``folder`` (not recursive) when their writer is gone.

    A name carrying a pid (:func:`temp_prefix`) is removed when that process no
    longer exists; an older name without one once it is ``max_age_seconds`` old.
    Returns how many were removed.
    """
    import time

    n = 0
    try:
        it = os.scandir(folder)
    except OSError:
        return 0
    with it:
        for e in it:
            m = _TEMP.match(e.name)
            if not m:
                continue
            try:
                if not e.is_file(follow_symlinks=False):
                    continue
                if m.group(1):
                    if _alive(int(m.group(1))):
                        continue
                elif time.time() - e.stat(follow_symlinks=False).st_mtime < max_age_seconds:
                    continue
                os.unlink(e.path)
                n += 1
            except OSError:
                continue
    return n
