"""``xlsxgen generate``: the locked workbook an agency fills in."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxgen.commands._common import friendly_errors
from xlsxgen.errors import UsageError
from xlsxgen.files import write_atomic
from xlsxgen.spec.versions import check_year, resolve_format


@click.command(name="generate")
@click.option("--year", type=int, required=True, help="报告年度，例如 2024（统计期为该年1月1日至12月31日）。")
@click.option("--agency", default=None, help="填报单位全称，例如“某某市某某局”（单个生成时必填）。")
@click.option("--code", default="", help="单位代码（可选），写入封面和元数据，收集时用于识别单位。")
@click.option("--format", "format_id", default=None,
              help="报告格式版本，例如 gov-info-2021；默认按年度自动选择（xlsxgen formats 可查看）。")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="输出文件，例如 某某局2024.xlsx（单个生成时必填）。")
@click.option("--roster", "roster_path", default=None,
              help="按名单批量生成：单位名单 CSV（至少有 代码、名称 两列；UTF-8 或 GBK 均可）。")
@click.option("--out-dir", default=None,
              help="批量生成的输出文件夹（与 --roster 一起使用）。")
@click.option("--db", default=None,
              help="收集库（SQLite 文件或 postgresql+psycopg://… 地址，与 --roster 一起使用）：记录本年度名单，并按各单位上年通过的数据预填“上年结转”等。")
@click.option("--quiet", is_flag=True, help="批量生成时不显示进度。")
@friendly_errors
def command(year, agency, code, format_id, output, roster_path, out_dir, db, quiet):
    """生成加锁的填报工作簿：只有浅黄色单元格可填写，合计为公式，校验实时显示。

    \b
    示例：
      xlsxgen generate --year 2024 --agency "某某市某某局" --code 001 -o 某某局2024.xlsx
      xlsxgen generate --roster 名单.csv --year 2024 --out-dir 下发/ --db 收集库.sqlite
    """
    from xlsxgen.workbook.writer import build_workbook

    spec = resolve_format(format_id, year)
    check_year(spec, year)
    if roster_path is not None:
        return _roster_mode(spec, year, roster_path, out_dir, db, agency, output, quiet)
    if out_dir is not None or db is not None:
        raise UsageError("--out-dir 和 --db 只用于按名单批量生成，请同时给出 --roster 名单.csv")
    if agency is None or not agency.strip():
        raise UsageError("请用 --agency 填写单位名称（不能为空）")
    if not output:
        raise UsageError("请用 -o 指定输出文件，例如 -o 某某局2024.xlsx")
    out = Path(output)
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"输出文件 {out} 应以 .xlsx 结尾")
    data = build_workbook(spec, year=year, agency_name=agency.strip(), agency_code=code.strip())
    write_atomic(out, data, make_parents=True)  # -o 去年/x.xlsx: the folder is created
    click.echo(f"已生成 {out}（{spec.id}，{agency.strip()}，{year}年度）")


def _roster_mode(spec, year, roster_path, out_dir, db, agency, output, quiet):
    from xlsxgen.collection.distribute import distribute
    from xlsxgen.collection.roster import read_roster

    if agency is not None or output is not None:
        raise UsageError("按名单批量生成时不用 --agency 和 -o；单位来自名单，文件写入 --out-dir")
    if not out_dir:
        raise UsageError("请用 --out-dir 指定输出文件夹，例如 --out-dir 下发/")
    roster = read_roster(roster_path)  # every roster problem is reported before anything is written
    dist = distribute(spec, year, roster, out_dir, db=db, show_progress=not quiet)
    click.echo(f"已为 {len(dist.files)} 个单位生成 {year} 年度填报工作簿（{spec.id}），保存在 {dist.out_dir}")
    if db is not None:
        from xlsxgen.collection.store import parse_target

        click.echo(f"其中 {dist.prefilled} 个已按上年度通过的数据预填（蓝色单元格，可修改）；"
                   f"名单已记入收集库 {parse_target(db).display}")  # a PostgreSQL password is not shown
        for line in dist.match_lines():
            click.echo(line)
    click.echo(f"下发清单：{dist.manifest}")
