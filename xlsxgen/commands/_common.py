"""Helpers shared by the command modules: error handling and atomic output."""

from __future__ import annotations

import functools
import sys

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


