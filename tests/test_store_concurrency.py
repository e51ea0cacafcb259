"""Several processes at once on one store (SQLite and PostgreSQL): nothing lost, nothing duplicated,
nothing decided twice.

- uploads of one agency racing with two reviewers who accept and reopen it;
- two reviewers deciding the same finding;
- a ``collect`` killed with SIGKILL (whole process group, workers included) and run again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from xlsxgen.collection import review as rv
from xlsxgen.collection.store import Store

W = {"rule": "r.w", "severity": "warning", "message": "警告", "sheet": "S", "cell": "A1", "expected": 1, "actual": 2}


def _upload(db, prefix, n, findings):
    with Store.open(db) as s:
        for i in range(n):
            s.add_submissions([dict(
                sha256=f"{prefix}{i}", year=2024, file_name=f"{prefix}{i}.xlsx", path=f"{prefix}{i}.xlsx", size=1,
                file_mtime="2025-01-01T00:00:00", received_at=f"2025-01-02T00:{i // 60:02d}:{i % 60:02d}.{prefix}",
                agency_code="001", agency_name="甲局", data_year=2024, format_id="gov-info-2021",
                status="warning" if findings else "accepted", errors=0, warnings=len(findings),
                findings=json.dumps(findings), data="{}")])


def _reviewer(db, name, rounds, out):
    accepted = reopened = 0
    with Store.open(db) as s:
        for _ in range(rounds):
            try:
                rv.accept(s, 2024, "001", by=name)
                accepted += 1
            except rv.ReviewError:
                pass
            try:
                rv.reopen(s, 2024, "001", by=name, comment="再审")
                reopened += 1
            except rv.ReviewError:
                pass
    out.put((accepted, reopened))


def _procs(targets):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=f, args=a) for f, a in targets]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        assert p.exitcode == 0
    return ctx


def test_uploads_race_with_two_reviewers(db):
    with Store.open(db) as s:
        _upload(db, "z", 1, [])
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_upload, args=(db, p, 40, [])) for p in ("a", "b")]
    procs += [ctx.Process(target=_reviewer, args=(db, n, 25, out)) for n in ("甲", "乙")]
    for p in procs:
        p.start()
    results = [out.get(timeout=180) for _ in range(2)]
    for p in procs:
        p.join(180)
        assert p.exitcode == 0
    with Store.open(db) as s:
        shas = [r.sha256 for r in s.history("001", 2024)]
        assert len(shas) == len(set(shas)) == 81  # every upload once
        log = s.audit_log(2024, "001")
        assert len(log) == sum(a + r for a, r in results)  # every successful action logged, nothing else
        actions = [a.action for a in log]
        assert all(x != y for x, y in zip(actions, actions[1:]))  # never accepted (or reopened) twice in a row
        for a in log:
            before, after = json.loads(a.before_state), json.loads(a.after_state)
            assert before["state"] != after["state"]
        accepted_ids = [json.loads(a.after_state)["submission_id"] for a in log if a.action == "accept"]
        assert set(accepted_ids) <= {r.id for r in s.history("001", 2024)}
        row = s.review_row(2024, "001")
        if actions and actions[-1] == "accept":
            assert row.state == "accepted" and row.submission_id == accepted_ids[-1]
        elif actions:
            assert row.state == "pending"


def _decider(db, name, rounds):
    with Store.open(db) as s:
        for i in range(rounds):
            rv.decide(s, 2024, "001", 1, by=name, accept_it=bool(i % 2), comment=f"{name}{i}")


def test_two_reviewers_decide_the_same_finding(db):
    with Store.open(db) as s:
        _upload(db, "w", 1, [W])
    _procs([(_decider, (db, "甲", 30)), (_decider, (db, "乙", 30))])
    with Store.open(db) as s:
        log = s.audit_log(2024, "001")
        assert len(log) == 60 and {a.action for a in log} == {"decide"}
        notes = s.finding_notes(2024, "001")
        assert list(notes) == [rv.fingerprint(W)]
        # serialised: each decision saw the one before it (no lost update)
        for prev, cur in zip(log, log[1:]):
            assert json.loads(cur.before_state) == json.loads(prev.after_state)
        last = json.loads(log[-1].after_state)
        assert notes[rv.fingerprint(W)].decision == last["decision"]


@pytest.fixture
def big_inbox(tmp_path_factory, spec2021):
    """400 distinct workbooks of 400 roster agencies (made once per test session worker)."""
    from xlsxgen.collection.distribute import distribute
    from xlsxgen.collection.roster import parse_roster

    base = tmp_path_factory.mktemp("kill")
    text = "代码,名称\n" + "".join(f"K{i:03d},测试单位{i:03d}\n" for i in range(400))
    (base / "名单.csv").write_text(text, encoding="utf-8")
    distribute(spec2021, 2024, parse_roster(text.encode()), base / "inbox", show_progress=False)
    for p in (base / "inbox").glob("*.csv"):
        p.unlink()
    return base


def test_collect_killed_with_sigkill_and_run_again(db, big_inbox):
    inbox = big_inbox / "inbox"
    n = len(list(inbox.glob("*.xlsx")))
    cmd = [sys.executable, "-m", "xlsxgen.cli", "collect", str(inbox), "--db", db, "--year", "2024",
           "--roster", str(big_inbox / "名单.csv"), "--jobs", "2", "--quiet"]
    Store.open(db).close()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    stored = 0
    deadline = time.monotonic() + 120
    with Store.open(db) as s:
        while proc.poll() is None and time.monotonic() < deadline:
            stored = sum(s.counts(2024).values())
            if stored:
                break
            time.sleep(0.05)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers, mid-run
    proc.wait(30)
    with Store.open(db) as s:
        partial = sum(s.counts(2024).values())
    assert partial > 0 or not killed  # killed after at least one batch was committed (usually mid-run)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    with Store.open(db) as s:
        assert s.integrity_ok()
        recs = list(s.all_records(2024))
        assert len(recs) == n and len({r.sha256 for r in recs}) == n  # nothing lost, nothing twice
        assert len(list(s.current(2024))) == n
    assert "此前已入库" in r.stdout or not partial
