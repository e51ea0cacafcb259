"""Issue 11: writers safe against anything a store may hold; CSV injection; render onto its source; long
agency names; file modes; _xHHHH_ escapes; NUL in the roster."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from xlsxgen.collection.intake import collect
from xlsxgen.workbook.writer import build_workbook

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2023


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=cwd, timeout=300)


def _poison(db: Path, big) -> None:
    """Put ``big`` into the first input of every stored submission, as an older release could have."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT id, data FROM submissions WHERE data IS NOT NULL").fetchall()
    assert rows
    for sid, data in rows:
        doc = json.loads(data)
        table = next(iter(doc["tables"].values()))
        row = next(iter(table.values()))
        key = next(iter(row))
        text = json.dumps(doc, ensure_ascii=False)
        marker = json.dumps({key: row[key]}, ensure_ascii=False)[1:-1]
        text = text.replace(marker, f'"{key}": {big}', 1)
        con.execute("UPDATE submissions SET data = ? WHERE id = ?", (text, sid))
    con.commit()
    con.close()


@pytest.mark.parametrize("big", ["9" * 401, "1e308", "12345678901234567890"])
def test_a_store_poisoned_by_an_older_release_crashes_no_output(tmp_path, spec2021, seed_submission, big):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for code in ("1", "2"):
        (inbox / f"{code}.xlsx").write_bytes(build_workbook(spec2021, year=YEAR, agency_name=f"局{code}",
                                                            agency_code=code, data=seed_submission))
    db = tmp_path / "c.sqlite"
    collect(inbox, db=db, year=YEAR, show_progress=False)
    _poison(db, big)
    out = tmp_path / "out"
    r = run_cli("status", "--db", str(db), "--year", str(YEAR), "--out-dir", str(out))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    (inbox / "3.xlsx").write_bytes(build_workbook(spec2021, year=YEAR, agency_name="局3", agency_code="3",
                                                  data=seed_submission))
    r = run_cli("collect", str(inbox), "--db", str(db), "--year", str(YEAR), "--out-dir", str(out), "--quiet")
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    assert "超出允许范围" in r.stdout  # the poisoned agencies are named
    for p in (out / "数据").iterdir():  # no per-agency JSON with a number the importer would refuse
        from importer import read_json

        assert read_json(p).status != "unreadable" and not read_json(p).blocking, p
    # the poisoned agencies are listed but not summed; the sum is of the clean one only
    from importer import read_workbook

    sums = [p for p in out.iterdir() if p.name.startswith("汇总-")]
    assert sums
    res = read_workbook(sums[0])
    assert res.status != "unreadable"
    assert res.submission.values == read_workbook(inbox / "3.xlsx").submission.values
    # next year's generate with this store as last year's data: no crash, no prefill from poisoned data
    roster = tmp_path / "r.csv"
    roster.write_text("代码,名称\n1,局1\n", encoding="utf-8")
    r = run_cli("generate", "--roster", str(roster), "--year", str(YEAR + 1), "--out-dir", str(tmp_path / "d"),
                "--db", str(db))
    assert r.returncode == 0, r.stderr


def test_format_number_takes_any_value():
    from xlsxgen.spec.rules import format_number

    assert format_number(10**400).endswith("位）")
    assert format_number(float("inf")) == "inf"
    assert format_number(12) == "12"


# --------------------------------------------------------------------------- _xHHHH_ escapes and NUL (item 13)


