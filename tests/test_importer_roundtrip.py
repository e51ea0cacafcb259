"""Round trip: generate → fill → export gives back exactly the data, and validate finds nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from importer import load_source, read_json, read_workbook, validate_result
from tests.conftest import all_format_ids, example_paths
from tests.hostile.data import random_submission
from xlsxgen.cli import cli
from xlsxgen.data import from_canonical_trusted, to_canonical
from xlsxgen.fill import fill_workbook
from xlsxgen.spec import load_format
from xlsxgen.workbook.writer import build_workbook


def _blank(spec, sub, previous=None) -> bytes:
    return build_workbook(spec, year=sub.year, agency_name=sub.agency_name, agency_code=sub.agency_code,
                          previous=previous)


def _cli_round_trip(tmp_path, blank: bytes, doc: dict, previous_json=None):
    runner = CliRunner()
    (tmp_path / "blank.xlsx").write_bytes(blank)
    (tmp_path / "data.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(cli, ["fill", str(tmp_path / "blank.xlsx"), str(tmp_path / "data.json"),
                            "-o", str(tmp_path / "filled.xlsx")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["export", str(tmp_path / "filled.xlsx")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == doc
    args = ["validate", str(tmp_path / "filled.xlsx"), "--json"]
    if previous_json is not None:
        (tmp_path / "prev.json").write_text(json.dumps(previous_json, ensure_ascii=False), encoding="utf-8")
        args += ["--previous", str(tmp_path / "prev.json")]
    r = runner.invoke(cli, args)
    out = json.loads(r.stdout)
    assert out["files"][0]["findings"] == [], out
    assert out["files"][0]["status"] == "ok"
    assert r.exit_code == 0
    return (tmp_path / "filled.xlsx").read_bytes()


@pytest.mark.parametrize("fid", all_format_ids())
def test_seed_examples_round_trip(fid, tmp_path):
    examples = example_paths(fid)
    if not examples:
        pytest.skip(f"no example data for {fid}")
    spec = load_format(fid)
    for p in examples:
        doc = json.loads(p.read_text(encoding="utf-8"))
        sub = from_canonical_trusted(spec, doc)
        canonical = to_canonical(spec, sub)
        assert canonical == doc, "the example is stored in canonical form"
        filled = _cli_round_trip(tmp_path, _blank(spec, sub), canonical)
        # the example JSON itself validates clean, and so does the filled workbook read by the API
        assert load_source(p).findings == []
        res = load_source(tmp_path / "filled.xlsx")
        assert res.status == "ok" and res.findings == [] and res.canonical() == canonical
        assert filled[:2] == b"PK"


@pytest.mark.parametrize("fid", all_format_ids())
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_round_trip(fid, seed, tmp_path):
    spec = load_format(fid)
    sub = random_submission(spec, seed)
    doc = to_canonical(spec, sub)
    _cli_round_trip(tmp_path, _blank(spec, sub), doc)


@pytest.mark.parametrize("fid", all_format_ids())
@pytest.mark.parametrize("seed", [11, 12])
def test_round_trip_with_last_year(fid, seed, tmp_path):
    """A workbook carrying last year's sheet: cross-year checks run on the embedded values and with --previous."""
    spec = load_format(fid)
    prev = random_submission(spec, seed + 100, year=spec.years[0] + 1)
    sub = random_submission(spec, seed, year=spec.years[0] + 2, previous=prev)
    doc = to_canonical(spec, sub)
    filled = _cli_round_trip(tmp_path, _blank(spec, sub, previous=prev), doc, previous_json=to_canonical(spec, prev))
    res = read_workbook(filled)
    assert res.previous_values  # the embedded last-year values were read
    assert validate_result(res).findings == []


@pytest.mark.parametrize("fid", all_format_ids())
def test_api_fill_and_read_back(fid, tmp_path):
    spec = load_format(fid)
    sub = random_submission(spec, 42)
    doc = to_canonical(spec, sub)
    (tmp_path / "blank.xlsx").write_bytes(_blank(spec, sub))
    (tmp_path / "d.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    data, js = fill_workbook(tmp_path / "blank.xlsx", tmp_path / "d.json")
    assert js.findings == []
    res = validate_result(read_workbook(data))
    assert res.status == "ok" and res.findings == []
    assert res.canonical() == doc
    assert read_json(json.dumps(doc).encode()).canonical() == doc


def test_export_never_modifies_the_input(tmp_path, spec2021, seed_submission):
    import hashlib

    data = build_workbook(spec2021, year=2023, agency_name=seed_submission.agency_name, data=seed_submission)
    p = tmp_path / "in.xlsx"
    p.write_bytes(data)
    before = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    r = CliRunner().invoke(cli, ["export", str(p), "-o", str(tmp_path / "out.json")])
    assert r.exit_code == 0, r.output
    CliRunner().invoke(cli, ["validate", str(p)])
    assert (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) == before
    assert CliRunner().invoke(cli, ["export", str(p), "-o", str(p)]).exit_code == 2
    assert p.read_bytes() == data
