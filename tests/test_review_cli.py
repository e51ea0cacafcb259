"""The review workflow through the real commands (collect, review, status, history) on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from xlsxgen.cli import cli
from xlsxgen.collection.distribute import workbook_file_name
from xlsxgen.collection.roster import read_roster
from xlsxgen.demo import break_balance, simulate
from xlsxgen.workbook.writer import build_workbook

YEAR = 2023
ROSTER = "代码,名称\nA01,甲局\nA02,乙局\nA03,丙局\nA04,丁局\n"


def make_workbook(spec, seed_submission, roster, code, *, factor=0.5, broken=False, year=YEAR):
    a = roster.get(code)
    sub = simulate(spec, seed_submission, year=year, agency_name=a.name, agency_code=code, seed=code + str(factor),
                   factor=factor)
    if broken:
        break_balance(spec, sub.values)
    return build_workbook(spec, year=year, agency_name=a.name, agency_code=code, data=sub)


@pytest.fixture
def season(db, tmp_path, spec2021, seed_submission):
    roster_path = tmp_path / "名单.csv"
    roster_path.write_text(ROSTER, encoding="utf-8")
    roster = read_roster(roster_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for code in ("A01", "A02"):
        (inbox / workbook_file_name(YEAR, roster.get(code))).write_bytes(
            make_workbook(spec2021, seed_submission, roster, code))
    (inbox / workbook_file_name(YEAR, roster.get("A03"))).write_bytes(
        make_workbook(spec2021, seed_submission, roster, "A03", broken=True))
    return dict(db=db, inbox=inbox, roster_path=roster_path, roster=roster, tmp=tmp_path, spec=spec2021,
                seed=seed_submission)


def run(*args, ok=True):
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def test_review_season_through_the_commands(season):
    s = season
    db = s["db"]
    run("collect", s["inbox"], "--db", db, "--year", YEAR, "--roster", s["roster_path"], "--quiet")
    out = run("review", "list", "--db", db, "--year", YEAR).output
    assert "待审核 3" in out and "未提交 1" in out  # A04 sent nothing: nothing to review

    # errors cannot be accepted; a return needs a comment; both are one Chinese line and exit 2
    res = run("review", "accept", "--db", db, "--year", YEAR, "--agency", "A03", "--by", "张三", ok=False)
    assert res.exit_code == 2 and "不能接受" in res.output and "Traceback" not in res.output
    res = run("review", "return", "--db", db, "--year", YEAR, "--agency", "A03", "--comment", " ", "--by", "张三",
              ok=False)
    assert res.exit_code == 2 and "必须写明意见" in res.output
    run("review", "return", "--db", db, "--year", YEAR, "--agency", "A03", "--comment", "请核对依申请公开表第33行",
        "--by", "张三")
    out = run("review", "accept", "--db", db, "--year", YEAR, "--all-without-warnings", "--by", "李四").output
    assert "已接受 2 个单位" in out

    # status: the review state beside the automatic status, with the comment
    out = run("status", "--db", db, "--year", YEAR, "--all").output
    assert "审核情况：待审核 0　已接受 2　退回修改 1" in out
    line = next(ln for ln in out.splitlines() if "A03" in ln)
    assert "有错误" in line and "退回修改" in line and "请核对依申请公开表第33行" in line

    # the feedback file carries the return comment
    outdir = s["tmp"] / "out"
    run("status", "--db", db, "--year", YEAR, "--out-dir", outdir)
    fb = next((outdir / "反馈单").glob("*A03*.xlsx"))
    import openpyxl

    cells = [c for row in openpyxl.load_workbook(fb).active.iter_rows(values_only=True) for c in row if c]
    assert "请核对依申请公开表第33行" in cells and "审核意见（退回修改）" in cells

    # an accepted agency uploads again: the new version waits; --require-review sums the accepted ones only
    run("review", "reopen", "--db", db, "--year", YEAR, "--agency", "A02", "--comment", "单位要求更正",
        "--by", "李四")
    (s["inbox"] / "A01-更正.xlsx").write_bytes(make_workbook(s["spec"], s["seed"], s["roster"], "A01", factor=0.9))
    run("collect", s["inbox"], "--db", db, "--year", YEAR, "--quiet", "--require-review", "--out-dir", outdir)
    doc = json.loads((outdir / f"汇总数据-{YEAR}.json").read_text(encoding="utf-8"))
    assert sorted(p.name for p in (outdir / "数据").glob("*.json")) == [f"{YEAR}-A01-甲局.json"]
    run("collect", s["inbox"], "--db", db, "--year", YEAR, "--quiet", "--out-dir", outdir / "all")
    assert len(list((outdir / "all" / "数据").glob("*.json"))) == 2  # without review: A01 (new) and A02
    assert doc != json.loads((outdir / "all" / f"汇总数据-{YEAR}.json").read_text(encoding="utf-8"))
    out = run("status", "--db", db, "--year", YEAR, "--all").output
    assert "待重新打开后审核" in next(ln for ln in out.splitlines() if "A01" in ln)

    # review show and history show comments, decisions and the audit log
    out = run("review", "show", "--db", db, "--year", YEAR, "--agency", "A03").output
    assert "退回修改" in out and "请核对依申请公开表第33行" in out and "审核日志" in out and "张三" in out
    out = run("history", "--db", db, "--agency", "A02").output
    assert f"{YEAR}年度审核：待审核" in out and "重新打开" in out and "单位要求更正" in out
    out = run("review", "list", "--db", db, "--year", YEAR, "--state", "已接受").output
    assert "A01" in out and "A02" not in out


def test_review_of_a_missing_store_is_one_line(tmp_path):
    res = run("review", "list", "--db", tmp_path / "none.sqlite", "--year", YEAR, ok=False)
    assert res.exit_code == 2 and "找不到收集库" in res.output


def test_db_from_the_environment(season, monkeypatch):
    monkeypatch.setenv("XLSXGEN_DB", season["db"])
    run("collect", season["inbox"], "--year", YEAR, "--roster", season["roster_path"], "--quiet")
    assert "待审核 3" in run("review", "list", "--year", YEAR).output
