"""Collect: roster → generate → fill → collect → status, feedback and consolidated sums; store guarantees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("importer.validate")

from tests.conftest import all_format_ids, example_doc  # noqa: E402
from xlsxgen.collection import intake as collect_mod  # noqa: E402
from xlsxgen.collection.distribute import distribute, workbook_file_name
from xlsxgen.collection.intake import collect
from xlsxgen.collection.outputs import write_outputs
from xlsxgen.collection.overview import build_overview
from xlsxgen.collection.roster import read_roster
from xlsxgen.collection.store import Store  # noqa: E402
from xlsxgen.data import from_canonical_trusted, to_canonical  # noqa: E402
from xlsxgen.demo import break_balance, simulate, type_over_total  # noqa: E402
from xlsxgen.spec import load_format  # noqa: E402
from xlsxgen.workbook.writer import build_workbook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2023

ROSTER = """单位代码,单位名称,上级,类型
A01,测试市甲局,X,部门
A02,测试市乙局,X,部门
A03,测试市丙局,X,部门
A04,测试市丁局,X,部门
A05,测试市戊局,X,部门
A06,测试市己局,X,部门
A07,测试市庚局,X,部门
"""


@pytest.fixture(params=all_format_ids())
def cycle(request, tmp_path):
    """A GBK roster, generated workbooks, and an inbox filled in every way an agency can.

    Once per installed format version, in the year of its example report (examples/),
    whose figures the simulated agencies scale and jitter.
    """
    spec2021 = load_format(request.param)  # every installed version (name kept from the 2021-only suite)
    doc = example_doc(spec2021.id)
    seed_submission = from_canonical_trusted(spec2021, doc)
    YEAR = doc["year"]  # noqa: N806 - the module constant's name, for this format's year
    roster_path = tmp_path / "名单.csv"
    roster_path.write_bytes(ROSTER.encode("gbk"))
    roster = read_roster(roster_path)
    db = tmp_path / "c.sqlite"
    dist = distribute(spec2021, YEAR, roster, tmp_path / "dist", db=db, show_progress=False)
    assert len(dist.files) == 7 and dist.manifest.exists()
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    subs = {}
    agencies = list(roster)
    for i, a in enumerate(agencies[:4]):  # A01..A04 correct, each differently
        subs[a.code] = simulate(spec2021, seed_submission, year=YEAR, agency_name=a.name, agency_code=a.code,
                                seed=a.code, factor=0.2 + 0.3 * i)
    bad = simulate(spec2021, seed_submission, year=YEAR, agency_name=agencies[4].name, agency_code="A05",
                   seed="A05", factor=0.5)
    bad_key = break_balance(spec2021, bad.values)
    typed = simulate(spec2021, seed_submission, year=YEAR, agency_name=agencies[5].name, agency_code="A06",
                     seed="A06", factor=0.5)

    def wb(sub):
        return build_workbook(spec2021, year=YEAR, agency_name=sub.agency_name, agency_code=sub.agency_code,
                              data=sub)

    for code, sub in subs.items():
        folder = inbox / "sub" if code == "A02" else inbox  # recursion
        (folder / workbook_file_name(YEAR, roster.get(code))).write_bytes(wb(sub))
    (inbox / workbook_file_name(YEAR, roster.get("A05"))).write_bytes(wb(bad))
    blob, typed_where = type_over_total(spec2021, wb(typed))
    (inbox / "己局年报（最终版）.xlsx").write_bytes(blob)  # misnamed: recognised by its content
    broken = wb(subs["A01"])[:5000]
    (inbox / workbook_file_name(YEAR, roster.get("A07"))).write_bytes(broken)  # broken; A07 sends nothing else
    (inbox / "~$lockfile.xlsx").write_bytes(b"\x00" * 165)  # Excel's lock file: ignored
    (inbox / "说明.txt").write_text("请查收", encoding="utf-8")
    return dict(tmp=tmp_path, roster=roster, roster_path=roster_path, db=db, inbox=inbox, subs=subs,
                bad_key=bad_key, typed_where=typed_where, spec=spec2021, year=YEAR)


def independent_sum(spec, subs):
    """Sum of every input over the given submissions, computed here and not by xlsxgen.collection.consolidate."""
    total = defaultdict(float)
    for sub in subs:
        for t in spec.tables:
            for rk, ck in t.input_cells():
                total[(t.key, rk, ck)] += sub.values.get((t.key, rk, ck), 0) or 0
    return total


def read_sheet_rows(path, sheet):
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [list(r) for r in wb[sheet].iter_rows(values_only=True)]
    wb.close()
    return rows


def test_end_to_end(cycle):
    c = cycle
    spec2021, YEAR = c["spec"], c["year"]  # noqa: N806
    result = collect(c["inbox"], db=c["db"], year=YEAR, roster_path=c["roster_path"], show_progress=False)
    assert result.files_seen == 7  # 6 workbooks + 1 broken, lock file and .txt ignored
    assert result.imported == 7
    assert result.other_files[".txt"] == 1
    out = c["tmp"] / "out"
    with Store.open(c["db"]) as store:
        ov = build_overview(store, YEAR)
        states = {r.code: r.state for r in ov.rows}
        assert states == {"A01": "ok", "A02": "ok", "A03": "ok", "A04": "ok", "A05": "invalid", "A06": "invalid",
                          "A07": "unreadable"}
        assert ov.counts() == {"ok": 4, "warning": 0, "invalid": 2, "unreadable": 1, "held": 0,
                               "other_file": 0, "missing": 0}
        outs = write_outputs(store, ov, spec=spec2021, out_dir=out, sum_name="测试市")

    # feedback: one per agency with problems, every finding with sheet and cell
    names = sorted(p.name for p in outs.feedback)
    assert len(names) == 3 and all(n.startswith(f"反馈单-{YEAR}-") for n in names)
    fb = read_sheet_rows(next(p for p in outs.feedback if "A05" in p.name), "反馈意见")
    text = json.dumps(fb, ensure_ascii=False)
    table = spec2021.table(c["bad_key"][0])
    assert table.sheet in text and "不平衡" in text
    finding_rows = [r for r in fb if r and r[1] == "错误"]
    assert finding_rows and all(r[2] and r[3] and r[2] != "—" and r[3] != "—" for r in finding_rows)
    fb6 = json.dumps(read_sheet_rows(next(p for p in outs.feedback if "A06" in p.name), "反馈意见"),
                     ensure_ascii=False)
    assert c["typed_where"].split("!")[1] in fb6  # the overtyped total's cell is named
    fb7 = json.dumps(read_sheet_rows(next(p for p in outs.feedback if "A07" in p.name), "反馈意见"),
                     ensure_ascii=False)
    assert "无法读取" in fb7

    # the consolidated workbook: one row per readable agency and the sum over the accepted ones
    expected = independent_sum(spec2021, c["subs"].values())
    rows = read_sheet_rows(outs.consolidated, "各单位数据")
    heading, row_labels, col_labels = rows[1], rows[2], rows[3]
    # a merged heading is only in its first cell: carry it right
    carried, last = [], None
    for h in heading:
        last = h if h else last
        carried.append(last)
    agency_rows = [r for r in rows[4:] if r and r[1] in {"A01", "A02", "A03", "A04", "A05", "A06"}]
    assert len(agency_rows) == 6
    sum_row = next(r for r in rows if r and isinstance(r[2], str) and r[2].startswith("合计"))
    assert "4 个单位" in sum_row[2]
    checked = 0
    for t in spec2021.tables:
        for rk, ck in t.input_cells():
            col = next(i for i in range(len(col_labels)) if carried[i] == t.heading
                       and row_labels[i] == t.row(rk).label and col_labels[i] == t.column(ck).label)
            assert sum_row[col] == pytest.approx(expected[(t.key, rk, ck)]), (t.key, rk, ck)
            checked += 1
    assert checked == sum(len(t.input_cells()) for t in spec2021.tables)

    # the sum in the official layout reads back (through the importer) as the same figures, and is clean
    import importer

    official = importer.read_workbook(outs.official.read_bytes(), name=outs.official.name)
    assert official.status == "ok"
    for key, v in expected.items():
        assert official.submission.values.get(key, 0) == pytest.approx(v)
    assert official.spec.id == spec2021.id  # the sum is a workbook of the batch's own format version
    doc = json.loads(outs.sum_json.read_text(encoding="utf-8"))
    assert doc["agency"]["name"] == "测试市" and doc["format"] == spec2021.id
    assert outs.drafts and all(p.exists() and p.stat().st_size > 0 for p in outs.drafts)
    md = next(p for p in outs.drafts if p.suffix == ".md").read_text(encoding="utf-8")
    assert [x[3:] for x in md.splitlines() if x.startswith("## ")] == [sec.heading for sec in spec2021.sections]
    assert outs.data_files == 4 and len(list(outs.data_dir.glob("*.json"))) == 4
    assert outs.overview.exists()
    ov_rows = read_sheet_rows(outs.overview, "报送情况")
    assert any(r[1] == "A05" and r[4] == "有错误" for r in ov_rows if r and len(r) > 4)


def test_collect_is_idempotent(cycle):
    c = cycle
    YEAR = c["year"]  # noqa: N806
    first = collect(c["inbox"], db=c["db"], year=YEAR, roster_path=c["roster_path"], show_progress=False)
    with Store.open(c["db"]) as s:
        before = [(r.id, r.sha256, r.status) for r in s.all_records()]
    second = collect(c["inbox"], db=c["db"], year=YEAR, show_progress=False)  # roster from the store
    assert first.imported == 7
    assert second.imported == 0 and second.already == 7
    with Store.open(c["db"]) as s:
        assert [(r.id, r.sha256, r.status) for r in s.all_records()] == before


def test_resubmission_and_history(cycle):
    c = cycle
    spec2021, YEAR = c["spec"], c["year"]  # noqa: N806
    collect(c["inbox"], db=c["db"], year=YEAR, roster_path=c["roster_path"], show_progress=False)
    # A05 corrects its balance error and sends the file again, under a new name
    inbox2 = c["tmp"] / "inbox2"
    inbox2.mkdir()
    sub = simulate(spec2021, c["subs"]["A01"], year=YEAR, agency_name="测试市戊局", agency_code="A05", seed="x",
                   factor=1)
    (inbox2 / "戊局-修改后.xlsx").write_bytes(
        build_workbook(spec2021, year=YEAR, agency_name="测试市戊局", agency_code="A05", data=sub))
    res = collect(inbox2, db=c["db"], year=YEAR, show_progress=False)
    assert res.imported == 1
    with Store.open(c["db"]) as s:
        hist = s.history("A05")
        assert [r.status for r in hist] == ["invalid", "accepted"]
        assert len({r.sha256 for r in hist}) == 2
        cur = {r.agency_code: r for r in s.current(YEAR)}
        assert cur["A05"].id == hist[-1].id
        assert build_overview(s, YEAR).counts()["ok"] == 5
    # the CLI lists both versions, the current one starred
    out = run_cli("history", "--db", str(c["db"]), "--agency", "A05")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("★") == 1 and "有错误" in out.stdout and "通过" in out.stdout


def with_contact(spec, sub):
    """A copy of ``sub`` with the cover's contact filled in (the example report has none: a warning)."""
    import copy

    from xlsxgen.demo import demo_contact

    sub = copy.deepcopy(sub)
    sub.contact = demo_contact(spec)
    return sub


