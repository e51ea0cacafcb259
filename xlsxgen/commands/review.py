"""``xlsxgen review``: the office's review of each agency's submission (list, show, accept, return, reopen,
explain, decide). Thin wrappers over :mod:`xlsxgen.collection.review`, which the web portal calls too."""

from __future__ import annotations

import click

from xlsxgen.collection.statuses import (
    ACTION_WORDS,
    REVIEW_WORDS,
    decision_word,
    severity_word,
    status_word,
)
from xlsxgen.commands._common import db_option, friendly_errors

_year = click.option("--year", type=int, required=True, help="报告年度。")
_by = click.option("--by", "by", required=True, help="操作人姓名（记入审核日志）。")


def _agency(required=True, multiple=False):
    return click.option("--agency", "agency", required=required, multiple=multiple,
                        help="单位代码" + ("（可重复给出多个）" if multiple else "") + "。")


@click.group(name="review")
def command():
    """审核各单位的报送：接受、退回修改、重新打开，对警告的说明和决定。

    \b
    审核状态：待审核（收到可审核的报送）→ 已接受（锁定该版本，汇总和草稿用它；
    之后再交的文件作为新版本等待，重新打开后才审核）或 退回修改（须写意见，单位在反馈单中看到）。
    有错误的报送不能接受；有警告的，须逐项决定接受（或用 --accept-warnings 一并接受）。
    每个操作都记入审核日志（谁、何时、做了什么、意见、前后状态）。

    \b
    示例：
      xlsxgen review list   --db 收集库.sqlite --year 2024
      xlsxgen review show   --db 收集库.sqlite --year 2024 --agency 001
      xlsxgen review accept --db 收集库.sqlite --year 2024 --agency 001 --by 张三
      xlsxgen review accept --db 收集库.sqlite --year 2024 --all-without-warnings --by 张三
      xlsxgen review return --db 收集库.sqlite --year 2024 --agency 002 --comment "请补充文字材料" --by 张三
      xlsxgen review explain --db 收集库.sqlite --year 2024 --agency 002 --finding 1 --comment "说明" --by 单位李四
      xlsxgen review decide --db 收集库.sqlite --year 2024 --agency 002 --finding 1 --accept --by 张三
    """


def _open(db):
    from xlsxgen.collection.store import Store

    return Store.open(db, create=False)


@command.command(name="list")
@db_option("收集库")
@_year
@click.option("--state", type=click.Choice(list(REVIEW_WORDS.values())), default=None, help="只列出某一审核状态。")
@friendly_errors
def list_command(db, year, state):
    """列出各单位的审核状态（与自动校验状态并列）。"""
    from xlsxgen.collection.review import list_reviews
    from xlsxgen.textwidth import format_table

    with _open(db) as store:
        rows = list_reviews(store, year)
        counts: dict[str, int] = {}
        out = []
        for r in rows:
            key = r.word if r.state else "未提交"
            counts[key] = counts.get(key, 0) + 1
            if state and r.word != state:
                continue
            cur = r.current
            auto = status_word(cur.status) if cur else "未提交"
            note = r.comment
            if r.newer_waiting:
                note = f"有新版本（编号 {r.current.id}）待重新打开" + (f"；{note}" if note else "")
            out.append((r.code, r.name, auto, r.word, cur.errors if cur else "", cur.warnings if cur else "",
                        r.subject.id if r.subject else "", note))
    click.echo(f"{year}年度审核情况：共 {len(rows)} 个单位　" + "　".join(f"{k} {v}" for k, v in counts.items()))
    if out:
        click.echo(format_table(("代码", "单位", "自动状态", "审核状态", "错误", "警告", "编号", "意见"), out,
                                max_widths=[16, 28, 10, 8, 4, 4, 6, 50],
                                align=["<", "<", "<", "<", ">", ">", ">", "<"]))


@command.command(name="show")
@db_option("收集库")
@_year
@_agency()
@friendly_errors
def show_command(db, year, agency):
    """显示一个单位的审核状态、意见、各项问题的说明和决定，以及审核日志。"""
    from xlsxgen.collection.review import agency_review

    with _open(db) as store:
        r = agency_review(store, year, agency.strip())
        log = store.audit_log(year, r.code)
    click.echo(show_text(r, log))


def show_text(r, log) -> str:
    from xlsxgen.textwidth import format_table

    lines = [f"{r.name}（{r.code}）{r.year}年度　审核状态：{r.word}"]
    if r.row is not None and r.row.comment:
        lines.append(f"意见：{r.row.comment}（{r.row.updated_by}，{r.row.updated_at[:19].replace('T', ' ')}）")
    if r.subject is not None:
        s = r.subject
        lines.append(f"{'已接受的版本' if r.state == 'accepted' else '当前版本'}：编号 {s.id}　{s.file_name}　"
                     f"{s.received_at[:19].replace('T', ' ')}　{status_word(s.status)}（错误 {s.errors}，警告 {s.warnings}）")
    if r.newer_waiting:
        lines.append(f"另有新版本：编号 {r.current.id}　{r.current.file_name}（重新打开后审核）")
    if r.subject is None:
        lines.append("还没有可审核的报送")
    if r.findings:
        rows = []
        for f in r.findings:
            note = f.note
            expl = f"{note.explanation}（{note.explained_by}）" if note and note.explanation else ""
            dec = ""
            if note and note.decision:
                dec = decision_word(note.decision) + f"（{note.decided_by}）" + (
                    f"：{note.decision_comment}" if note.decision_comment else "")
            elif f.severity == "warning":
                dec = "未决定"
            rows.append((f.number, f.fingerprint[:8], severity_word(f.severity), f.location, f.message, expl, dec))
        lines += ["", "问题："]
        lines.append(format_table(("序号", "指纹", "级别", "位置", "问题", "说明", "决定"), rows,
                                  max_widths=[4, 8, 4, 24, 50, 30, 30], align=[">", "<", "<", "<", "<", "<", "<"]))
    if log:
        lines += ["", "审核日志："]
        for a in log:
            what = ACTION_WORDS.get(a.action, a.action)
            target = f" 第{a.fingerprint[:8]}项" if a.fingerprint else ""
            lines.append(f"  {a.at[:19].replace('T', ' ')}　{a.actor}　{what}{target}"
                         + (f"（编号 {a.submission_id}）" if a.submission_id else "")
                         + (f"：{a.comment}" if a.comment else ""))
    return "\n".join(lines)


