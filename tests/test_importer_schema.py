"""The JSON Schema of the canonical form, generated from the spec, agrees with what export writes."""

from __future__ import annotations

import copy
import json

import pytest

from importer.findings import KINDS, describe
from importer.schema import canonical_schema
from tests.conftest import EXAMPLES, all_format_ids
from tests.hostile.data import random_submission
from xlsxgen.data import to_canonical
from xlsxgen.spec import load_format

jsonschema = pytest.importorskip("jsonschema")


@pytest.mark.parametrize("fid", all_format_ids())
def test_schema_accepts_canonical_data_and_rejects_bad_data(fid):
    spec = load_format(fid)
    schema = canonical_schema(spec)
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    doc = to_canonical(spec, random_submission(spec, 77))
    assert list(v.iter_errors(doc)) == []
    t = spec.tables[0]
    rk, ck = next(c for c in t.input_cells() if t.kinds[c] == "count")
    bad = copy.deepcopy(doc)
    bad["tables"][t.key][rk][ck] = -1
    assert list(v.iter_errors(bad))
    bad = copy.deepcopy(doc)
    bad["tables"][t.key]["no_such_row"] = {}
    assert list(v.iter_errors(bad))


def test_schema_accepts_the_examples():
    for p in EXAMPLES.glob("*.json"):
        doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("format") in all_format_ids():
            v = jsonschema.Draft202012Validator(canonical_schema(load_format(doc["format"])))
            assert list(v.iter_errors(doc)) == [], p


def test_finding_kinds_are_documented():
    codes = {k["code"] for k in describe()}
    assert codes == set(KINDS)
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "importer.md").read_text(encoding="utf-8")
    missing = [c for c in codes if f"`{c}`" not in doc]
    assert not missing, f"docs/importer.md does not list {missing}"
