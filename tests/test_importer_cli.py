"""The export / fill / validate commands: output, --json shape and exit codes."""

from __future__ import annotations

import copy
import io
import json

import openpyxl
import pytest
from click.testing import CliRunner

from tests.hostile import openpyxl_edit
from xlsxgen.cli import cli
from xlsxgen.data import to_canonical
from xlsxgen.workbook.writer import build_workbook

FILE_KEYS = {"path", "status", "format", "agency", "year", "findings"}
FINDING_KEYS = {"rule", "severity", "message", "table", "row", "column", "sheet", "cell", "expected", "actual"}


@pytest.fixture()
def files(tmp_path, spec2021, seed_submission, seed_doc):
    sub = seed_submission
    blank = build_workbook(spec2021, year=2023, agency_name=sub.agency_name, agency_code=sub.agency_code)
    filled = build_workbook(spec2021, year=2023, agency_name=sub.agency_name, agency_code=sub.agency_code, data=sub)
    (tmp_path / "blank.xlsx").write_bytes(blank)
    (tmp_path / "good.xlsx").write_bytes(filled)
    bad = openpyxl_edit(filled, lambda wb: wb["三、依申请公开"].__setitem__("D7", 108))  # breaks 一＋二＝三＋四
    (tmp_path / "bad.xlsx").write_bytes(bad)
    (tmp_path / "broken.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    (tmp_path / "data.json").write_text(json.dumps(seed_doc, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_validate_exit_codes(files):
    assert run("validate", files / "good.xlsx").exit_code == 0
    assert run("validate", files / "blank.xlsx").exit_code == 1  # an untouched template: 未填写任何数据
    assert run("validate", files / "bad.xlsx").exit_code == 1
    assert run("validate", files / "broken.xlsx").exit_code == 2
    assert run("validate", files / "missing.xlsx").exit_code == 2
    assert run("validate").exit_code == 2
    assert run("validate", "--no-such-option", files / "good.xlsx").exit_code == 2


def test_unreadable_wins_and_the_others_are_still_validated(files):
    r = run("validate", files / "bad.xlsx", files / "broken.xlsx", files / "good.xlsx")
    assert r.exit_code == 2
    out = r.stdout
    assert "bad.xlsx" in out and "不通过" in out and "applications.balance" not in out
    assert "「自然人」列不平衡" in out
    line = next(x for x in out.splitlines() if x.startswith("无法读取："))
    assert "旧版" in line or "Office" in line
    assert "共 3 个文件：1 个通过，1 个不通过，1 个无法读取" in out


def test_json_shape(files):
    r = run("validate", files / "bad.xlsx", files / "broken.xlsx", files / "data.json", "--json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert set(doc) == {"files"}
    statuses = []
    for entry in doc["files"]:
        assert set(entry) == FILE_KEYS
        statuses.append(entry["status"])
        for f in entry["findings"]:
            assert set(f) == FINDING_KEYS
            assert f["severity"] in ("error", "warning")
    assert statuses == ["invalid", "unreadable", "ok"]
    bad = doc["files"][0]
    assert bad["format"] == "gov-info-2021" and bad["year"] == 2023
    assert bad["agency"] == {"name": "邢台市人民政府办公室", "code": "130500-001"}
    f = next(x for x in bad["findings"] if x["rule"] == "applications.balance")
    assert f["table"] == "applications" and f["column"] == "natural_person"
    assert f["sheet"] == "三、依申请公开" and f["cell"] == "D33"
    assert (f["expected"], f["actual"]) == (109, 110)
    unreadable = doc["files"][1]
    assert unreadable["findings"][0]["rule"].startswith("file.")
    assert unreadable["format"] is None and unreadable["agency"] is None


def test_readable_report_has_the_columns(files):
    out = run("validate", files / "bad.xlsx").stdout
    header = next(x for x in out.splitlines() if x.startswith("序号"))
    for col in ("级别", "位置", "问题", "应为", "实际", "改法"):
        assert col in header
    assert "「三、依申请公开」D33" in out and "错误" in out


def test_export(files, seed_doc):
    r = run("export", files / "good.xlsx")
    assert r.exit_code == 0 and json.loads(r.stdout) == seed_doc
    r = run("export", files / "good.xlsx", "-o", files / "out.json")
    assert r.exit_code == 0
    assert json.loads((files / "out.json").read_text(encoding="utf-8")) == seed_doc
    r = run("export", files / "broken.xlsx")
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "无法读取" in r.stderr
    # rule errors do not stop the export: the data is what was typed; the totals are recomputed
    r = run("export", files / "bad.xlsx")
    assert r.exit_code == 0 and json.loads(r.stdout)["tables"]["applications"]["new_received"]["total"] == 226
    assert "1 个错误" in r.stderr or "2 个错误" in r.stderr


def test_export_refuses_unreliable_figures(files, spec2021):
    data = (files / "good.xlsx").read_bytes()
    (files / "text.xlsx").write_bytes(openpyxl_edit(data, lambda wb: wb["三、依申请公开"].__setitem__("D7", "很多")))
    r = run("export", files / "text.xlsx")
    assert r.exit_code == 1 and r.stdout == ""
    assert "D7" in r.stderr and "未导出" in r.stderr


def test_fill(files, seed_doc):
    r = run("fill", files / "blank.xlsx", files / "data.json", "-o", files / "filled.xlsx")
    assert r.exit_code == 0, r.output
    assert json.loads(run("export", files / "filled.xlsx").stdout) == seed_doc


def test_fill_refusals(files, seed_doc):
    out = files / "o.xlsx"
    assert run("fill", files / "blank.xlsx", files / "data.json").exit_code == 2  # no -o
    assert run("fill", files / "blank.xlsx", files / "data.json", "-o", files / "blank.xlsx").exit_code == 2
    assert run("fill", files / "broken.xlsx", files / "data.json", "-o", out).exit_code == 2
    # not one of ours
    wb = openpyxl.Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    (files / "foreign.xlsx").write_bytes(buf.getvalue())
    r = run("fill", files / "foreign.xlsx", files / "data.json", "-o", out)
    assert r.exit_code == 2 and "不是本工具生成" in r.stderr
    # year / agency disagree
    for change in ({"year": 2022}, {"agency": {"name": "另一个单位", "code": "130500-001"}}):
        d = copy.deepcopy(seed_doc)
        d.update(change)
        (files / "x.json").write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
        r = run("fill", files / "blank.xlsx", files / "x.json", "-o", out)
        assert r.exit_code == 2 and "不对应" in r.stderr
    # the data has an error that makes a figure unusable
    d = copy.deepcopy(seed_doc)
    d["tables"]["applications"]["new_received"]["natural_person"] = -5
    (files / "neg.json").write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
    r = run("fill", files / "blank.xlsx", files / "neg.json", "-o", out)
    assert r.exit_code == 1 and "负数" in r.stderr
    assert not out.exists()


def test_fill_keeps_last_year_sheet(tmp_path, spec2021, seed_submission):
    prev = seed_submission
    blank = build_workbook(spec2021, year=2024, agency_name=prev.agency_name, agency_code=prev.agency_code,
                           previous=prev)
    (tmp_path / "blank.xlsx").write_bytes(blank)
    from tests.hostile.data import random_submission

    cur = random_submission(spec2021, 4, year=2024, previous=prev, agency=prev.agency_name, code=prev.agency_code)
    doc = to_canonical(spec2021, cur)
    (tmp_path / "d.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert run("fill", tmp_path / "blank.xlsx", tmp_path / "d.json", "-o", tmp_path / "f.xlsx").exit_code == 0
    wb = openpyxl.load_workbook(tmp_path / "f.xlsx")
    assert spec2021.sheets["previous"] in wb.sheetnames
    r = run("validate", tmp_path / "f.xlsx", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["files"][0]["findings"] == []
