"""``xlsxgen remind``: the chasing list of agencies not yet done, with a message to send to each."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxgen.commands._common import db_option, friendly_errors
from xlsxgen.errors import UsageError


@click.command(name="remind")
@db_option("收集库")
@click.option("--year", type=int, required=True, help="报告年度。")
@click.option("-o", "--output", default=None,
              help="写入文件：.xlsx（催报清单工作簿）、.csv 或 .txt；不给时显示在终端。")
@click.option("--office", default="", help="发文单位的称呼，用在提醒文字中，例如“县政务公开办”（默认“我办”）。")
@click.option("--deadline", default="", help="报送截止时间，用在提醒文字中，例如“1月20日”。")
@click.option("--format", "format_id", default=None, help="报告格式版本（提醒文字取自该格式）；默认按年度选择。")
@friendly_errors
def command(db, year, output, office, deadline, format_id):
    """生成催报清单：未提交、有错误、无法读取、单位不符待确认、文件类型不符的单位，
    各自的联系人（名单中的联系人、电话、邮箱列）、问题和一段可以直接发送的提醒文字。

    \b
    示例：
      xlsxgen remind --db 收集库.sqlite --year 2024
      xlsxgen remind --db 收集库.sqlite --year 2024 -o 催报清单.xlsx --office 县政务公开办 --deadline 1月20日
    """
    from xlsxgen.collection.overview import build_overview
    from xlsxgen.collection.remind import reminders, reminders_csv, reminders_text, reminders_workbook
    from xlsxgen.collection.store import Store
    from xlsxgen.files import write_atomic
    from xlsxgen.spec.versions import resolve_format

    spec = resolve_format(format_id, year)
    with Store.open(db, create=False) as store:
        overview = build_overview(store, year)
    if not overview.has_roster:
        raise UsageError(f"收集库中没有 {year} 年度的名单，无法知道谁还没有报送（collect 或 generate 时用 --roster 给出名单）")
    items = reminders(overview, spec, office=office, deadline=deadline)
    if not output:
        click.echo(reminders_text(items, year))
        return
    out = Path(output)
    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        data = reminders_workbook(items, year, spec)
    elif suffix == ".csv":
        data = reminders_csv(items)
    elif suffix in (".txt", ".md", ""):
        data = reminders_text(items, year) + "\n"
    else:
        raise UsageError(f"输出文件 {out} 的扩展名应为 .xlsx、.csv 或 .txt")
    write_atomic(out, data, make_parents=True)
    click.echo(f"催报清单（{len(items)} 个单位）已写入 {out}")