def test_broken_file_is_reported_and_the_others_imported(tmp_path, spec2021, seed_submission):
    seed_submission = with_contact(spec2021, seed_submission)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(build_workbook(spec2021, year=YEAR, agency_name="甲", agency_code="1",
                                                  data=seed_submission))
    (inbox / "b.xlsx").write_text("代码,名称\n1,2\n", encoding="utf-8")  # a CSV renamed to .xlsx
    (inbox / "c.xlsx").write_bytes(b"")
    (inbox / "d.xlsx").write_bytes(b"PK\x03\x04garbage" * 10)
    res = collect(inbox, db=tmp_path / "c.sqlite", year=YEAR, show_progress=False)
    assert res.files_seen == 4 and res.imported == 4
    assert res.by_status["unreadable"] == 3
    with Store.open(tmp_path / "c.sqlite") as s:
        ov = build_overview(s, YEAR)
        assert [r.state for r in ov.rows] == ["ok"]
        assert {r.file_name for r in ov.rejected} == {"b.xlsx", "c.xlsx", "d.xlsx"}
        assert all(r.reason for r in ov.rejected)


def test_rejections_and_readmission(tmp_path, spec2021, seed_submission):
    seed_submission = with_contact(spec2021, seed_submission)
    roster_path = tmp_path / "r.csv"
    roster_path.write_text("代码,名称\nK1,甲局\n", encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "other-year.xlsx").write_bytes(
        build_workbook(spec2021, year=2022, agency_name="甲局", agency_code="K1", data=seed_submission))
    (inbox / "stranger.xlsx").write_bytes(
        build_workbook(spec2021, year=YEAR, agency_name="外单位", agency_code="Z9", data=seed_submission))
    db = tmp_path / "c.sqlite"
    res = collect(inbox, db=db, year=YEAR, roster_path=roster_path, show_progress=False)
    assert res.by_status["rejected"] == 2
    with Store.open(db) as s:
        ov = build_overview(s, YEAR)
        assert [(r.code, r.state) for r in ov.rows] == [("K1", "missing")]
        assert "2022年度" in ov.rows[0].note  # the agency's wrong-year file is mentioned
        reasons = {r.file_name: r.reason for r in ov.rejected}
        assert "2022年度" in reasons["other-year.xlsx"] and "不在" in reasons["stranger.xlsx"]
    # the roster gains the stranger: its file is admitted without re-sending
    roster_path.write_text("代码,名称\nK1,甲局\nZ9,外单位\n", encoding="utf-8")
    res = collect(inbox, db=db, year=YEAR, roster_path=roster_path, show_progress=False)
    assert res.readmitted == 1 and res.imported == 0
    with Store.open(db) as s:
        assert {r.code: r.state for r in build_overview(s, YEAR).rows}["Z9"] == "ok"


