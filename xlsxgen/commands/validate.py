"""``xlsxgen validate``: check returned workbooks or canonical JSON files and explain every problem."""

from __future__ import annotations

import json
import shutil
import sys

import click

from xlsxgen.commands._common import friendly_errors
from xlsxgen.errors import UsageError


@click.command(name="validate")
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果（供程序处理）。")
@click.option("--previous", "previous", type=click.Path(dir_okay=False), default=None,
              help="上一年度的工作簿、规范 JSON 或已公开的年报，用于跨年度校验（如本年“上年结转”＝上年“结转下年度”）。")
@friendly_errors
def command(paths, as_json, previous):
    """校验填好的工作簿（.xlsx）、规范 JSON 或已公开的年报（.html .docx .pdf .txt .md）：逐项指出问题所在和改法。

    \b
    退出码：0 没有错误（可以有警告）；1 有文件存在错误；2 有文件无法读取或用法有误。
    \b
    示例：
      xlsxgen validate 某某局2024.xlsx
      xlsxgen validate 收件箱/*.xlsx --previous 某某局2023.xlsx
      xlsxgen validate 某某局2024.xlsx --json
      xlsxgen validate 年报/*.html               已公开年报：按公布的数字核对合计和勾稽关系
    """
    from importer.published import load_any as load_source  # workbooks, JSON and published reports
    from importer.report import render

    if not paths:
        raise UsageError("请指定要校验的文件，例如：xlsxgen validate 某某局2024.xlsx")
    prev = load_source(previous) if previous else None
    usable_prev = prev if prev is not None and prev.submission is not None else None
    results = [load_source(p, previous=usable_prev) for p in paths]

    listed = list(results)
    if prev is not None and prev.status == "unreadable":
        listed.append(prev)
    if as_json:
        doc = {"files": [r.to_dict() for r in listed]}
        out = click.get_binary_stream("stdout")  # UTF-8 whatever the console's code page
        out.write((json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8", "backslashreplace"))  # \udcNN: still valid JSON
        out.flush()
    else:
        cols = shutil.get_terminal_size((120, 40)).columns if sys.stdout.isatty() else 120
        click.echo(render(results, max(cols, 80), previous=prev), nl=False)

    if any(r.status == "unreadable" for r in listed):
        sys.exit(2)
    if any(r.status == "invalid" for r in results):
        sys.exit(1)