# (xlsxwriter cannot write "_x005F_x0041_" unchanged: its escape of overlapping _xHHHH_ runs is ambiguous)
@pytest.mark.parametrize("name", ["某局_x0041_", "某\x01局\x1f", "_x005F局", "某局😀_xD83D_"])
def test_names_survive_generate_and_fill_unchanged(tmp_path, spec2021, seed_submission, name):
    from importer import read_workbook
    from xlsxgen.data import to_canonical
    from xlsxgen.fill import fill_workbook

    blank = build_workbook(spec2021, year=YEAR, agency_name=name, agency_code="X1")
    res = read_workbook(blank)
    assert res.metadata["agency_name"] == name
    assert res.submission.agency_name == name
    assert not [f for f in res.findings if f.rule == "tamper.bound_changed"]
    (tmp_path / "t.xlsx").write_bytes(blank)
    doc = to_canonical(spec2021, seed_submission)
    doc["agency"] = {"name": name, "code": "X1"}
    doc["year"] = YEAR
    (tmp_path / "d.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out, _ = fill_workbook(tmp_path / "t.xlsx", tmp_path / "d.json")
    back = read_workbook(out)
    assert back.metadata["agency_name"] == name and back.submission.agency_name == name
    # and every draft format takes such a name (python-docx refused control characters)
    from xlsxgen.render import FORMATS, render_report

    for fmt in FORMATS:
        render_report(spec2021, back.submission, fmt)


def test_nul_in_the_roster_is_refused_in_chinese(tmp_path):
    from xlsxgen.collection.roster import RosterError, parse_roster

    with pytest.raises(RosterError, match="第3行含有空字符"):
        parse_roster("代码,名称\n1,甲局\n2,乙\x00局\n".encode())
    p = tmp_path / "r.csv"
    p.write_bytes("代码,名称\n1,甲\x00局\n".encode())
    r = run_cli("generate", "--roster", str(p), "--year", str(YEAR), "--out-dir", str(tmp_path / "d"))
    assert r.returncode != 0 and r.stderr.startswith("错误：") and "空字符" in r.stderr
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


# --------------------------------------------------------------------------- CSV injection (item 7)


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised(tmp_path, spec2021):
    import csv

    from xlsxgen.collection.distribute import distribute
    from xlsxgen.collection.roster import parse_roster
    from xlsxgen.files import csv_cell

    payloads = ['=HYPERLINK("http://x","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
                "＝1+1"]
    for p in payloads:
        assert csv_cell(p).startswith("'")
    assert csv_cell("某局") == "某局" and csv_cell(12) == "12" and csv_cell(None) == ""
    lines = ["代码,名称,上级"] + [f'A{i},"{p.replace(chr(34), chr(34) * 2)}","{p.replace(chr(34), chr(34) * 2)}"'
                                   for i, p in enumerate(payloads) if p[0] not in "\t\r"]
    roster = parse_roster("\n".join(lines).encode("utf-8"))
    dist = distribute(spec2021, YEAR, roster, tmp_path / "d", show_progress=False)
    rows = list(csv.reader(dist.manifest.read_text(encoding="utf-8-sig").splitlines()))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "＝")), row


# --------------------------------------------------------------------------- file modes (item 14)


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_output_files_follow_the_umask(tmp_path, spec2021, seed_submission, mask):
    from xlsxgen.files import write_atomic

    old = os.umask(mask)
    try:
        p = write_atomic(tmp_path / "a.txt", "x")
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        (inbox / "1.xlsx").write_bytes(build_workbook(spec2021, year=YEAR, agency_name="局1", agency_code="1",
                                                      data=seed_submission))
        r = run_cli("collect", str(inbox), "--db", str(tmp_path / "c.sqlite"), "--year", str(YEAR), "--out-dir",
                    str(tmp_path / "out"), "--quiet")
        assert r.returncode == 0, r.stderr
    finally:
        os.umask(old)
    want = 0o666 & ~mask
    assert p.stat().st_mode & 0o777 == want
    outs = [q for q in (tmp_path / "out").rglob("*") if q.is_file()]
    assert outs and all(q.stat().st_mode & 0o777 == want for q in outs), [
        (q.name, oct(q.stat().st_mode & 0o777)) for q in outs]


# --------------------------------------------------------------------------- render onto its source (item 3)


@pytest.mark.parametrize("fmt", ["md", "html", "docx", "txt"])
def test_render_refuses_to_overwrite_its_source(tmp_path, spec2021, seed_submission, fmt):
    src = tmp_path / "s.xlsx"
    data = build_workbook(spec2021, year=YEAR, agency_name="局", agency_code="1", data=seed_submission)
    src.write_bytes(data)
    link = tmp_path / "link.xlsx"
    os.link(src, link)
    for out in (src, link):
        r = run_cli("render", str(src), "--format", fmt, "-o", str(out))
        assert r.returncode == 2 and r.stderr.startswith("错误：") and "输入文件" in r.stderr, r.stderr
        assert src.read_bytes() == data
    prev = tmp_path / "p.xlsx"
    prev.write_bytes(data)
    r = run_cli("render", str(src), "--previous", str(prev), "--format", fmt, "-o", str(prev))
    assert r.returncode == 2 and prev.read_bytes() == data


