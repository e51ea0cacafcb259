"""``xlsxgen extract``: published reports (HTML, Word, PDF, text) → canonical JSON, figures as published."""

from __future__ import annotations

import json
from pathlib import Path

import click

from xlsxgen.commands._common import friendly_errors
from xlsxgen.errors import UsageError
from xlsxgen.files import write_atomic


def _lines(result) -> list[str]:
    """The extraction's findings as lines for standard error."""
    if result.status == "unreadable":
        return [f"错误：{result.path} 无法读取：{result.reason}"]
    out = []
    head = [f"格式 {result.format_id}"]
    if result.agency and result.agency.get("name"):
        head.append(f"单位 {result.agency['name']}")
    if result.year:
        head.append(f"{result.year}年度")
    s = result.splits or {}
    if s.get("runs"):
        head.append(f"数字串 {s['runs']} 个（拆分 {s['split']} 个，其中按勾稽关系确定 {s['by_identity']} 个；"
                    f"不唯一 {s['ambiguous']} 个，无法拆分 {s['unparseable']} 个）")
    known = sum(1 for v in result.published.values() if v is not None)
    head.append(f"读出 {known}/{len(result.published)} 项")
    out.append(f"{result.path}：" + "，".join(head))
    for f in result.findings:
        out.append(f"  {'错误' if f.is_error else '警告'}：{f.message}")
    return out


@click.command(name="extract")
@click.argument("sources", nargs=-1, type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(), default=None,
              help="一个来源：输出的 JSON 文件（不指定则输出到屏幕）；多个来源：输出文件夹（每个来源一个 JSON，按来源命名）。")
@click.option("--format", "format_id", default=None, help="格式版本（默认按标签识别，如 gov-info-2021、gov-info-2019）。")
@click.option("--year", type=int, default=None, help="报告年度（默认从标题或文件名识别）。")
@click.option("--agency", default=None, help="单位名称（默认从标题识别）。")
@click.option("--check", is_flag=True, help="同时核对公布的合计和勾稽关系（与 validate 相同），结果输出到标准错误。")
@friendly_errors
def command(sources, output, format_id, year, agency, check):
    """从已公开的年度报告（.html .htm .docx .pdf .txt .md）读出统计表数据，输出规范 JSON。

    \b
    保留公布的合计（以便核对）；原文空白、无法确定的数字保留为 null，不按 0 计、不猜测；
    每个数字都注明出处（provenance：第几个表格第几行第几列、第几页、第几行）。
    读取中发现的问题输出到标准错误。
    \b
    退出码：0 已读出（有问题时在标准错误中说明）；2 有文件无法读取或用法有误（其余文件照常读取）。
    \b
    示例：
      xlsxgen extract 某某局2023年报.html                    输出到屏幕
      xlsxgen extract 某某局2023年报.pdf -o 某某局2023.json
      xlsxgen extract 年报/*.html 年报/*.docx -o 数据/       每个来源一个 JSON
      xlsxgen validate 年报/*.html                           读出并核对
    """
    from importer.published import extract, is_published, lint

    if format_id:
        from xlsxgen.spec import load_format

        load_format(format_id)  # an unknown id: one Chinese line naming the installed formats, exit 2
    if not sources:
        raise UsageError("请指定已公开的年度报告文件，例如：xlsxgen extract 某某局2023年报.html")
    for s in sources:
        if not is_published(s):
            raise UsageError(f"{s} 不是可读取的年报文件（可读取 .html .htm .docx .pdf .txt .md；"
                             f"工作簿和 JSON 请用 xlsxgen export / validate）")
    out_dir = None
    if len(sources) > 1:
        if not output:
            raise UsageError("有多个来源时请用 -o 指定输出文件夹，例如：-o 数据/")
        out_dir = Path(output)
        if out_dir.exists() and not out_dir.is_dir():
            raise UsageError(f"{output} 不是文件夹（多个来源时 -o 应为文件夹）")
    elif output and Path(output).is_dir():
        out_dir = Path(output)
    if out_dir is not None:
        names = [Path(s).stem + ".json" for s in sources]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise UsageError(f"多个来源的文件名相同（{'、'.join(sorted(dup))}），输出会互相覆盖；请分开处理")
    elif output and Path(output).resolve() == Path(sources[0]).resolve():
        raise UsageError("输出文件不能与输入文件相同（不会修改输入文件）")

    bad = 0
    for src in sources:
        res = extract(src, format_id=format_id, year=year, agency=agency)
        if res.status != "unreadable" and check:
            lint(res)
        for line in _lines(res):
            click.echo(line, err=True)
        if res.status == "unreadable":
            bad += 1
            continue
        text = json.dumps(res.canonical(), ensure_ascii=False, indent=2) + "\n"
        if out_dir is not None:
            target = out_dir / (Path(src).stem + ".json")
            write_atomic(target, text, make_parents=True)
            click.echo(f"已写入 {target}", err=True)
        elif output:
            write_atomic(output, text)
            click.echo(f"已写入 {output}", err=True)
        else:
            out = click.get_binary_stream("stdout")
            out.write(text.encode("utf-8"))
            out.flush()
    if bad:
        raise SystemExit(2)
