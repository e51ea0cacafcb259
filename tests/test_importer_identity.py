"""Identity: the metadata sheet, another format version, workbooks not from this generator."""

from __future__ import annotations

import io

import openpyxl
import pytest

from importer import read_workbook, validate_result
from tests.conftest import all_format_ids
from tests.hostile import openpyxl_edit
from tests.hostile.data import filled_workbook, random_submission
from xlsxgen.data import to_canonical
from xlsxgen.spec import load_format
from xlsxgen.workbook.plan import META_SHEET
from xlsxgen.workbook.writer import build_workbook


@pytest.fixture(scope="module", params=all_format_ids())
def filled(request):
    return filled_workbook(request.param, 8)


def _set_meta(data: bytes, key: str, value: str) -> bytes:
    def edit(wb):
        ws = wb[META_SHEET]
        for row in ws.iter_rows(min_col=1, max_col=2):
            if row[0].value == key:
                row[1].value = value
                return
        raise AssertionError(key)

    return openpyxl_edit(data, edit)


def _codes(res):
    return [f.rule for f in res.findings]


def test_metadata_read(filled):
    spec, sub, data = filled
    res = read_workbook(data)
    assert res.metadata["format_id"] == spec.id and res.metadata["format_version"] == spec.version
    assert res.year == sub.year and res.agency == {"name": sub.agency_name, "code": sub.agency_code}


def test_lost_metadata_but_labels_match_is_read_with_a_warning(filled):
    spec, sub, data = filled
    res = validate_result(read_workbook(openpyxl_edit(data, lambda wb: wb.remove(wb[META_SHEET]))))
    assert res.spec.id == spec.id  # the version is recognised by its labels (the versions share most of them)
    assert _codes(res) == ["identity.no_metadata"]
    assert res.findings[0].severity == "warning" and res.status == "ok"
    # agency and year come from the locked cover fields
    assert res.canonical() == to_canonical(spec, sub)


def test_workbook_not_from_this_generator():
    wb = openpyxl.Workbook()
    wb.active["A1"] = "单位"
    wb.active["B1"] = 12
    out = io.BytesIO()
    wb.save(out)
    res = validate_result(read_workbook(out.getvalue()))
    assert _codes(res) == ["identity.not_ours"]
    assert res.status == "invalid" and res.submission is None and res.blocking


def test_unknown_format_id(filled):
    spec, sub, data = filled
    res = read_workbook(_set_meta(data, "format_id", "gov-info-1999"))
    assert _codes(res) == ["identity.unknown_format"]
    assert "gov-info-1999" in res.findings[0].message and res.status == "invalid"


def test_other_format_version(filled):
    spec, sub, data = filled
    res = read_workbook(_set_meta(data, "format_version", "0.9"))
    assert "identity.other_version" in _codes(res)
    f = res.findings[_codes(res).index("identity.other_version")]
    assert f.severity == "error" and "0.9" in f.message and spec.version in f.message


def test_fingerprint_differs(filled):
    spec, sub, data = filled
    res = read_workbook(_set_meta(data, "fingerprint", "sha256:" + "0" * 64))
    assert _codes(res) == ["identity.fingerprint"]


def test_bad_year_in_metadata(filled):
    spec, sub, data = filled
    res = read_workbook(_set_meta(data, "year", "二〇二三"))
    assert "identity.bad_metadata" in _codes(res)


def test_metadata_sheet_made_visible_or_hidden_is_not_tampering(filled):
    spec, sub, data = filled

    def edit(wb):
        wb[META_SHEET].sheet_state = "hidden"  # what LibreOffice does on re-save

    res = read_workbook(openpyxl_edit(data, edit))
    assert res.findings == []


def test_workbook_of_another_installed_format_is_read_as_that_format():
    ids = all_format_ids()
    if len(ids) < 2:
        pytest.skip("only one format installed")
    for fid in ids:
        spec = load_format(fid)
        sub = random_submission(spec, 2)
        data = build_workbook(spec, year=sub.year, agency_name="甲", data=sub)
        res = read_workbook(data)
        assert res.spec.id == fid and res.findings == []


@pytest.mark.parametrize("lose_metadata", [False, True])
def test_cli_validate_names_the_version_read_from_the_file(filled, tmp_path, lose_metadata):
    """`xlsxgen validate f.xlsx` has no --format: the version comes from the file (metadata, else labels)."""
    import json

    from click.testing import CliRunner

    from xlsxgen.cli import cli

    spec, sub, data = filled
    if lose_metadata:
        data = openpyxl_edit(data, lambda wb: wb.remove(wb[META_SHEET]))
    path = tmp_path / "f.xlsx"
    path.write_bytes(data)
    r = CliRunner().invoke(cli, ["validate", str(path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["files"][0]
    assert out["format"] == spec.id and out["year"] == sub.year
    assert [f["rule"] for f in out["findings"]] == (["identity.no_metadata"] if lose_metadata else [])
    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert f"格式 {spec.id}" in r.output
