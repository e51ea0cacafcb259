"""``xlsxgen status``: the overview of a year again, from the store, without importing."""

from __future__ import annotations

import click

from xlsxgen.commands._common import db_option, friendly_errors


@click.command(name="status")
@db_option("收集库")
@click.option("--year", type=int, required=True, help="报告年度。")
@click.option("--roster", "roster_path", default=None,
              help="单位名单 CSV；不给时使用收集库中该年度的名单。")
@click.option("--all", "show_all", is_flag=True, help="列出全部单位（默认单位较多时只列出有问题的）。")
@click.option("--out-dir", default=None,
              help="同时重新生成报送情况表、反馈单、汇总表和草稿到此文件夹。")
@click.option("--name", "sum_name", default="", help="汇总单位名称（与 --out-dir 一起使用）。")
@click.option("--format", "format_id", default=None,
              help="报告格式版本（与 --out-dir 一起使用），应与收集时的一致；默认按年度自动选择。")
@click.option("--require-review", is_flag=True,
              help="按审核结果汇总：汇总表、合计、草稿和规范 JSON 只用已接受的报送（xlsxgen review accept）；"
                   "默认用各单位当前通过校验的报送。")
@friendly_errors
def command(db, year, roster_path, show_all, out_dir, sum_name, format_id, require_review):
    """查看收集库中各单位的报送情况（不重新导入文件）。

    \b
    示例：
      xlsxgen status --db 收集库.sqlite --year 2024
    """
    from xlsxgen.collection.outputs import write_outputs
    from xlsxgen.collection.overview import build_overview, overview_text
    from xlsxgen.collection.roster import read_roster
    from xlsxgen.collection.store import Store
    from xlsxgen.commands.collect import outputs_text
    from xlsxgen.spec.versions import resolve_format

    roster = read_roster(roster_path) if roster_path else None
    with Store.open(db, create=False) as store:
        overview = build_overview(store, year, roster, require_review=require_review)
        if not overview.rows and not overview.rejected:
            years = store.years()
            hint = f"（收集库中有：{'、'.join(map(str, years))}年度）" if years else "（收集库是空的）"
            click.echo(f"收集库中没有 {year} 年度的名单或报送记录{hint}")
            return
        click.echo(overview_text(overview, show_all=show_all))
        if out_dir:
            spec = resolve_format(format_id, year)
            outs = write_outputs(store, overview, spec=spec, out_dir=out_dir, sum_name=sum_name,
                                 require_review=require_review)
            click.echo("")
            click.echo(outputs_text(outs))