@command.command(name="accept")
@db_option("收集库")
@_year
@_agency(required=False, multiple=True)
@click.option("--all-without-warnings", "all_clean", is_flag=True,
              help="接受全部“待审核”且没有错误和警告的单位。")
@click.option("--all", "all_pending", is_flag=True, help="接受全部“待审核”的单位（有未决定警告的会被拒绝并说明）。")
@click.option("--submission", "submission_id", type=int, default=None,
              help="接受指定编号的版本（默认为当前版本；只能与一个 --agency 一起使用）。")
@click.option("--accept-warnings", is_flag=True, help="同时接受尚未决定的警告（逐项记入日志）。")
@click.option("--comment", default="", help="意见（可选）。")
@_by
@friendly_errors
def accept_command(db, year, agency, all_clean, all_pending, submission_id, accept_warnings, comment, by):
    """接受报送：锁定该版本，汇总和草稿用它（可一次接受多个单位）。"""
    from xlsxgen.collection.review import accept, bulk_accept
    from xlsxgen.errors import UsageError

    if sum(bool(x) for x in (agency, all_clean, all_pending)) != 1:
        raise UsageError("请给出 --agency（可多个）、--all-without-warnings 或 --all 之一")
    if submission_id is not None and len(agency) != 1:
        raise UsageError("--submission 只能与一个 --agency 一起使用")
    with _open(db) as store:
        if len(agency) == 1:
            r = accept(store, year, agency[0].strip(), by=by, comment=comment, submission_id=submission_id,
                       accept_warnings=accept_warnings)
            click.echo(f"已接受 {r.name}（{r.code}）的报送（编号 {r.subject.id}，{r.subject.file_name}）")
            return
        res = bulk_accept(store, year, by=by, codes=[a.strip() for a in agency] if agency else None,
                          without_warnings=all_clean, comment=comment, accept_warnings=accept_warnings)
    click.echo(f"已接受 {len(res.accepted)} 个单位" + (f"：{'、'.join(res.accepted[:20])}" if res.accepted else "")
               + ("……" if len(res.accepted) > 20 else ""))
    for code, why in res.refused:
        click.echo(f"  未接受 {code}：{why}")
    if res.refused and not res.accepted:
        raise SystemExit(1)


@command.command(name="return")
@db_option("收集库")
@_year
@_agency()
@click.option("--comment", required=True, help="退回意见（必填，单位会在反馈单中看到）。")
@_by
@friendly_errors
def return_command(db, year, agency, comment, by):
    """退回修改（须写意见）。"""
    from xlsxgen.collection.review import return_

    with _open(db) as store:
        r = return_(store, year, agency.strip(), by=by, comment=comment)
    click.echo(f"已退回 {r.name}（{r.code}）的报送（编号 {r.subject.id}）：{r.comment}")


@command.command(name="reopen")
@db_option("收集库")
@_year
@_agency()
@click.option("--comment", required=True, help="重新打开的原因（必填）。")
@_by
@friendly_errors
def reopen_command(db, year, agency, comment, by):
    """重新打开已接受的报送（须写原因），单位回到“待审核”。"""
    from xlsxgen.collection.review import reopen

    with _open(db) as store:
        r = reopen(store, year, agency.strip(), by=by, comment=comment)
    click.echo(f"已重新打开 {r.name}（{r.code}），现为{r.word}" +
               (f"（当前版本编号 {r.subject.id}）" if r.subject else ""))


@command.command(name="explain")
@db_option("收集库")
@_year
@_agency()
@click.option("--finding", required=True, help="警告的序号或指纹（见 xlsxgen review show）。")
@click.option("--comment", required=True, help="单位对该警告的说明。")
@_by
@friendly_errors
def explain_command(db, year, agency, finding, comment, by):
    """记录单位对一项警告的说明（同一问题在重报的版本中保留）。"""
    from xlsxgen.collection.review import explain

    with _open(db) as store:
        f = explain(store, year, agency.strip(), finding, by=by, text=comment)
    click.echo(f"已记录第 {f.number} 项警告（{f.location}，指纹 {f.fingerprint[:8]}）的说明")


@command.command(name="decide")
@db_option("收集库")
@_year
@_agency()
@click.option("--finding", required=True, help="警告的序号或指纹（见 xlsxgen review show）。")
@click.option("--accept/--reject", "accept_it", required=True, help="接受该警告（数据属实）或不接受（须修改）。")
@click.option("--comment", default="", help="意见（不接受时必填）。")
@_by
@friendly_errors
def decide_command(db, year, agency, finding, accept_it, comment, by):
    """审核人对一项警告的决定：接受或不接受（不接受须写原因）。"""
    from xlsxgen.collection.review import decide

    with _open(db) as store:
        f = decide(store, year, agency.strip(), finding, by=by, accept_it=accept_it, comment=comment)
    click.echo(f"第 {f.number} 项警告（{f.location}）：{decision_word(f.decision)}")