def test_interrupted_run_leaves_a_consistent_store_and_resumes(cycle, monkeypatch):
    c = cycle
    YEAR = c["year"]  # noqa: N806
    real = collect_mod.process_file
    calls = {"n": 0}

    def failing(task):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the batch
        return real(task)

    monkeypatch.setattr(collect_mod, "process_file", failing)
    with pytest.raises(KeyboardInterrupt):
        collect(c["inbox"], db=c["db"], year=YEAR, roster_path=c["roster_path"], show_progress=False, jobs=1)
    with Store.open(c["db"]) as s:
        assert s.integrity_ok()
        kept = len(list(s.all_records(YEAR)))
    assert kept == 3  # what was done before the interruption is kept
    monkeypatch.setattr(collect_mod, "process_file", real)
    res = collect(c["inbox"], db=c["db"], year=YEAR, show_progress=False)
    assert res.already == 3 and res.imported == 4
    with Store.open(c["db"]) as s:
        assert len(list(s.all_records(YEAR))) == 7


def test_process_pool_gives_the_same_result(cycle, monkeypatch):
    c = cycle
    YEAR = c["year"]  # noqa: N806
    monkeypatch.setattr(collect_mod, "MIN_FILES_FOR_POOL", 2)
    res = collect(c["inbox"], db=c["db"], year=YEAR, roster_path=c["roster_path"], show_progress=False, jobs=2)
    assert res.imported == 7
    with Store.open(c["db"]) as s:
        assert build_overview(s, YEAR).counts() == {"ok": 4, "warning": 0, "invalid": 2, "unreadable": 1,
                                                    "held": 0, "other_file": 0, "missing": 0}


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def test_two_collect_runs_at_once(cycle):
    c = cycle
    YEAR = c["year"]  # noqa: N806
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "xlsxgen.cli", "collect", str(c["inbox"]), "--db", str(c["db"]), "--year",
           str(YEAR), "--roster", str(c["roster_path"]), "--quiet", "--jobs", "1"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "Traceback" not in err
    with Store.open(c["db"]) as s:
        assert s.integrity_ok()
        records = list(s.all_records(YEAR))
        assert len(records) == 7 and len({r.sha256 for r in records}) == 7


