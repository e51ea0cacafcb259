"""Helpers shared by the command modules: error handling and atomic output."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path

import click

from xlsxgen.errors import XlsxgenError


def friendly_errors(func):
    """Turn XlsxgenError (and a few OS errors) into one Chinese line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except XlsxgenError as e:
            click.echo(f"错误：{e}", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("已中断。", err=True)
            sys.exit(130)

    return wrapper


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
