"""``xlsxgen render``: the draft annual report of one submission (md, html, docx, txt, pdf), or of
every agency of a collection store at once (``--db DB --year Y --all``)."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxgen.commands._common import friendly_errors
from xlsxgen.errors import UsageError
from xlsxgen.files import same_file, write_atomic


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
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), required=False)
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
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="收集库文件：与 --year、--all 一起为每个单位生成草稿")
@click.option("--year", type=int, default=None, help="报告年度（与 --db 一起使用）")
@click.option("--all", "all_agencies", is_flag=True, default=False,
              help="为收集库中该年度每个单位生成草稿（使用通过校验或仅有警告的报送），并生成目录页")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="--all 的输出文件夹（默认：当前文件夹下的“报告草稿-年度”）")
@click.option("--require-review", is_flag=True, default=False,
              help="--all 只用审核中已接受的报送（xlsxgen review accept）")
@friendly_errors
def command(source, fmt, output, previous, templates_dir, final, extra_figures, db, year, all_agencies, out_dir,
            require_review):
    """生成年度报告草稿。SOURCE 为规范 JSON 或填报工作簿。

    \b
    草稿包括标题、开头段、报告格式规定的各部分和法定统计表；缺少的内容以【待补充：…】标出，
    并在屏幕上逐条提示。由数据生成的语句注明所用单元格（HTML 注释、Markdown 脚注、
    Word 批注或文末附录）。
    \b
    例：xlsxgen render 邢台市政府办.json --format docx -o 年报草稿.docx
        xlsxgen render 本年.json --previous 上年.json -o 年报草稿.html
        xlsxgen render 本年.json --final --format pdf -o 年报.pdf
        xlsxgen render --db 收集库.sqlite --year 2024 --all --format docx --out-dir 草稿/
    """
    from xlsxgen.render import load_source, render_report

    if all_agencies or db is not None:
        if source is not None or output is not None or previous is not None:
            raise UsageError("--all 为收集库中的每个单位生成草稿，不能同时指定 SOURCE、-o 或 --previous（上年数据取自收集库）")
        if not (all_agencies and db is not None and year is not None):
            raise UsageError("为每个单位生成草稿需要同时指定 --db、--year 和 --all，例如：xlsxgen render --db 收集库.sqlite "
                             "--year 2024 --all --format docx")
        _render_all(db, year, fmt or "docx", out_dir, templates_dir, final, extra_figures, require_review)
        return
    if source is None:
        raise UsageError("请指定 SOURCE（规范 JSON 或填报工作簿），或用 --db、--year、--all 为每个单位生成草稿")
    fmt = _infer_format(fmt, output)
    if output is None and fmt in ("docx", "pdf"):  # binary formats go beside SOURCE
        output = source.with_suffix("." + fmt)
    for given in (source, previous):
        if output is not None and given is not None and same_file(output, given):
            raise UsageError(f"输出文件不能与输入文件 {given} 相同（不会修改输入文件）；请用 -o 指定另一个文件")
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

    out, render_warnings = render_report(loaded.spec, loaded.submission, fmt, prev_sub, templates_dir,
                                         final=final, options={"extra_figures": extra_figures})
    warnings += render_warnings
    if output is None:
        click.echo(out, nl=False)
    else:
        write_atomic(output, out)
        click.echo(f"已生成：{output}", err=True)
    for w in warnings:
        click.echo(f"提示：{w}", err=True)


def _render_all(db, year, fmt, out_dir, templates_dir, final, extra_figures, require_review=False):
    """Every agency's draft from the store: its submission accepted in review (``require_review``),
    else its current submission when usable, else its latest one that passed validation."""
    import json

    from xlsxgen.collection.outputs import prepare_out_dir
    from xlsxgen.collection.overview import build_overview
    from xlsxgen.collection.store import Store
    from xlsxgen.data import from_canonical_trusted
    from xlsxgen.errors import SpecError
    from xlsxgen.numbers import Written
    from xlsxgen.render.compilation import AgencyDraft, render_every_agency
    from xlsxgen.spec import load_format

    out = prepare_out_dir(out_dir if out_dir is not None else Path(f"报告草稿-{year}"))

    def submission_of(rec):
        doc = json.loads(rec.data_json, parse_float=Written)
        try:
            spec = load_format(doc.get("format") or "")
        except SpecError:
            return None, None
        return spec, from_canonical_trusted(spec, doc)

    items = []
    with Store.open(db, create=False) as store:
        overview = build_overview(store, year, require_review=require_review)
        current = {r.agency_code: r for r in store.current(year, with_data=True, with_findings=False,
                                                            reviewed=require_review)}
        for row in overview.rows:
            it = AgencyDraft(row.code, row.name, row.label)
            rec = current.get(row.code)
            if not require_review and (rec is None or not (rec.usable and rec.data_json)):
                rec = store.latest_usable(year, row.code) if row.code else None
                if rec is not None:
                    it.status = f"{row.label}（使用此前通过校验的报送 {rec.file_name}）"
            if rec is not None and rec.data_json:
                it.spec, it.submission = submission_of(rec)
                prev = store.latest_usable(year - 1, row.code) if row.code else None
                if prev is not None and prev.data_json and it.submission is not None:
                    _, it.previous = submission_of(prev)
            items.append(it)
    if not any(it.submission is not None for it in items):
        raise UsageError(f"收集库 {db} 中没有 {year} 年度通过校验的报送，未生成草稿")
    index = render_every_agency(items, fmt, out, year=year, title=f"{year}年度各单位年度报告草稿目录",
                                templates_dir=templates_dir, final=final, options={"extra_figures": extra_figures})
    done = [it for it in items if it.file is not None]
    click.echo(f"已生成 {len(done)} 份草稿：{out}", err=True)
    click.echo(f"目录：{index}", err=True)
    for it in items:
        if it.error:
            click.echo(f"提示：{it.name}：未生成：{it.error.splitlines()[0]}", err=True)
        elif it.submission is None:
            click.echo(f"提示：{it.name}：{it.status}，没有可用的报送，未生成草稿", err=True)
