"""The review workflow (xlsxgen.collection.review) on SQLite and PostgreSQL: every transition, every rule,
the audit log."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from xlsxgen.collection import review as rv
from xlsxgen.collection.roster import parse_roster
from xlsxgen.collection.store import Store

W1 = {"rule": "r.current", "severity": "warning", "message": "现行有效件数与上年相差较大", "sheet": "一、主动公开",
      "cell": "D8", "table": "t", "row": "r", "column": "c", "expected": 10, "actual": 50, "fix": "请核对"}
W2 = {"rule": "r.other", "severity": "warning", "message": "另一项警告", "sheet": "三、依申请公开", "cell": "E9",
      "expected": None, "actual": 3, "fix": ""}
E1 = {"rule": "r.balance", "severity": "error", "message": "不平衡", "sheet": "三、依申请公开", "cell": "D33",
      "expected": 63, "actual": 68, "fix": "请核对"}

_n = iter(range(10**6))


def add(s, code="001", findings=(), status=None, received=None, year=2024):
    fl = list(findings)
    errors = sum(f["severity"] == "error" for f in fl)
    warnings = sum(f["severity"] == "warning" for f in fl)
    status = status or ("invalid" if errors else "warning" if warnings else "accepted")
    i = next(_n)
    s.add_submissions([dict(sha256=f"sha{i}", year=year, file_name=f"f{i}.xlsx", path=f"f{i}.xlsx", size=1,
                            file_mtime="2025-01-01T00:00:00", received_at=received or f"2025-01-02T00:00:{i % 60:02d}.{i:06d}",
                            agency_code=code, agency_name=f"单位{code}", data_year=year, format_id="gov-info-2021",
                            status=status, errors=errors, warnings=warnings, findings=json.dumps(fl, ensure_ascii=False),
                            data=json.dumps({"agency": {"code": code}, "n": i}))])
    return s.current_of(year, code)


@pytest.fixture
def store(db):
    with Store.open(db) as s:
        s.save_roster(2024, parse_roster("代码,名称\n001,甲局\n002,乙局\n003,丙局\n".encode()))
        yield s


def test_states_and_transitions(store):
    assert rv.agency_review(store, 2024, "001").state is None  # nothing to review yet
    v1 = add(store)
    assert rv.agency_review(store, 2024, "001").word == "待审核"
    # return -> 退回修改, visible as the return comment
    r = rv.return_(store, 2024, "001", by="张三", comment="请补充文字材料")
    assert (r.state, r.word, r.return_comment, r.subject.id) == ("returned", "退回修改", "请补充文字材料", v1.id)
    with pytest.raises(rv.ReviewError, match="已退回修改"):
        rv.return_(store, 2024, "001", by="张三", comment="again")
    # a new version after a return -> 待审核 again
    v2 = add(store)
    assert rv.agency_review(store, 2024, "001").state == "pending"
    # accept locks v2
    r = rv.accept(store, 2024, "001", by="李四")
    assert (r.state, r.word, r.subject.id) == ("accepted", "已接受", v2.id)
    with pytest.raises(rv.ReviewError, match="已接受"):
        rv.accept(store, 2024, "001", by="李四")
    with pytest.raises(rv.ReviewError, match="请先重新打开"):
        rv.return_(store, 2024, "001", by="李四", comment="x")
    # a later upload waits as a new version: still accepted, still v2 that counts
    v3 = add(store)
    r = rv.agency_review(store, 2024, "001")
    assert r.state == "accepted" and r.subject.id == v2.id and r.current.id == v3.id and r.newer_waiting
    assert [x.id for x in store.current(2024, reviewed=True)] == [v2.id]
    assert store.latest_usable(2024, "001").id == v2.id  # last year's data for next year: the accepted one
    # reopen needs a reason, then 待审核 on the latest version
    with pytest.raises(rv.ReviewError, match="原因"):
        rv.reopen(store, 2024, "001", by="李四", comment="  ")
    r = rv.reopen(store, 2024, "001", by="李四", comment="单位更正了数据")
    assert r.state == "pending" and r.subject.id == v3.id and list(store.current(2024, reviewed=True)) == []
    with pytest.raises(rv.ReviewError, match="无需重新打开"):
        rv.reopen(store, 2024, "001", by="李四", comment="x")
    # return -> accept directly (the reviewer changed their mind) is allowed
    rv.return_(store, 2024, "001", by="李四", comment="再看看")
    assert rv.accept(store, 2024, "001", by="李四").subject.id == v3.id


def test_rules_refuse_with_a_reason(store):
    with pytest.raises(rv.ReviewError, match="没有可审核的报送"):
        rv.accept(store, 2024, "001", by="李四")
    add(store, findings=[E1])
    with pytest.raises(rv.ReviewError, match="有 1 项错误，不能接受"):
        rv.accept(store, 2024, "001", by="李四")
    with pytest.raises(rv.ReviewError, match="必须写明意见"):
        rv.return_(store, 2024, "001", by="李四", comment="")
    with pytest.raises(rv.ReviewError, match="--by"):
        rv.return_(store, 2024, "001", by=" ", comment="x")
    with pytest.raises(rv.ReviewError, match="错误必须修改"):
        rv.explain(store, 2024, "001", 1, by="单位", text="说明")
    add(store, code="002", status="unreadable")
    with pytest.raises(rv.ReviewError, match="无法读取，不能接受"):
        rv.accept(store, 2024, "002", by="李四")
    assert rv.return_(store, 2024, "002", by="李四", comment="文件损坏，请重报").state == "returned"
    assert store.audit_log(2024)[-1].action == "return"
    assert len(store.audit_log(2024)) == 1  # refusals leave no trace


def test_warnings_explained_decided_and_kept_across_resubmission(store):
    v1 = add(store, findings=[W1, W2])
    with pytest.raises(rv.ReviewError, match="2 项警告尚未决定"):
        rv.accept(store, 2024, "001", by="李四")
    fv = rv.explain(store, 2024, "001", 1, by="王五（单位）", text="今年新增大量规范性文件")
    assert fv.explanation == "今年新增大量规范性文件" and fv.fingerprint == rv.fingerprint(W1)
    with pytest.raises(rv.ReviewError, match="原因"):
        rv.decide(store, 2024, "001", 2, by="李四", accept_it=False)
    rv.decide(store, 2024, "001", 2, by="李四", accept_it=False, comment="请核实")
    with pytest.raises(rv.ReviewError, match="已决定不接受"):
        rv.accept(store, 2024, "001", by="李四", accept_warnings=True)
    rv.decide(store, 2024, "001", rv.fingerprint(W1)[:6], by="李四", accept_it=True)
    # a resubmission: W1 unchanged keeps explanation and decision; W2 with a changed value is a new finding
    w2b = dict(W2, actual=4)
    v2 = add(store, findings=[W1, w2b])
    r = rv.agency_review(store, 2024, "001")
    assert r.subject.id == v2.id != v1.id
    f1, f2 = r.findings
    assert (f1.explanation, f1.decision) == ("今年新增大量规范性文件", "accepted")
    assert (f2.explanation, f2.decision) == ("", None)
    with pytest.raises(rv.ReviewError, match="1 项警告尚未决定（第 2 项）"):
        rv.accept(store, 2024, "001", by="李四")
    r = rv.accept(store, 2024, "001", by="李四", accept_warnings=True, comment="核实无误")
    assert r.state == "accepted" and [f.decision for f in r.findings] == ["accepted", "accepted"]
    with pytest.raises(rv.ReviewError, match="不能再改变"):
        rv.decide(store, 2024, "001", 1, by="李四", accept_it=False, comment="x")
    with pytest.raises(rv.ReviewError, match="没有问题"):
        rv.explain(store, 2024, "001", 9, by="单位", text="x")


def test_audit_log_is_complete_and_append_only(store):
    v1 = add(store, findings=[W1])
    rv.explain(store, 2024, "001", 1, by="单位甲", text="属实")
    rv.decide(store, 2024, "001", 1, by="审核乙", accept_it=True, comment="同意")
    rv.accept(store, 2024, "001", by="审核乙", comment="通过")
    rv.reopen(store, 2024, "001", by="主任丙", comment="发现问题")
    rv.return_(store, 2024, "001", by="主任丙", comment="请修改第八行")
    log = store.audit_log(2024, "001")
    assert [(a.action, a.actor) for a in log] == [("explain", "单位甲"), ("decide", "审核乙"), ("accept", "审核乙"),
                                                  ("reopen", "主任丙"), ("return", "主任丙")]
    assert all(a.submission_id == v1.id and a.at for a in log)
    acc = log[2]
    assert json.loads(acc.before_state)["state"] is None and json.loads(acc.after_state)["state"] == "accepted"
    assert json.loads(log[3].before_state)["state"] == "accepted" and log[3].comment == "发现问题"
    assert json.loads(log[1].after_state)["decision"] == "accepted" and log[1].fingerprint == rv.fingerprint(W1)
    for sql in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            store._write(lambda c, sql=sql: c.exec_driver_sql(sql))
    assert len(store.audit_log()) == 5


def test_bulk_accept(store):
    add(store, "001")
    add(store, "002", findings=[W1])
    add(store, "003", findings=[E1])
    res = rv.bulk_accept(store, 2024, by="李四", without_warnings=True)
    assert res.accepted == ["001"] and res.refused == []
    res = rv.bulk_accept(store, 2024, by="李四", codes=["001", "002", "003", "999"])
    assert res.accepted == []
    assert [c for c, _ in res.refused] == ["999", "001", "002", "003"]
    res = rv.bulk_accept(store, 2024, by="李四", codes=["002"], accept_warnings=True)
    assert res.accepted == ["002"]
    assert {r.code: r.word for r in rv.list_reviews(store, 2024)} == {"001": "已接受", "002": "已接受", "003": "待审核"}


def test_accept_a_named_version(store):
    v1 = add(store)
    v2 = add(store, findings=[E1])
    r = rv.accept(store, 2024, "001", by="李四", submission_id=v1.id)  # the reviewer looked at v1
    assert r.subject.id == v1.id and r.current.id == v2.id
    with pytest.raises(rv.ReviewError, match="没有编号为"):
        rv.accept(store, 2024, "002", by="李四", submission_id=v1.id)


def test_history_and_show_print_explanations_and_decisions(store, db):
    from click.testing import CliRunner

    from xlsxgen.cli import cli

    add(store, findings=[W1])
    rv.explain(store, 2024, "001", 1, by="单位王五", text="新增规范性文件较多")
    rv.decide(store, 2024, "001", 1, by="审核李四", accept_it=True, comment="属实")
    rv.accept(store, 2024, "001", by="审核李四")
    out = CliRunner().invoke(cli, ["history", "--db", db, "--agency", "001", "--findings"]).output
    assert "2024年度审核：已接受" in out and "说明（单位王五）：新增规范性文件较多" in out
    assert "决定（审核李四）：接受，属实" in out
    out = CliRunner().invoke(cli, ["review", "show", "--db", db, "--year", "2024", "--agency", "001"]).output
    assert "新增规范性文件较多" in out and "接受（审核李四）：属实" in out and "说明警告" in out
