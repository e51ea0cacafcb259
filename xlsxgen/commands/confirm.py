"""``xlsxgen confirm``: say whose numbers a held submission (单位不符，待确认) holds."""

from __future__ import annotations

import click

from xlsxgen.commands._common import db_option, friendly_errors


@click.command(name="confirm")
@db_option("收集库")
@click.option("--year", type=int, required=True, help="报告年度。")
@click.argument("submission")
@click.option("--agency", "agency_code", required=True, help="这份数据所属单位的代码（名单中的代码）。")
@click.option("--by", "by", default=None, help="操作人（记入收集库）；默认为当前系统用户名。")
@click.option("--note", default="", help="说明（可选），例如“已电话核实”。")
@friendly_errors
def command(db, year, submission, agency_code, by, note):
    """确认一份“单位不符，待确认”的报送属于哪个单位；确认后按该单位的报送计入。

    \b
    SUBMISSION 可以是报送编号（xlsxgen status 中的“编号”）、收件文件夹中的文件路径或文件名。
    \b
    示例：
      xlsxgen confirm --db 收集库.sqlite --year 2024 12 --agency 003
      xlsxgen confirm --db 收集库.sqlite --year 2024 收件箱/丰州镇政府信息公开年报2024.xlsx --agency 005 --note 已电话核实
    """
    import getpass

    from xlsxgen.collection.confirm import confirm
    from xlsxgen.collection.statuses import status_word
    from xlsxgen.collection.store import Store
    from xlsxgen.files import printable

    if by is None:
        try:
            by = getpass.getuser()
        except (KeyError, OSError):
            by = "（未知）"
    with Store.open(db, create=False) as store:
        rec = confirm(store, year, submission, agency_code.strip(), by=by, note=note)
    click.echo(f"已确认：报送 {rec.id}（{printable(rec.path or rec.file_name)}）属于 {printable(rec.agency_name or '')}"
               f"（{rec.agency_code}），状态 {status_word(rec.status)}；操作人 {printable(by)}。"
               "再次运行 xlsxgen status 或 collect --out-dir 即按新的归属生成报送情况表和汇总。")
