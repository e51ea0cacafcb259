"""`xlsxgen seed`: last year's published reports into the store, so the first year prefills and checks."""

from __future__ import annotations

import csv

import pytest

from tests.test_importer_published import CORPUS, run_cli

pytest.importorskip("lxml")


def test_seed_then_generate_prefills(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("代码,名称\ngaj,平潭综合实验区公安局\njinjingpq,平潭综合实验区金井片区管理局\nxx,某某局\n",
                      encoding="utf-8")
    db = tmp_path / "db.sqlite"
    srcs = [CORPUS / "pingtan-gaj-2024.txt", CORPUS / "pingtan-jinjingpq-2024.html", CORPUS / "pingtan-gaj-2022.txt",
            CORPUS / "pingtan-jtjsj-2024.html"]
    r = run_cli("seed", "--db", db, "--year", 2024, "--roster", roster, *srcs)
    assert r.returncode == 0, r.stderr
    assert "已导入 2 份" in r.stdout and "某某局" in r.stdout  # matched by title, and by file name (code)
    assert "pingtan-gaj-2022.txt（2022年度）" in r.stderr  # another year: listed, not imported
    assert "pingtan-jtjsj-2024.html" in r.stderr  # no agency of the roster: listed
    r = run_cli("seed", "--db", db, "--year", 2024, "--roster", roster, srcs[0])
    assert r.returncode == 0 and "已导入 0 份" in r.stdout  # the same file again changes nothing

    out = tmp_path / "out"
    r = run_cli("generate", "--roster", roster, "--year", 2025, "--out-dir", out, "--db", db)
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader((out / "下发清单-2025.csv").read_text(encoding="utf-8-sig").splitlines()))
    pre = {row[1]: row[6] for row in rows[1:]}
    assert pre == {"gaj": "是", "jinjingpq": "是", "xx": "否"}
    # 金井 2024 published 结转 商业企业 blank: that cell is not prefilled (never 0 from a blank);
    # prefilled cells have their own fill colour
    import openpyxl

    from xlsxgen.spec import load_format

    spec = load_format("gov-info-2021")
    t = spec.table("applications")
    wb = next(p for p in out.iterdir() if "jinjingpq" in p.name)
    ws = openpyxl.load_workbook(wb)[t.sheet]
    label = t.row("carried_over").label
    row = next(r for r in ws.iter_rows() if any(isinstance(c.value, str) and c.value.startswith(label) for c in r))
    values = [c for c in row if c.value == 0 or c.value is None][-6:]
    fills = [c.fill.fgColor.rgb for c in values]
    assert fills[1] != fills[0] and len(set(fills[:1] + fills[2:])) == 1


def test_seed_bad_input(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("代码,名称\ngaj,平潭综合实验区公安局\n", encoding="utf-8")
    bad = tmp_path / "x.pdf"
    bad.write_bytes(b"nope")
    r = run_cli("seed", "--db", tmp_path / "db.sqlite", "--year", 2024, "--roster", roster, bad)
    assert r.returncode == 2 and "x.pdf" in r.stderr and "Traceback" not in r.stderr
