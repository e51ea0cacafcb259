"""``xlsxgen generate``: the locked workbook an agency fills in."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxgen.commands._common import friendly_errors, write_atomic
from xlsxgen.errors import UsageError
from xlsxgen.formats import check_year, resolve_format


@click.command(name="generate")
@click.option("--year", type=int, required=True, help="报告年度，例如 2024（统计期为该年1月1日至12月31日）。")
@click.option("--agency", default=None, help="填报单位全称，例如“某某市某某局”（单个生成时必填）。")
@click.option("--code", default="", help="单位代码（可选），写入封面和元数据，收集时用于识别单位。")
@click.option("--format", "format_id", default=None,
              help="报告格式版本，例如 gov-info-2021；默认按年度自动选择（xlsxgen formats 可查看）。")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="输出文件，例如 某某局2024.xlsx（单个生成时必填）。")
@friendly_errors
def command(year, agency, code, format_id, output):
    """生成加锁的填报工作簿：只有浅黄色单元格可填写，合计为公式，校验实时显示。

    \b
    示例：
      xlsxgen generate --year 2024 --agency "某某市某某局" --code 001 -o 某某局2024.xlsx
    """
    from xlsxgen.generate import build_workbook

    spec = resolve_format(format_id, year)
    check_year(spec, year)
    if agency is None or not agency.strip():
        raise UsageError("请用 --agency 填写单位名称（不能为空）")
    if not output:
        raise UsageError("请用 -o 指定输出文件，例如 -o 某某局2024.xlsx")
    out = Path(output)
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"输出文件 {out} 应以 .xlsx 结尾")
    data = build_workbook(spec, year=year, agency_name=agency.strip(), agency_code=code.strip())
    write_atomic(out, data)
    click.echo(f"已生成 {out}（{spec.id}，{agency.strip()}，{year}年度）")
