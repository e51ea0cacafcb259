"""``xlsxgen export``: a filled workbook → canonical JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from xlsxgen.commands._common import friendly_errors
from xlsxgen.errors import UnreadableError, UsageError
from xlsxgen.files import write_atomic


@click.command(name="export")
@click.argument("workbook", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="输出的 JSON 文件；不指定则输出到屏幕（标准输出）。")
@friendly_errors
def command(workbook, output):
    """把填好的工作簿导出为规范 JSON（合计一律按各项重新计算）。

    \b
    退出码：0 已导出（有问题时在标准错误中提示）；1 数据有错误、不可靠，未导出；
    2 文件无法读取或用法有误。
    \b
    示例：
      xlsxgen export 某某局2024.xlsx -o 某某局2024.json
    """
    from importer import load_source
    from importer.report import render

    if output and Path(output).resolve() == Path(workbook).resolve():
        raise UsageError("输出文件不能与输入文件相同（不会修改输入文件）")
    result = load_source(workbook)
    if result.status == "unreadable":
        raise UnreadableError(f"{workbook} 无法读取：{result.reason}")
    if result.blocking:
        click.echo(render([result]), err=True, nl=False)
        click.echo(f"错误：{workbook} 的数据有错误或无法可靠读取，未导出；请按上表改正后重试。", err=True)
        sys.exit(1)
    text = json.dumps(result.canonical(), ensure_ascii=False, indent=2) + "\n"
    if output:
        write_atomic(output, text)
    else:  # UTF-8 bytes whatever the console's code page (a narrative may hold any character)
        out = click.get_binary_stream("stdout")
        out.write(text.encode("utf-8"))
        out.flush()
    e, w = len(result.errors), len(result.warnings)
    if e or w:
        click.echo(f"注意：{workbook} 有 {e} 个错误、{w} 个警告（数据已按填写内容导出，合计已重新计算）；"
                   f"详情请运行 xlsxgen validate {workbook}", err=True)
    if output:
        click.echo(f"已导出 {output}", err=True)
