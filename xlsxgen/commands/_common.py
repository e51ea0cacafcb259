"""Helpers shared by the command modules: error handling and atomic output."""

from __future__ import annotations

import functools
import sys

import click

from xlsxgen.errors import XlsxgenError

DB_ENV = "XLSXGEN_DB"  # the same name as xlsxgen.collection.store.DB_ENV (not imported: --help stays fast)


def db_option(help_text: str = ""):
    """``--db``: a SQLite file path or a PostgreSQL URL; ``XLSXGEN_DB`` gives the default."""
    return click.option(
        "--db", required=True, envvar=DB_ENV, show_envvar=True,
        help=(help_text + "；" if help_text else "")
        + "SQLite 文件路径（如 收集库.sqlite），或 PostgreSQL 地址 postgresql+psycopg://用户@主机:端口/数据库。")


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


