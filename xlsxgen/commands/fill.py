"""``xlsxgen fill``: canonical JSON → the generated workbook with the inputs filled in."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xlsxgen.commands._common import friendly_errors
from xlsxgen.errors import UnreadableError, UsageError
from xlsxgen.files import write_atomic


@click.command(name="fill")
@click.argument("workbook", type=click.Path(dir_okay=False))
@click.argument("data_json", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="输出的工作簿，例如 某某局2024-已填.xlsx（不会修改输入文件）。")
@friendly_errors
def command(workbook, data_json, output):
    """把规范 JSON 数据填入下发的工作簿：如同单位亲手填写，锁定单元格不变，合计和校验自动计算。

    \b
    用于预填、迁移数据和测试。工作簿必须是本工具生成的；JSON 的格式、年度、单位必须与工作簿一致。
    退出码：0 已生成；1 JSON 数据有错误，未生成；2 文件无法读取、不对应或用法有误。
    \b
    示例：
      xlsxgen fill 某某局2024.xlsx 某某局2024.json -o 某某局2024-已填.xlsx
    """
    from importer.report import render
    from xlsxgen.fill import FillRefused, fill_workbook

    if not output:
        raise UsageError("请用 -o 指定输出文件，例如 -o 某某局2024-已填.xlsx")
    out = Path(output)
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"输出文件 {out} 应以 .xlsx 结尾")
    if out.resolve() in (Path(workbook).resolve(), Path(data_json).resolve()):
        raise UsageError("输出文件不能与输入文件相同（不会修改输入文件）")
    try:
        data, result = fill_workbook(workbook, data_json)
    except FillRefused as e:
        if e.report is not None:
            click.echo(render([e.report]), err=True, nl=False)
        if e.exit_code == 1:
            click.echo(f"错误：{e}", err=True)
            sys.exit(1)
        raise UnreadableError(str(e)) from None
    write_atomic(out, data)
    e_, w_ = len(result.errors), len(result.warnings)
    note = f"；数据有 {e_} 个错误、{w_} 个警告，工作簿中的校验会显示（xlsxgen validate {out} 可查看）" if e_ or w_ else ""
    # name and year as the workbook holds them (the JSON may omit them: it printed "None年度")
    from importer import read_workbook

    meta = read_workbook(data, name=str(out)).metadata
    name = meta.get("agency_name") or result.submission.agency_name or "（未填单位）"
    year = meta.get("year") or result.submission.year
    click.echo(f"已生成 {out}（{result.spec.id}，{name}，{year}年度）{note}")
