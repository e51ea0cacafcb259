"""Every finding kind is produced by some test; the rarer ones are produced here."""

from __future__ import annotations

import re
from pathlib import Path

from importer import Limits, read_workbook
from importer.findings import KINDS, make
from tests.hostile import compound_file
from xlsxgen.workbook.writer import build_workbook

# kinds that no file can produce on demand, and why
EXEMPT = {
    "file.io_error": "an operating-system read error (tests run as root: permissions cannot provoke one)",
}


def test_every_kind_is_exercised_by_a_test():
    tests = Path(__file__).resolve().parent
    text = "".join(p.read_text(encoding="utf-8") for p in tests.glob("test_importer_*.py"))
    text += (tests / "hostile" / "__init__.py").read_text(encoding="utf-8")
    missing = [c for c in KINDS if c not in EXEMPT and not re.search(r"[\"']" + re.escape(c) + r"[\"'\[]", text)]
    assert not missing, f"no test produces {missing}"


def test_every_kind_formats_its_message():
    for code in KINDS:
        f = make(code)
        assert f.message and not re.search(r"\{[a-z_]+\}", f.message), code
        assert f.severity in ("error", "warning", "info") and f.fix, code


def test_time_budget(spec2021, seed_submission):
    data = build_workbook(spec2021, year=2023, agency_name="某局", data=seed_submission)
    res = read_workbook(data, limits=Limits(max_seconds=0))
    assert res.status == "unreadable" and res.findings[0].rule == "file.too_slow"


def test_uncompressed_size_limit(spec2021, seed_submission):
    data = build_workbook(spec2021, year=2023, agency_name="某局", data=seed_submission)
    res = read_workbook(data, limits=Limits(max_entry_size=2000))
    assert res.findings[0].rule == "file.too_big_uncompressed"
    res = read_workbook(data, limits=Limits(max_total_size=20_000))
    assert res.findings[0].rule == "file.too_big_uncompressed"


def test_other_ole_document():
    res = read_workbook(compound_file({"WordDocument": b"\xec\xa5" + b"\0" * 600}))
    assert res.findings[0].rule == "file.ole_other"


def test_an_internal_error_becomes_an_unreadable_entry(monkeypatch, spec2021, seed_submission):
    import importer.workbook_import as wi

    def boom(*a, **k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(wi._Importer, "run", boom)
    data = build_workbook(spec2021, year=2023, agency_name="某局", data=seed_submission)
    res = read_workbook(data)
    assert res.status == "unreadable" and res.findings[0].rule == "file.internal_error"
