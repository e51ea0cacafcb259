"""Files: atomic writes, names safe on every OS, OS errors in Chinese."""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

from xlsxgen.errors import XlsxgenError


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
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise XlsxgenError(f"无法写入 {path}：{e.strerror or e}（请检查文件夹是否存在、是否有写权限）") from None
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
        raise XlsxgenError(f"无法写入 {path}：{e.strerror or e}（文件是否正被 Excel/WPS 打开？）") from None
    return path


def os_reason(e: OSError) -> str:
    """A Chinese reason for the common OS errors (strerror is English on Linux)."""

    words = {errno.ENOENT: "路径不存在", errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOSPC: "磁盘已满",
             errno.EROFS: "只读文件系统", errno.ENOTDIR: "路径中有一段不是文件夹", errno.EISDIR: "是文件夹"}
    return words.get(e.errno, e.strerror or str(e))


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')



def safe_file_part(text: str, limit: int = 60) -> str:
    """``text`` made safe as part of a file name on Windows and Linux."""
    s = _UNSAFE.sub("_", text).strip().strip(".")
    return s[:limit] or "_"
