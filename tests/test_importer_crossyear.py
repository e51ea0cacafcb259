"""Cross-year rules: only with last year's data; skipped (and listed) when the formats differ."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from importer import load_source, read_json, validate_result
from tests.conftest import ROOT, all_format_ids, example_paths
from tests.hostile.data import random_submission
from xlsxgen.cli import cli
from xlsxgen.data import from_canonical_trusted, to_canonical
from xlsxgen.spec import load_format
from xlsxgen.spec.rules import compile_spec
from xlsxgen.workbook.writer import build_workbook


def _write(path, doc):
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _cross_year_rules(spec):
    return [ru for ru in compile_spec(spec).rules if ru.cross_year]


@pytest.mark.parametrize("fid", all_format_ids())
def test_cross_year_rule_fires_only_with_previous(fid, tmp_path):
    spec = load_format(fid)
    rules = _cross_year_rules(spec)
    if not rules:
        pytest.skip("no cross-year rule")
    prev = random_submission(spec, 21, year=spec.years[0] + 1)
    cur = random_submission(spec, 22, year=spec.years[0] + 2, previous=prev)
    # make last year's figures differ from what this year's rules expect
    ru = next(r for r in rules if r.severity == "error") if any(r.severity == "error" for r in rules) else rules[0]
    ref = next(r for r in ru.refs if r.previous)
    key = (ref.table, ref.row, ref.column)
    if key not in prev.values:  # a total: change one of its inputs
        from xlsxgen.spec import expr

        tot = compile_spec(spec).total_by_cell[key]
        r0 = expr.refs_of(tot.node)[0]
        key = (r0.table, r0.row, r0.column)
    prev.values[key] += 7
    cur_wb = build_workbook(spec, year=cur.year, agency_name=cur.agency_name, agency_code=cur.agency_code, data=cur)
    (tmp_path / "cur.xlsx").write_bytes(cur_wb)
    _write(tmp_path / "prev.json", to_canonical(spec, prev))

    assert load_source(tmp_path / "cur.xlsx").findings == []  # no previous: no cross-year rule
    res = load_source(tmp_path / "cur.xlsx", previous=tmp_path / "prev.json")
    fired = [f for f in res.findings if f.rule == ru.id]
    assert fired, [f.rule for f in res.findings]
    assert all(f.sheet and f.cell and f.table == ru.table for f in fired)

    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "cur.xlsx"), "--previous", str(tmp_path / "prev.json"),
                                 "--json"])
    assert r.exit_code == (1 if ru.severity == "error" else 0)
    assert ru.id in {f["rule"] for f in json.loads(r.stdout)["files"][0]["findings"]}


def test_carried_over_literal(spec2021, seed_submission, seed_doc, tmp_path):
    """2024 reports 0 carried over while the 2023 report carried 3/2/2 forward."""
    cur = copy.deepcopy(seed_doc)
    cur["year"] = 2024
    _write(tmp_path / "prev.json", seed_doc)
    _write(tmp_path / "cur.json", cur)
    res = load_source(tmp_path / "cur.json", previous=tmp_path / "prev.json")
    fired = {f.column: f for f in res.findings if f.rule == "cross_year.carried_over"}
    assert set(fired) == {"natural_person", "research_institution", "legal_service_agency", "total"}
    f = fired["natural_person"]
    assert (f.actual, f.expected) == (2, 3) and f.table == "applications" and f.sheet is None
    assert f.message == "「自然人」列：本年填报的上年结转为2，上年报告的结转下年度继续办理为3"


def test_previous_of_another_year_or_agency(spec2021, seed_doc, tmp_path):
    prev = copy.deepcopy(seed_doc)
    prev["year"] = 2020
    prev["agency"] = {"name": "别的单位", "code": "999"}
    cur = copy.deepcopy(seed_doc)
    cur["year"] = 2024
    res = load_source(_write(tmp_path / "cur.json", cur), previous=_write(tmp_path / "prev.json", prev))
    codes = [f.rule for f in res.findings]
    assert "crossyear.not_previous_year" in codes and "crossyear.other_agency" in codes


def test_previous_in_another_format_runs_only_the_rules_it_can(tmp_path):
    ids = all_format_ids()
    pairs = [(a, b) for a in ids for b in ids if a != b]
    for cur_id, prev_id in pairs:
        cur_spec, prev_spec = load_format(cur_id), load_format(prev_id)
        missing = []
        for ru in _cross_year_rules(cur_spec):
            for ref in ru.refs:
                if ref.previous:
                    try:
                        ok = prev_spec.table(ref.table).has_cell(ref.row, ref.column)
                    except KeyError:
                        ok = False
                    if not ok:
                        missing.append(ru.instance_id)
                        break
        if not missing:
            continue
        prev = random_submission(prev_spec, 31, year=cur_spec.years[0] + 1)
        cur = random_submission(cur_spec, 32, year=cur_spec.years[0] + 2)
        res = validate_result(read_json(json.dumps(to_canonical(cur_spec, cur)).encode()),
                              read_json(json.dumps(to_canonical(prev_spec, prev)).encode()))
        skipped = [f for f in res.findings if f.rule == "crossyear.skipped"]
        assert len(skipped) == 1 and skipped[0].severity == "warning"
        for iid in missing:
            assert iid in skipped[0].message
        fired = {f.rule + "".join(f"[{k}]" for k in (f.row, f.column) if k) for f in res.findings}
        assert not fired & set(missing)  # the skipped ones did not run ...
        runnable = {ru.instance_id for ru in _cross_year_rules(cur_spec)} - set(missing)
        assert fired & runnable  # ... the others did (random figures do not carry over by chance)
        return
    pytest.skip("no pair of installed formats with differing cross-year keys")


def test_unreadable_previous_gives_exit_2_but_validates_the_rest(tmp_path, seed_doc):
    _write(tmp_path / "cur.json", seed_doc)
    (tmp_path / "prev.xlsx").write_bytes(b"not a workbook, just text\n")
    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "cur.json"), "--previous", str(tmp_path / "prev.xlsx")])
    assert r.exit_code == 2
    assert "跨年度校验未执行" in r.stdout and "cur.json" in r.stdout


# ------------------------------------------------------------------ 2019 trial format → 2021 format


def _cross_version_pair():
    """(previous: the 2020 example in the 2019 trial format, current: a 2021 report in the 2021 format).

    The current report is the seed's figures for the same (constructed) agency in 2021: its
    上年结转 equals the example's 结转下年度 column by column, so the carried-over rule holds.
    """
    paths = example_paths("gov-info-2019")
    if not paths:
        pytest.skip("no example report in the 2019 trial format")
    prev_path = paths[0]
    prev = json.loads(prev_path.read_text(encoding="utf-8"))
    seed = json.loads((ROOT / "examples" / "xingtai-2023.json").read_text(encoding="utf-8"))
    cur = copy.deepcopy(seed)
    cur["year"], cur["agency"] = prev["year"] + 1, prev["agency"]
    cols = cur["tables"]["applications"]["carried_over"]
    assert cols == prev["tables"]["applications"]["carried_forward"]  # the pair is built to agree
    return prev_path, prev, cur


def _skipped_and_ran(spec_cur, spec_prev):
    """Instance ids of the current format's cross-year rules that cannot / can run on last year's format."""
    skipped, ran = [], []
    for ru in _cross_year_rules(spec_cur):
        refs = [r for r in ru.refs if r.previous]
        ok = all(r.table in {t.key for t in spec_prev.tables} and spec_prev.table(r.table).has_cell(r.row, r.column)
                 for r in refs)
        (ran if ok else skipped).append(ru)
    return skipped, ran


def test_cli_previous_in_the_2019_format_runs_carried_over_and_names_the_skipped(tmp_path):
    prev_path, prev, cur = _cross_version_pair()
    cur_spec, prev_spec = load_format(cur["format"]), load_format(prev["format"])
    skipped, ran = _skipped_and_ran(cur_spec, prev_spec)
    assert {ru.id for ru in skipped} == {"cross_year.in_force"}  # 现行有效件数 has no 2019 counterpart
    assert {ru.id for ru in ran} == {"cross_year.carried_over"}

    cur_path = _write(tmp_path / "cur.json", cur)
    r = CliRunner().invoke(cli, ["validate", str(cur_path), "--previous", str(prev_path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["files"][0]
    assert out["format"] == "gov-info-2021" and out["status"] == "ok"
    findings = out["findings"]
    assert [f["rule"] for f in findings] == ["crossyear.skipped"]
    msg = findings[0]["message"]
    assert findings[0]["severity"] == "warning"
    assert prev_spec.id in msg and cur_spec.id in msg
    skipped_part, ran_part = msg.split("已执行的跨年度校验", 1)
    for ru in skipped:  # named by title, labels and instance id
        assert ru.instance_id in skipped_part and ru.title in skipped_part and ru.row_label in skipped_part
    for ru in ran:
        assert ru.title in ran_part and ru.instance_id not in skipped_part

    # the carried-over rule really ran: one figure off by one fails it (the balance still holds)
    ap = cur["tables"]["applications"]
    for row in ("carried_over", "granted", "total_processed"):  # the JSON states its totals: keep them right
        for col in ("natural_person", "total"):
            ap[row][col] += 1
    _write(cur_path, cur)
    r = CliRunner().invoke(cli, ["validate", str(cur_path), "--previous", str(prev_path), "--json"])
    assert r.exit_code == 1, r.output
    fired = [f for f in json.loads(r.stdout)["files"][0]["findings"] if f["rule"] == "cross_year.carried_over"]
    assert [(f["column"], f["actual"], f["expected"]) for f in fired] == [
        ("natural_person", ap["carried_over"]["natural_person"],
         prev["tables"]["applications"]["carried_forward"]["natural_person"]),
        ("total", ap["carried_over"]["total"], prev["tables"]["applications"]["carried_forward"]["total"]),
    ]
    assert {f["rule"] for f in json.loads(r.stdout)["files"][0]["findings"]} == {"cross_year.carried_over",
                                                                                 "crossyear.skipped"}


def test_previous_2019_workbook_with_current_2021_workbook(tmp_path):
    """Both years as filled workbooks: each one's format is read from the file itself."""
    prev_path, prev, cur = _cross_version_pair()
    paths = {}
    for name, doc in (("prev", prev), ("cur", cur)):
        spec = load_format(doc["format"])
        sub = from_canonical_trusted(spec, doc)
        paths[name] = tmp_path / f"{name}.xlsx"
        paths[name].write_bytes(build_workbook(spec, year=sub.year, agency_name=sub.agency_name,
                                               agency_code=sub.agency_code, data=sub))
    res = load_source(paths["cur"], previous=paths["prev"])
    assert res.spec.id == cur["format"]
    assert [f.rule for f in res.findings] == ["crossyear.skipped"]
    r = CliRunner().invoke(cli, ["validate", str(paths["cur"]), "--previous", str(paths["prev"]), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["files"][0]["format"] == cur["format"]
