"""Canonical JSON from an untrusted source: every problem a finding with table/row/column."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from importer import load_source, read_json, validate_result
from tests.conftest import all_format_ids
from tests.hostile.data import random_submission
from xlsxgen.cli import cli
from xlsxgen.data import to_canonical
from xlsxgen.spec import load_format


@pytest.fixture(scope="module", params=all_format_ids())
def doc(request):
    spec = load_format(request.param)
    return spec, to_canonical(spec, random_submission(spec, 9))


def _load(d) -> object:
    raw = d if isinstance(d, bytes) else json.dumps(d, ensure_ascii=False).encode("utf-8")
    return validate_result(read_json(raw, name="d.json"))


def _codes(res):
    return [f.rule for f in res.findings]


def _a_total(spec):
    from xlsxgen.spec.rules import compile_spec

    return compile_spec(spec).totals[0].cell


def _an_input(spec):
    t = spec.tables[0]
    rk, ck = t.input_cells()[0]
    return t.key, rk, ck


def test_clean_document(doc):
    spec, d = doc
    res = _load(d)
    assert res.findings == [] and res.canonical() == d


def test_totals_may_be_omitted(doc):
    spec, d = doc
    from xlsxgen.spec.rules import compile_spec

    stripped = copy.deepcopy(d)
    for tot in compile_spec(spec).totals:
        t, r, c = tot.cell
        stripped["tables"][t][r].pop(c, None)
    res = _load(stripped)
    assert res.findings == [] and res.canonical() == d


def test_wrong_total_is_found_with_its_keys(doc, tmp_path):
    spec, d = doc
    t, r, c = _a_total(spec)
    bad = copy.deepcopy(d)
    bad["tables"][t][r][c] = d["tables"][t][r][c] + 10
    res = _load(bad)
    assert _codes(res) == ["total.mismatch"]
    f = res.findings[0]
    assert (f.table, f.row, f.column) == (t, r, c) and f.sheet is None and f.cell is None
    assert f.expected == d["tables"][t][r][c] and f.actual == d["tables"][t][r][c] + 10
    # through the CLI: exit 1 and the keys in --json
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    out = CliRunner().invoke(cli, ["validate", str(p), "--json"])
    assert out.exit_code == 1
    got = json.loads(out.stdout)["files"][0]["findings"][0]
    assert (got["rule"], got["table"], got["row"], got["column"]) == ("total.mismatch", t, r, c)


def test_structure_problems(doc):
    spec, d = doc
    t, r, c = _an_input(spec)
    cases = []
    x = copy.deepcopy(d)
    del x["format"]
    cases.append((x, "json.missing_field"))
    x = copy.deepcopy(d)
    x["year"] = "2023年"
    cases.append((x, "json.wrong_type"))
    x = copy.deepcopy(d)
    x["extra"] = 1
    cases.append((x, "json.unknown_key"))
    x = copy.deepcopy(d)
    x["tables"][t]["no_such_row"] = {c: 1}
    cases.append((x, "json.unknown_cell"))
    x = copy.deepcopy(d)
    x["tables"][t][r]["no_such_column"] = 1
    cases.append((x, "json.unknown_cell"))
    x = copy.deepcopy(d)
    del x["tables"][t]
    cases.append((x, "json.missing_table"))
    x = copy.deepcopy(d)
    x["tables"][t][r] = [1, 2]
    cases.append((x, "json.wrong_type"))
    x = copy.deepcopy(d)
    x["format"] = "gov-info-1999"
    cases.append((x, "identity.unknown_format"))
    x = copy.deepcopy(d)
    x["narrative"][spec.narrative_fields[0].key] = ["不是文字"]
    cases.append((x, "json.wrong_type"))
    for bad, code in cases:
        res = _load(bad)
        assert code in _codes(res), (code, _codes(res))
        assert all(f.rule.split(".")[0] in ("json", "identity") for f in res.findings), _codes(res)


def test_missing_row_counts_as_zero_with_one_warning(doc):
    spec, d = doc
    t = spec.tables[0]
    x = copy.deepcopy(d)
    rk = t.input_cells()[0][0]
    del x["tables"][t.key][rk]
    res = read_json(json.dumps(x).encode())
    assert [f.rule for f in res.findings] == ["json.missing_row"]
    assert (res.findings[0].table, res.findings[0].row) == (t.key, rk)


def test_duplicate_keys(doc):
    spec, d = doc
    raw = json.dumps(d, ensure_ascii=False)
    raw = raw.replace('"year": ', '"year": 1999, "year": ', 1)
    res = _load(raw.encode())
    assert "json.duplicate_key" in _codes(res)


def test_missing_input_is_blank_with_a_warning(doc):
    spec, d = doc
    t, r, c = _an_input(spec)
    x = copy.deepcopy(d)
    del x["tables"][t][r][c]
    res = _load(x)
    f = next(f for f in res.findings if f.rule == "value.blank")
    assert (f.table, f.row, f.column) == (t, r, c)


@pytest.mark.parametrize("raw,code", [
    (b"", "file.empty"),
    (b"{\"format\": ", "file.json_malformed"),
    (b"[1, 2, 3]", "file.json_not_object"),
    (b"{\"year\": NaN}", "file.json_malformed"),
    (b"[" * 100_000 + b"]" * 100_000, "file.json_malformed"),
    (b"\xff\xfe\x00\x00garbage", "file.json_malformed"),
    (b"{\"a\": \"\xe4\xb8\"}", "file.json_malformed"),
])
def test_unreadable_json(raw, code):
    res = read_json(raw)
    assert res.status == "unreadable" and res.findings[0].rule == code
    assert "\n" not in res.reason


def test_json_too_large(tmp_path):
    p = tmp_path / "big.json"
    p.write_bytes(b"{\"x\": \"" + b"a" * (6 * 1024 * 1024) + b"\"}")
    res = load_source(p)
    assert res.status == "unreadable" and res.findings[0].rule == "file.too_large"


def test_utf16_and_bom_are_fine(doc):
    spec, d = doc
    text = json.dumps(d, ensure_ascii=False)
    assert read_json(text.encode("utf-16")).findings == []
    assert read_json(b"\xef\xbb\xbf" + text.encode("utf-8")).findings == []


def test_missing_format_is_inferred_from_the_keys(doc):
    """Data without "format" is read with the installed version whose keys it uses (and the gap reported)."""
    spec, d = doc
    x = copy.deepcopy(d)
    del x["format"]
    res = _load(x)
    assert res.spec.id == spec.id
    assert _codes(res) == ["json.missing_field"]
