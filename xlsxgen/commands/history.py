"""``xlsxgen history``: every submission of one agency, oldest first."""

from __future__ import annotations

import click

from xlsxgen.collection.statuses import ACTION_WORDS, decision_word, review_word, severity_word, status_word
from xlsxgen.commands._common import db_option, friendly_errors


@click.command(name="history")
@db_option("收集库")
@click.option("--agency", required=True, help="单位代码（也可以是单位全称）。")
@click.option("--year", type=int, default=None, help="只看某一年度。")
@click.option("--findings", "show_findings", is_flag=True, help="同时列出每次报送的问题。")
@friendly_errors
def command(db, agency, year, show_findings):
    """列出某单位的全部报送记录（每个收到的文件一行，当前有效的标 ★）。

    \b
    示例：
      xlsxgen history --db 收集库.sqlite --agency 130500-001
    """
    from xlsxgen.collection.review import effective_state, fingerprint
    from xlsxgen.collection.store import Store
    from xlsxgen.textwidth import format_table

    with Store.open(db, create=False) as store:
        code = agency.strip()
        records = store.history(code, year)
        if not records:
            hits = store.codes_named(code)
            if len(hits) == 1:
                code = hits[0]
                records = store.history(code, year)
        if not records:
            click.echo(f"收集库中没有单位 {agency} 的报送记录" + (f"（{year}年度）" if year else ""))
            return
        current_ids = set()
        for y in sorted({r.year for r in records}):
            current_ids |= {r.id for r in store.current(y) if r.agency_code == code}
        name = next((r.agency_name for r in reversed(records) if r.agency_name), "")
        click.echo(f"{name}（{code}）共 {len(records)} 次报送：")
        rows = []
        for r in records:
            result = status_word(r.status)
            if r.errors or r.warnings:
                result += f"（错误{r.errors}，警告{r.warnings}）"
            rows.append(("★" if r.id in current_ids else "", r.id, r.year, r.received_at[:19].replace("T", " "),
                         r.file_name, result, r.sha256[:12], r.reason or ""))
        click.echo(format_table(("当前", "编号", "年度", "收到时间", "文件", "结果", "指纹", "原因"), rows,
                                max_widths=[4, 6, 4, 19, 40, 24, 12, 50],
                                align=["<", ">", "<", "<", "<", "<", "<", "<"]))
        years = sorted({r.year for r in records})
        notes = {y: store.finding_notes(y, code) for y in years}
        for y in years:
            rv = store.review_row(y, code)
            log = [a for a in store.audit_log(y, code) if a.action in ("accept", "return", "reopen")]
            if rv is None and not log:
                continue
            cur = max((r.id for r in records if r.year == y and r.id in current_ids), default=None)
            state = review_word(effective_state(rv, cur))
            head = f"\n{y}年度审核：{state}"
            if rv is not None and rv.state == "accepted":
                head += f"（接受的版本：编号 {rv.submission_id}）"
            click.echo(head)
            for a in log:
                click.echo(f"  {a.at[:19].replace('T', ' ')}　{a.actor}　{ACTION_WORDS.get(a.action, a.action)}"
                           + (f"（编号 {a.submission_id}）" if a.submission_id else "")
                           + (f"：{a.comment}" if a.comment else ""))
        if show_findings:
            for r in records:
                fs = r.findings
                if not fs:
                    continue
                click.echo(f"\n编号 {r.id}（{r.file_name}）的问题：")
                for f in fs:
                    where = "!".join(x for x in (f.get("sheet"), f.get("cell")) if x)
                    click.echo(f"  [{severity_word(f.get('severity'))}] {where}　{f.get('message', '')}")
                    note = notes.get(r.year, {}).get(fingerprint(f))
                    if note and note.explanation:
                        click.echo(f"      说明（{note.explained_by}）：{note.explanation}")
                    if note and note.decision:
                        click.echo(f"      决定（{note.decided_by}）：{decision_word(note.decision)}"
                                   + (f"，{note.decision_comment}" if note.decision_comment else ""))
