"""``xlsxgen demo``: the whole cycle on the embedded example, with no arguments."""

from __future__ import annotations

import time

import click

from xlsxgen.commands._common import friendly_errors


@click.command(name="demo")
@click.option("--out-dir", default="xlsxgen-demo", show_default=True,
              help="演示文件夹（不存在时创建；再次运行会覆盖上次演示的文件）。")
@friendly_errors
def command(out_dir):
    """一键演示政务公开办的全流程：名单→下发→各单位填报（模拟）→收集校验→反馈单、汇总表、报告草稿。

    \b
    示例名单有 7 个单位：邢台市人民政府办公室按其真实的 2023 年度年报数据填写，
    其余为虚构的演示单位（数据由程序模拟）：有填对的、勾稽关系错的、改写合计的、
    文件损坏的和没有报送的。
    """
    from xlsxgen.collection.overview import overview_text
    from xlsxgen.commands.collect import _summary, outputs_text
    from xlsxgen.demo import run_demo
    from xlsxgen.textwidth import format_table

    t0 = time.monotonic()
    r = run_demo(out_dir)
    year = r.overview.year
    click.echo(f"xlsxgen 演示：{r.spec.report_title_for('', year)}的下发和收集（文件夹 {r.root}）")
    click.echo("")
    click.echo(f"1. 名单：{r.roster}（{len(r.scenario)} 个单位）")
    click.echo(f"2. 下发：已生成 {len(r.scenario)} 个填报工作簿 → {r.dist}")
    click.echo(f"3. 模拟各单位填报后交回 → {r.inbox}")
    click.echo(format_table(("单位", "模拟情况", "交回的文件"),
                            [(a.name, what, f or "—") for a, what, f in r.scenario],
                            max_widths=[26, 48, 48]))
    click.echo("")
    click.echo(f"4. 收集：xlsxgen collect {r.inbox} --db {r.db} --year {year} --out-dir {r.out}")
    click.echo(_summary(r.collect))
    click.echo("")
    click.echo(overview_text(r.overview))
    click.echo("")
    click.echo(outputs_text(r.outputs))
    if r.next_dist is not None:
        click.echo("")
        click.echo(f"5. 下一年度：{r.next_dist} 中是 {year + 1} 年度的填报工作簿，"
                   f"其中 {r.next_prefilled} 个已按收集库中 {year} 年度通过的数据预填“上年结转”（蓝色单元格）")
    click.echo("")
    click.echo(f"演示完成，用时 {time.monotonic() - t0:.1f} 秒。可以接着试：")
    click.echo(f"  xlsxgen status --db {r.db} --year {year}")
    code = r.scenario[0][0].code
    click.echo(f"  xlsxgen history --db {r.db} --agency {code}")
