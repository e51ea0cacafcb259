"""``xlsxgen collect``: import an inbox of returned workbooks into the store and report."""

from __future__ import annotations

import click

from xlsxgen.collection.statuses import status_word
from xlsxgen.commands._common import db_option, friendly_errors


@click.command(name="collect")
@click.argument("inbox", type=str)
@db_option("收集库，不存在时自动创建")
@click.option("--year", type=int, required=True, help="本次收集的报告年度，例如 2024。")
@click.option("--format", "format_id", default=None,
              help="报告格式版本，例如 gov-info-2019；默认按年度自动选择（xlsxgen formats 可查看），"
                   "应与下发时 generate 所用的一致。")
@click.option("--roster", "roster_path", default=None,
              help="单位名单 CSV（代码、名称列）；不给时使用收集库中该年度已有的名单。")
@click.option("--out-dir", default=None,
              help="输出文件夹：报送情况表、反馈单、汇总表、汇总报告草稿和各单位规范 JSON。")
@click.option("--name", "sum_name", default="", help="汇总单位名称，用于汇总表和汇总报告草稿的标题，例如“某某市”。")
@click.option("--code", "sum_code", default="", help="汇总单位代码（可选），写入汇总工作簿。")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="并行进程数（默认使用全部 CPU 核）。")
@click.option("--all", "show_all", is_flag=True, help="在终端列出全部单位（默认单位较多时只列出有问题的）。")
@click.option("--quiet", is_flag=True, help="不显示进度。")
@click.option("--require-review", is_flag=True,
              help="按审核结果汇总：汇总表、合计、草稿和规范 JSON 只用已接受的报送（xlsxgen review accept）；"
                   "默认用各单位当前通过校验的报送。")
@friendly_errors
def command(inbox, db, year, format_id, roster_path, out_dir, sum_name, sum_code, jobs, show_all, quiet,
            require_review):
    """导入收件文件夹（含子文件夹）中的全部 .xlsx：逐个校验、入库，列出报送情况。

    \b
    同一文件再次导入不会重复入库；同一单位报送新文件时以最新的为准，旧文件留档。
    无法读取、年度不符、不在名单中的文件记为拒收并说明原因，其余文件照常导入。
    给出 --out-dir 时还生成：报送情况表、各单位反馈单、汇总表、汇总报告草稿、规范 JSON。

    \b
    示例：
      xlsxgen collect 收件箱/ --db 收集库.sqlite --year 2024 --roster 名单.csv --out-dir 汇总/
      xlsxgen collect 收件箱/ --db 收集库.sqlite --year 2022 --format gov-info-2019   # 沿用试行格式的年度
    """
    from xlsxgen.collection.intake import collect
    from xlsxgen.collection.outputs import prepare_out_dir, write_outputs
    from xlsxgen.collection.overview import build_overview, overview_text
    from xlsxgen.collection.store import Store
    from xlsxgen.spec.versions import check_year, resolve_format

    spec = resolve_format(format_id, year)
    check_year(spec, year)
    if out_dir:
        prepare_out_dir(out_dir)
    try:
        result = collect(inbox, db=db, year=year, roster_path=roster_path, jobs=jobs, show_progress=not quiet,
                         spec=spec, out_dir=out_dir)
    except KeyboardInterrupt:
        click.echo("已中断。已导入的文件已安全入库；再次运行同一命令会继续导入其余文件。", err=True)
        raise SystemExit(130) from None
    click.echo(_summary(result))
    with Store.open(db, create=False) as store:
        overview = build_overview(store, year, require_review=require_review)
        click.echo("")
        click.echo(overview_text(overview, show_all=show_all))
        if out_dir:
            outs = write_outputs(store, overview, spec=spec, out_dir=out_dir, sum_name=sum_name, sum_code=sum_code,
                                 require_review=require_review)
            click.echo("")
            click.echo(outputs_text(outs))


def _summary(r) -> str:
    from collections import Counter

    from xlsxgen.collection.intake import SKIP_WORDS
    from xlsxgen.files import printable

    new = "、".join(f"{status_word(k)} {v}" for k, v in r.by_status.items() if v)
    parts = [f"收件文件夹中有 {r.files_seen} 个工作簿（.xlsx，含 .zip 中的），用时 {r.seconds:.1f} 秒：新入库 {r.imported} 个"
             + (f"（{new}）" if new else "")]
    if r.already:
        parts.append(f"{r.already} 个此前已入库，未重复导入")
    if r.duplicates:
        parts.append(f"{r.duplicates} 个与其他文件内容完全相同，只记一次")
    if r.readmitted:
        parts.append(f"{r.readmitted} 个此前因单位不在名单中被拒收的文件，现已按新名单接收")
    if r.held:
        parts.append(f"{r.held} 个文件单位不符，暂不计入，待确认（见下方，用 xlsxgen confirm 确认）")
    if r.skipped:
        kinds = Counter(SKIP_WORDS.get(sk.code, sk.code) for sk in r.skipped)
        parts.append(f"另有 {len(r.skipped)} 个文件未收集（" + "、".join(f"{k} {v} 个" for k, v in kinds.most_common())
                     + "）")
        other = [sk for sk in r.skipped if sk.code in ("other_type", "archive")]
        if other:
            shown = "、".join(printable(sk.path) + (f"（{sk.agency_name}）" if sk.agency_name else "") for sk in other[:5])
            parts.append(f"其中不是填报工作簿的：{shown}" + (f" 等 {len(other)} 个" if len(other) > 5 else "")
                         + "（报送情况表“未接收的文件”中写明了原因和请对方怎么做）")
    return "；\n".join(parts) + "。"


def outputs_text(o) -> str:
    from xlsxgen.textwidth import display_width

    items = [("报送情况表", o.overview)]
    if o.feedback:
        items.append(("反馈单", f"{o.feedback_dir}（{len(o.feedback)} 份，可直接发给相关单位）"))
    else:
        items.append(("反馈单", "无（没有需要反馈的单位）"))
    if o.consolidated:
        items.append(("汇总表", f"{o.consolidated}（各单位一行，计入合计 {o.summed} 个单位）"))
    if o.official:
        items.append(("合计（官方格式）", o.official))
    if o.sum_json:
        items.append(("合计数据", o.sum_json))
    for d in o.drafts:
        items.append(("汇总报告草稿", d))
    if o.data_dir:
        items.append(("各单位数据", f"{o.data_dir}（{o.data_files} 个规范 JSON）"))
    items += [("注意", n) for n in o.notes]
    width = max(display_width(k) for k, _ in items)
    lines = ["已生成："]
    lines += [f"  {k}{' ' * (width - display_width(k))}  {v}" for k, v in items if v is not None]
    return "\n".join(lines)