# --------------------------------------------------------------------------- long agency names (item 11)


def test_agency_names_over_255_characters(tmp_path, spec2021, seed_submission):
    name = "某" * 300
    src = tmp_path / "s.xlsx"
    src.write_bytes(build_workbook(spec2021, year=YEAR, agency_name=name, agency_code="1", data=seed_submission))
    r = run_cli("render", str(src), "--format", "docx", "-o", str(tmp_path / "s.docx"))
    assert r.returncode == 0, r.stderr
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "s.xlsx").write_bytes(src.read_bytes())
    db = str(tmp_path / "c.sqlite")
    r = run_cli("collect", str(inbox), "--db", db, "--year", str(YEAR), "--out-dir", str(tmp_path / "o"),
                "--name", name, "--quiet")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    r = run_cli("status", "--db", db, "--year", str(YEAR), "--out-dir", str(tmp_path / "o2"), "--name", name)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def test_fill_names_the_year_of_the_workbook_when_the_json_has_none(tmp_path, spec2021, seed_submission):
    from xlsxgen.data import to_canonical

    blank = tmp_path / "t.xlsx"
    blank.write_bytes(build_workbook(spec2021, year=YEAR, agency_name="某局", agency_code="1"))
    doc = to_canonical(spec2021, seed_submission)
    del doc["year"]
    doc["agency"] = {"name": "", "code": ""}
    (tmp_path / "d.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    r = run_cli("fill", str(blank), str(tmp_path / "d.json"), "-o", str(tmp_path / "o.xlsx"))
    assert r.returncode == 0, r.stderr
    assert "None" not in r.stdout and f"{YEAR}年度" in r.stdout and "某局" in r.stdout


# --------------------------------------------------------------------------- non-UTF-8 file names (item 1: validate and the other commands)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes")
def test_commands_take_file_names_that_are_not_utf8(tmp_path, spec2021, seed_submission):
    from xlsxgen.data import to_canonical

    gbk = "某局".encode("gbk")  # b'\xc4\xb3\xbe\xd6': not UTF-8
    folder = os.fsencode(tmp_path)
    wb = folder + b"/" + gbk + b".xlsx"
    data = build_workbook(spec2021, year=YEAR, agency_name="局", agency_code="1", data=seed_submission)
    with open(wb, "wb") as fh:
        fh.write(data)
    js = folder + b"/" + gbk + b".json"
    with open(js, "w", encoding="utf-8") as fh:
        json.dump(to_canonical(spec2021, seed_submission) | {"agency": {"name": "局", "code": "1"}}, fh,
                  ensure_ascii=False)
    w, j = os.fsdecode(wb), os.fsdecode(js)
    missing = os.fsdecode(folder + b"/" + gbk + b"-missing.xlsx")
    runs = [
        (("validate", "--json", w, missing), (2,)),
        (("validate", w), (0, 1)),
        (("export", w, "-o", os.fsdecode(folder + b"/" + gbk + b"-out.json")), (0,)),
        (("render", w, "-o", os.fsdecode(folder + b"/" + gbk + b".md")), (0,)),
        (("fill", w, j, "-o", os.fsdecode(folder + b"/" + gbk + b"-filled.xlsx")), (0, 1)),
        (("generate", "--year", str(YEAR), "--agency", "局", "-o", os.fsdecode(folder + b"/" + gbk + b"-g.xlsx")),
         (0,)),
        (("export", missing), (2,)),
    ]
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    for args, codes in runs:
        r = subprocess.run([sys.executable, "-m", "xlsxgen.cli", *args], capture_output=True, env=env, timeout=300)
        out, err = r.stdout.decode("utf-8"), r.stderr.decode("utf-8")  # valid UTF-8 whatever the names
        assert r.returncode in codes and "Traceback" not in err, (args, r.returncode, err)
        if args[:2] == ("validate", "--json"):
            doc = json.loads(out)
            assert [f["path"] for f in doc["files"]][1].endswith("某局-missing.xlsx")  # GBK, decoded losslessly
            assert doc["files"][0]["status"] == "ok"


# --------------------------------------------------------------------------- fill with numbers outside the domain (items 2, 14)


@pytest.mark.parametrize("big", ["1e308", "1" + "0" * 400, "1e400", "9007199254740993", "-1e308", "1.79e308"])
def test_fill_refuses_numbers_outside_the_domain_with_a_finding(tmp_path, spec2021, seed_submission, big):
    from xlsxgen.data import to_canonical

    blank = tmp_path / "t.xlsx"
    blank.write_bytes(build_workbook(spec2021, year=YEAR, agency_name="某局", agency_code="1"))
    doc = to_canonical(spec2021, seed_submission) | {"agency": {"name": "某局", "code": "1"}, "year": YEAR}
    t = spec2021.tables[0]
    rk, ck = t.input_cells()[0]
    doc["tables"][t.key][rk][ck] = "__BIG__"
    amount = next((f.key for f in spec2021.narrative_fields if f.kind == "amount"), None)
    if amount:
        doc["narrative"][amount] = "__BIG__"
    text = json.dumps(doc, ensure_ascii=False).replace('"__BIG__"', big)
    (tmp_path / "d.json").write_text(text, encoding="utf-8")
    r = run_cli("fill", str(blank), str(tmp_path / "d.json"), "-o", str(tmp_path / "o.xlsx"))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "内部错误" not in r.stderr
    assert "超出允许的范围" in r.stderr or "负数" in r.stderr
    assert not (tmp_path / "o.xlsx").exists()
    r = run_cli("validate", str(tmp_path / "d.json"))
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_fill_refuses_a_text_longer_than_a_cell(tmp_path, spec2021, seed_submission):
    from xlsxgen.data import to_canonical

    blank = tmp_path / "t.xlsx"
    blank.write_bytes(build_workbook(spec2021, year=YEAR, agency_name="某局", agency_code="1"))
    doc = to_canonical(spec2021, seed_submission) | {"agency": {"name": "某局", "code": "1"}, "year": YEAR}
    key = next(f.key for f in spec2021.narrative_fields if f.kind == "text")
    doc["narrative"][key] = "长" * 40_000
    (tmp_path / "d.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    r = run_cli("fill", str(blank), str(tmp_path / "d.json"), "-o", str(tmp_path / "o.xlsx"))
    assert r.returncode == 1 and "内部错误" not in r.stderr and "32767" in r.stderr, r.stderr


@pytest.mark.parametrize("big", ["1e308", "1" + "0" * 400, "9" * 5000, "1e400"])
def test_render_reports_json_numbers_outside_the_domain(tmp_path, spec2021, seed_submission, big):
    """render reads JSON through the importer (one reader): the figure is reported at its key, as validate
    reports it, and the draft holds a 【待补充】 placeholder instead of the number."""
    from xlsxgen.data import to_canonical

    doc = to_canonical(spec2021, seed_submission)
    t = spec2021.tables[0]
    rk, ck = t.input_cells()[0]
    doc["tables"][t.key][rk][ck] = "__BIG__"
    (tmp_path / "d.json").write_text(json.dumps(doc, ensure_ascii=False).replace('"__BIG__"', big), "utf-8")
    for fmt in ("md", "docx"):
        r = run_cli("render", str(tmp_path / "d.json"), "--format", fmt, "-o", str(tmp_path / f"o.{fmt}"))
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        assert "超出允许的范围" in r.stderr and f"{rk}.{ck}" in r.stderr, r.stderr
        body = (tmp_path / f"o.{fmt}").read_bytes()
        assert big.encode() not in body and b"inf" not in body.replace(b"info", b"")


def test_sums_keep_six_decimal_places(spec2021):
    from decimal import Decimal

    from xlsxgen.collection.consolidate import Summer
    from xlsxgen.data import Submission, to_canonical

    key = next((t.key, rk, ck) for t in spec2021.tables for rk, ck in t.input_cells() if t.kinds[(rk, ck)] == "amount")
    subs = [Submission(spec2021.id, year=YEAR, values={key: v}) for v in (0.123456, 0.000001, 1.1)]
    summer = Summer(spec2021, YEAR)
    for sub in subs:
        summer.add_doc(to_canonical(spec2021, sub))
    total = summer.result()
    assert Decimal(repr(total.values[key])) == Decimal("1.223457")
