"""``xlsxgen render``: the draft annual report of one submission (md, html, docx, txt)."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxgen.commands._common import friendly_errors
from xlsxgen.files import write_atomic


def _infer_format(fmt, output):
    from xlsxgen.render import FORMATS

    if fmt:
        return fmt
    if output:
        suffix = Path(output).suffix.lower().lstrip(".")
        if suffix in FORMATS:
            return suffix
        if suffix == "htm":
            return "html"
    return "md"


@click.command(name="render")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["md", "html", "docx", "txt", "pdf"]),
    default=None,
    help="输出格式：md、html、docx、txt 或 pdf（默认按 -o 的扩展名，否则为 md；pdf 由 LibreOffice 转换定稿 docx）",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="输出文件；不指定时 md/html/txt 输出到屏幕，docx 保存在 SOURCE 旁边",
)
@click.option(
    "--previous",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="上年度的数据（JSON 或工作簿），用于同比语句和跨年度校验",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="自定义报告模板文件夹（可只放需要改写的 .j2 文件，其余沿用内置模板）",
)
@click.option(
    "--final",
    is_flag=True,
    default=False,
    help="生成可发布的定稿：不含数据来源批注和高亮；仍有【待补充】时不生成，逐项列出缺少的内容并以状态 1 退出",
)
@click.option(
    "--extra-figures",
    is_flag=True,
    default=False,
    help="同时写出国家格式未要求的派生指标（如纠错率、占比），默认不写",
)
@friendly_errors
def command(source, fmt, output, previous, templates_dir, final, extra_figures):
    """生成年度报告草稿。SOURCE 为规范 JSON 或填报工作簿。

    \b
    草稿包括标题、开头段、报告格式规定的各部分和法定统计表；缺少的内容以【待补充：…】标出，
    并在屏幕上逐条提示。由数据生成的语句注明所用单元格（HTML 注释、Markdown 脚注、
    Word 批注或文末附录）。
    \b
    例：xlsxgen render 邢台市政府办.json --format docx -o 年报草稿.docx
        xlsxgen render 本年.json --previous 上年.json -o 年报草稿.html
        xlsxgen render 本年.json --final --format pdf -o 年报.pdf
    """
    from xlsxgen.render import load_source, render_report

    fmt = _infer_format(fmt, output)
    loaded = load_source(source)
    prev_sub = None
    warnings = list(loaded.warnings)
    if previous is not None:
        prev = load_source(previous)
        if prev.spec.id != loaded.spec.id:  # e.g. last year in the 2019 trial format: compare what both have
            warnings.append(f"上年数据的报告格式为 {prev.spec.id}，与本年的 {loaded.spec.id} 不同："
                            "同比语句和跨年度校验只使用两个版本共有的项目")
        sub, psub = loaded.submission, prev.submission
        if sub.year is not None and psub.year is not None and psub.year != sub.year - 1:
            warnings.append(f"--previous 的年度为{psub.year}年，不是{sub.year}年的上一年度")
        warnings += [f"上年数据：{w}" for w in prev.warnings]
        prev_sub = psub
    from xlsxgen.render import BINARY, SUFFIXES

    out, render_warnings = render_report(loaded.spec, loaded.submission, fmt, prev_sub, templates_dir,
                                         final=final, options={"extra_figures": extra_figures})
    warnings += render_warnings
    if output is None and fmt in BINARY:
        output = source.with_suffix(SUFFIXES[fmt])
    if output is None:
        click.echo(out, nl=False)
    else:
        write_atomic(output, out)
        click.echo(f"已生成：{output}", err=True)
    for w in warnings:
        click.echo(f"提示：{w}", err=True)