def test_status_and_cli_errors(cycle):
    c = cycle
    YEAR = c["year"]  # noqa: N806
    r = run_cli("collect", str(c["inbox"]), "--db", str(c["db"]), "--year", str(YEAR), "--roster",
                str(c["roster_path"]), "--out-dir", str(c["tmp"] / "out"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "有错误" in r.stdout and "测试市戊局" in r.stdout and "反馈单" in r.stdout
    s = run_cli("status", "--db", str(c["db"]), "--year", str(YEAR))
    assert s.returncode == 0
    assert "已提交且通过 4" in s.stdout and "无法读取 1" in s.stdout
    bad = [
        ("collect", str(c["tmp"] / "nope"), "--db", str(c["db"]), "--year", str(YEAR)),
        ("collect", str(c["inbox"]), "--db", str(c["tmp"] / "no" / "dir" / "c.sqlite"), "--year", str(YEAR)),
        ("collect", str(c["inbox"]), "--db", str(c["db"]), "--year", "1999"),
        ("status", "--db", str(c["tmp"] / "missing.sqlite"), "--year", str(YEAR)),
        ("history", "--db", str(c["inbox"]), "--agency", "A01"),
    ]
    for args in bad:
        r = run_cli(*args)
        assert r.returncode != 0, args
        assert "Traceback" not in r.stderr and r.stderr.startswith("错误："), (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_cross_year(tmp_path, spec2021, seed_submission):
    """Year 2 is generated from the store (carried_over ← carried_forward) and collected with cross-year rules."""
    from xlsxgen.collection.distribute import prefill_pairs
    from xlsxgen.demo import repair
    from xlsxgen.spec.rules import compile_spec, recompute_totals

    cross_ids = {ru.id for ru in compile_spec(spec2021).rules if ru.cross_year}

    roster_path = tmp_path / "r.csv"
    roster_path.write_text("代码,名称\nB1,乙一局\nB2,乙二局\n", encoding="utf-8")
    roster = read_roster(roster_path)
    db = tmp_path / "c.sqlite"
    inbox = tmp_path / "y1"
    inbox.mkdir()
    y1 = {}
    for a in roster:
        y1[a.code] = simulate(spec2021, seed_submission, year=YEAR, agency_name=a.name, agency_code=a.code,
                              seed=a.code, factor=0.5)
        (inbox / f"{a.code}.xlsx").write_bytes(build_workbook(spec2021, year=YEAR, agency_name=a.name,
                                                              agency_code=a.code, data=y1[a.code]))
    collect(inbox, db=db, year=YEAR, roster_path=roster_path, show_progress=False)

    dist = distribute(spec2021, YEAR + 1, roster, tmp_path / "dist2", db=db, show_progress=False)
    assert dist.prefilled == 2
    import importer

    pairs = prefill_pairs(spec2021)
    for a, name, _ in dist.files:
        got = importer.read_workbook((tmp_path / "dist2" / name).read_bytes(), name=name)
        assert got.status != "unreadable", got.reason
        for this, prev in pairs:
            prev_vals = recompute_totals(spec2021, dict(y1[a.code].values))
            assert got.submission.values.get(this, 0) == prev_vals[prev]

    # year 2: B1 keeps the carried-over figures, B2 changes one: the cross-year rule catches it
    inbox2 = tmp_path / "y2"
    inbox2.mkdir()
    for a in roster:
        sub = simulate(spec2021, seed_submission, year=YEAR + 1, agency_name=a.name, agency_code=a.code,
                       seed=a.code + "y2", factor=0.5)
        prev_vals = recompute_totals(spec2021, dict(y1[a.code].values))
        for this, prev in pairs:
            sub.values[this] = prev_vals[prev]
        assert repair(spec2021, sub.values, frozen={this for this, _ in pairs})  # rebalance around them
        if a.code == "B2":
            this = pairs[0][0]
            sub.values[this] = sub.values[this] + 3
        (inbox2 / f"{a.code}.xlsx").write_bytes(build_workbook(spec2021, year=YEAR + 1, agency_name=a.name,
                                                               agency_code=a.code, data=sub))
    collect(inbox2, db=db, year=YEAR + 1, show_progress=False)
    with Store.open(db) as s:
        cur = {r.agency_code: r for r in s.current(YEAR + 1)}
        assert cur["B2"].status == "invalid"
        assert any(f["rule"] in cross_ids and f["severity"] == "error" for f in cur["B2"].findings)
        assert not any(f["rule"] in cross_ids and f["severity"] == "error" for f in cur["B1"].findings)
        assert cur["B1"].usable


def _batch(tmp_path, spec, year, base, codes=("L1", "L2")):
    """A roster and an inbox of correctly filled workbooks of ``spec`` for ``year``."""
    roster_path = tmp_path / "r.csv"
    roster_path.write_text("代码,名称\n" + "".join(f"{c},{c}局\n" for c in codes), encoding="utf-8")
    inbox = tmp_path / f"inbox-{year}"
    inbox.mkdir()
    subs = {}
    for code in codes:
        subs[code] = simulate(spec, base, year=year, agency_name=f"{code}局", agency_code=code, seed=code, factor=0.5)
        (inbox / f"{code}.xlsx").write_bytes(build_workbook(spec, year=year, agency_name=f"{code}局",
                                                            agency_code=code, data=subs[code]))
    return roster_path, inbox, subs


def test_collect_2019_format_in_a_later_year_needs_format(tmp_path):
    """Agencies that kept the trial format until 2022: `collect --year 2022 --format gov-info-2019`."""
    spec = load_format("gov-info-2019")
    year = spec.years[1]
    assert load_format("gov-info-2021").years[0] <= year  # the default for that year is the newer format
    base = from_canonical_trusted(spec, example_doc(spec.id))
    roster_path, inbox, subs = _batch(tmp_path, spec, year, base)
    args = ["collect", str(inbox), "--year", str(year), "--roster", str(roster_path), "--quiet"]
    r = run_cli(*args, "--db", str(tmp_path / "c.sqlite"))  # without --format: rejected, and told why
    assert r.returncode == 0, r.stderr
    assert "格式版本不符" in r.stdout
    with Store.open(tmp_path / "c.sqlite") as st:
        assert {row.code: row.state for row in build_overview(st, year).rows} != {"L1": "ok", "L2": "ok"}
    # the same store, again with the right format: the rejected files are admitted without re-sending
    r = run_cli(*args, "--db", str(tmp_path / "c.sqlite"), "--format", spec.id, "--out-dir", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    with Store.open(tmp_path / "c.sqlite") as st:
        assert {row.code: row.state for row in build_overview(st, year).rows} == {"L1": "ok", "L2": "ok"}
    total = json.loads((tmp_path / "out" / f"汇总数据-{year}.json").read_text(encoding="utf-8"))
    assert total["format"] == spec.id
    for key, v in independent_sum(spec, subs.values()).items():
        assert total["tables"][key[0]][key[1]][key[2]] == pytest.approx(v)
    s = run_cli("status", "--db", str(tmp_path / "c.sqlite"), "--year", str(year), "--format", spec.id,
                "--out-dir", str(tmp_path / "out2"))
    assert s.returncode == 0, s.stderr
    assert json.loads((tmp_path / "out2" / f"汇总数据-{year}.json").read_text(encoding="utf-8"))["format"] == spec.id


def test_collect_across_format_versions_runs_the_shared_cross_year_rule(tmp_path):
    """2020 collected in the trial format, 2021 in the 2021 format: 上年结转 is still checked against the store."""
    from xlsxgen.demo import repair
    from xlsxgen.spec.rules import compile_spec, recompute_totals

    old, new = load_format("gov-info-2019"), load_format("gov-info-2021")
    year = old.years[0] + 1
    db = tmp_path / "c.sqlite"
    roster_path, inbox, y1 = _batch(tmp_path, old, year, from_canonical_trusted(old, example_doc(old.id)))
    collect(inbox, db=db, year=year, roster_path=roster_path, show_progress=False, spec=old)

    carried = [ru for ru in compile_spec(new).rules if ru.id == "cross_year.carried_over"]
    assert carried and all(all(old.table(r.table).has_cell(r.row, r.column) for r in ru.refs if r.previous)
                           for ru in carried)  # its keys exist in both versions

    # generate --db: the new format's workbooks are prefilled from last year's data in the old format
    import importer
    from xlsxgen.collection.distribute import prefill_pairs

    dist = distribute(new, year + 1, read_roster(roster_path), tmp_path / "dist2", db=db, show_progress=False)
    assert dist.prefilled == len(y1)
    for a, name, _ in dist.files:
        got = importer.read_workbook((tmp_path / "dist2" / name).read_bytes(), name=name)
        # untouched as distributed (prefill included): an empty submission, not yet data
        assert got.spec.id == new.id and [f.rule for f in got.findings] == ["submission.untouched"], \
            [f.message for f in got.findings]
        assert not got.previous_values  # no last-year sheet: its figures would be in the other format
        prev_vals = recompute_totals(old, dict(y1[a.code].values))
        pairs = prefill_pairs(new)
        assert pairs
        for this, prev in pairs:
            assert got.submission.values.get(this, 0) == prev_vals[prev]
    inbox2 = tmp_path / "y2"
    inbox2.mkdir()
    seed = from_canonical_trusted(new, example_doc(new.id))
    for code, prev_sub in y1.items():
        sub = simulate(new, seed, year=year + 1, agency_name=f"{code}局", agency_code=code, seed=code + "y2",
                       factor=0.5)
        prev_vals = recompute_totals(old, dict(prev_sub.values))
        pairs = [((ru.table, "carried_over", ru.column), ("applications", "carried_forward", ru.column))
                 for ru in carried if ru.column != "total"]
        for this, prev in pairs:
            sub.values[this] = prev_vals[prev]
        assert repair(new, sub.values, frozen={this for this, _ in pairs})
        if code == "L2":
            sub.values[pairs[0][0]] += 3
        (inbox2 / f"{code}.xlsx").write_bytes(build_workbook(new, year=year + 1, agency_name=f"{code}局",
                                                             agency_code=code, data=sub))
    collect(inbox2, db=db, year=year + 1, roster_path=roster_path, show_progress=False, spec=new)
    with Store.open(db) as st:
        cur = {r.agency_code: r for r in st.current(year + 1)}
    rules = {code: {f["rule"] for f in r.findings} for code, r in cur.items()}
    assert "cross_year.carried_over" in rules["L2"] and cur["L2"].status == "invalid"
    assert "cross_year.carried_over" not in rules["L1"] and cur["L1"].usable
    assert all("crossyear.skipped" in r for r in rules.values())  # 现行有效件数 has no 2019 counterpart


def test_outputs_written_by_child_processes_are_the_serial_ones(cycle):
    """The canonical JSON and the drafts are written by forked children when the machine has cores to spare:
    the files are byte for byte those of one process doing everything, and the drafts' sum is the workbooks'."""
    from xlsxgen.collection.consolidate import sum_store

    c = cycle
    collect(c["inbox"], db=c["db"], year=c["year"], roster_path=c["roster_path"], show_progress=False)
    got = {}
    with Store.open(c["db"]) as store:
        ov = build_overview(store, c["year"])
        for parallel in (False, True):
            out = c["tmp"] / f"out-{parallel}"
            outs = write_outputs(store, ov, spec=c["spec"], out_dir=out, sum_name="测试市", parallel=parallel)
            assert outs.data_files == 4 and len(outs.drafts) == 2 and outs.official is not None
            got[parallel] = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
                             if p.is_file()}
        total, summed = sum_store(c["spec"], store, c["year"], agency_name="测试市")
    assert got[True].keys() == got[False].keys()
    # what the children write (the workbooks carry their creation time, a run apart: compared by name only)
    children = [k for k in got[True] if k.startswith("数据/") or k.endswith((".docx", ".md")) or k.endswith(".json")]
    assert len(children) == 4 + 2 + 1 and all(got[True][k] == got[False][k] for k in children)
    sum_doc = json.loads(got[True][f"汇总数据-{c['year']}.json"])
    assert summed == 4 and sum_doc == json.loads(json.dumps(to_canonical(c["spec"], total), ensure_ascii=False))


@pytest.mark.parametrize("sub", ["数据", "反馈单"])
def test_an_output_subfolder_that_is_a_file_is_one_chinese_line(tmp_path, sub):
    """The sub-folders are made before any output is written (children write into them): a file in their
    place is a usage error naming it, not a traceback from a child process."""
    from xlsxgen.collection.outputs import prepare_out_dir
    from xlsxgen.errors import UsageError

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / sub).write_text("x")
    with pytest.raises(UsageError, match=f"{sub} 是文件，不是文件夹"):
        prepare_out_dir(tmp_path / "out")
    assert (tmp_path / "out" / sub).read_text() == "x"  # left as it was


def test_the_consolidated_draft_over_its_limit_says_where_the_other_texts_are(cycle, monkeypatch):
    """Beyond DRAFT_TEXTS_LIMIT agencies the draft keeps the first ones' texts (in memory: ~80 MB a thousand);
    the draft and the run's notes say so, and the workbook's texts sheet still has every agency."""
    from xlsxgen.collection import outputs

    c = cycle
    collect(c["inbox"], db=c["db"], year=c["year"], roster_path=c["roster_path"], show_progress=False)
    monkeypatch.setattr(outputs, "DRAFT_TEXTS_LIMIT", 2)
    with Store.open(c["db"]) as store:
        outs = write_outputs(store, build_overview(store, c["year"]), spec=c["spec"], out_dir=c["tmp"] / "out",
                             sum_name="测试市", parallel=False)
    md = next(p for p in outs.drafts if p.suffix == ".md").read_text(encoding="utf-8")
    assert "以上为名单中前2个单位的文字材料；其余2个单位的见汇总表的文字材料工作表" in md
    assert [n for n in outs.notes if "前 2 个单位的文字材料" in n]
    texts = read_sheet_rows(outs.consolidated, c["spec"].sheets.get("narrative") or "texts")
    assert sum(1 for r in texts[2:] if r and r[0]) == 4  # all four usable agencies
