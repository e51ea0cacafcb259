"""``xlsxgen seed``: last year's published reports into the collection store (first-year prefill and cross-year rules)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sys
from pathlib import Path

import click

from xlsxgen.commands._common import friendly_errors
from xlsxgen.errors import UsageError

SEED_REASON = "seeded"  # reason_code of a row seeded from a publication (the store's statuses are unchanged)


def match_agency(roster, result, path: str):
    """The roster agency of a published report: its title's name, a roster name in the title, then the file name."""
    name = (result.agency or {}).get("name") or ""
    if name:
        hit = roster.match_name(name)
        if hit is not None:
            return hit, "标题"
    title = "".join((result.title or "").split())
    if title:
        named = [a for a in roster if a.name and "".join(a.name.split()) in title]
        if named:
            longest = max(len(a.name) for a in named)
            named = [a for a in named if len(a.name) == longest]
            if len(named) == 1:
                return named[0], "标题"
    hit = roster.match_file_name(Path(path).name)
    if hit is not None:
        return hit, "文件名"
    return None, ""


@click.command(name="seed")
@click.argument("sources", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="收集库（SQLite 文件，不存在则创建）。")
@click.option("--year", required=True, type=int, help="这些年报的年度（上一年度，如今年收集 2024 年度则为 2023）。")
@click.option("--roster", "roster_path", required=True, type=click.Path(dir_okay=False), help="单位名单（CSV）。")
@click.option("--format", "format_id", default=None, help="格式版本（默认按标签识别）。")
@friendly_errors
def command(sources, db, year, roster_path, format_id):
    """把上一年度已公开的年报（网页、Word、PDF、文本）导入收集库，作为“上年数据”。

    \b
    第一年使用本工具时没有上年的收集库：导入各单位已公开的上年年报后，
    generate --roster --db 可按上年“结转下年度继续办理”预填“上年结转”，collect 可做跨年度校验。
    按年报标题中的单位名称（其次按文件名）对应名单中的单位；对应不上的列出，不导入。
    读不准的数字保留为空（不预填、不参与校验），公布的数字原样保存。
    \b
    退出码：0 已导入（有未对应的来源时列出）；2 有文件无法读取或用法有误。
    \b
    示例：
      xlsxgen seed --db 收集库.sqlite --year 2023 --roster 名单.csv 上年年报/*.html
      xlsxgen generate --roster 名单.csv --year 2024 --out-dir 下发/ --db 收集库.sqlite
    """
    from importer.published import is_published, load_published
    from xlsxgen.collection.roster import read_roster
    from xlsxgen.collection.statuses import ACCEPTED, WARNING
    from xlsxgen.collection.store import Store

    if format_id:
        from xlsxgen.spec import load_format

        load_format(format_id)  # an unknown id: one Chinese line naming the installed formats, exit 2
    if not sources:
        raise UsageError("请指定上一年度已公开的年报文件，例如：xlsxgen seed --db 收集库.sqlite --year 2023 "
                         "--roster 名单.csv 上年年报/*.html")
    for s in sources:
        if not is_published(s):
            raise UsageError(f"{s} 不是可读取的年报文件（可读取 .html .htm .docx .pdf .txt .md）")
    roster = read_roster(roster_path)
    store = Store.open(db)
    try:
        if store.roster(year) is None:
            store.save_roster(year, roster)
        run_id = store.start_run(year, "seed:" + ",".join(sources)[:500])
        rows, unmatched, unreadable, other_year, used = [], [], [], [], {}
        received = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        for src in sources:
            res = load_published(src, format_id=format_id, year=None)
            if res.status == "unreadable":
                unreadable.append(f"{src}：{res.reason}")
                continue
            if res.year is not None and res.year != year:
                other_year.append(f"{src}（{res.year}年度）")
                continue
            agency, how = match_agency(roster, res, src)
            if agency is None:
                unmatched.append(f"{src}（标题中的单位：{(res.agency or {}).get('name') or '未识别'}）")
                continue
            if agency.code in used:
                unmatched.append(f"{src}（与 {used[agency.code]} 同为「{agency.name}」，只导入第一个）")
                continue
            used[agency.code] = src
            res.submission.agency_name, res.submission.agency_code = agency.name, agency.code
            res.submission.year = year
            doc = res.canonical()
            doc["agency"] = {"name": agency.name, "code": agency.code}
            doc["year"] = year
            findings = [f.to_dict() for f in res.findings]
            errors = sum(1 for f in res.findings if f.is_error)
            warnings = len(res.findings) - errors
            data = Path(src).read_bytes()
            st = Path(src).stat()
            rows.append({
                "sha256": hashlib.sha256(data).hexdigest(), "year": year, "file_name": Path(src).name,
                "path": str(src), "size": st.st_size,
                "file_mtime": _dt.datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(timespec="seconds"),
                "received_at": received, "agency_code": agency.code, "agency_name": agency.name, "data_year": year,
                "format_id": res.format_id,
                # a publication is last year's data as published: usable for prefill and cross-year rules;
                # what the lint found stays in its findings and checked_status
                "status": WARNING if (errors or warnings) else ACCEPTED,
                "reason_code": SEED_REASON, "reason": f"从已公开的年报导入（按{how}对应）：{src}",
                "checked_status": "invalid" if errors else ("warning" if warnings else "accepted"),
                "errors": errors, "warnings": warnings,
                "findings": json.dumps(findings, ensure_ascii=False, separators=(",", ":")),
                "data": json.dumps(doc, ensure_ascii=False, separators=(",", ":")), "run_id": run_id,
            })
            known = sum(1 for v in res.published.values() if v is not None)
            click.echo(f"{agency.name}（{agency.code}）← {src}：读出 {known}/{len(res.published)} 项，"
                       f"{errors} 个错误、{warnings} 个警告（按{how}对应）")
        added = store.add_submissions(rows)
        store.finish_run(run_id, files_seen=len(sources), imported=added, skipped=len(sources) - added)
        missing = [a for a in roster if store.latest_usable(year, a.code) is None]
    finally:
        store.close()
    click.echo(f"已导入 {added} 份上年年报到 {db}（{year}年度）" + (f"；{len(rows) - added} 份此前已导入" if len(rows) > added else ""))
    if missing:
        click.echo(f"名单中 {len(missing)} 个单位在收集库中没有{year}年度的数据：" + "、".join(a.name for a in missing[:20])
                   + ("……" if len(missing) > 20 else ""))
    for title, items in (("未对应到名单中单位的来源", unmatched), (f"不是{year}年度的来源", other_year),
                         ("无法读取的来源", unreadable)):
        if items:
            click.echo(f"{title}（{len(items)} 个，未导入）：", err=True)
            for it in items:
                click.echo(f"  {it}", err=True)
    if unreadable:
        sys.exit(2)
