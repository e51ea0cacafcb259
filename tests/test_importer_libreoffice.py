"""Workbooks re-saved by LibreOffice (not only files written by Python libraries).

LibreOffice drops the workbook structure lock, turns the very hidden metadata
sheet into a hidden one, renumbers styles, drops the quotes around sheet names
in formulas and writes booleans as true/false. None of it is tampering; the
structure lock is reported as a warning. Skipped where LibreOffice is missing
(CI installs it: see .ci/run).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from importer import load_source
from tests.hostile import openpyxl_edit, zip_parts
from tests.hostile.data import random_submission
from xlsxgen.data import to_canonical
from xlsxgen.workbook.plan import build_plan
from xlsxgen.workbook.writer import build_workbook

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
ALLOWED = {"tamper.structure_unlocked"}  # an information note: LibreOffice drops the structure lock
CONTENT = {"contact.empty"}  # about the example's content (no contact person), not about the re-save


def resave(tmp_path, files: dict[str, bytes]) -> dict[str, bytes]:
    """Open and save each workbook with LibreOffice (one headless run for all)."""
    src = tmp_path / "src"
    out = tmp_path / "lo"
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    profile = (tmp_path / "profile").as_uri()
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), *[str(src / n) for n in files]],
                   check=True, capture_output=True, timeout=300)
    return {name: (out / name).read_bytes() for name in files}


@pytest.fixture(scope="module")
def saved(tmp_path_factory, spec2021, seed_submission):
    from xlsxgen.spec import available_formats

    files, expected, specs = {}, {}, {}
    seed = seed_submission
    files["seed.xlsx"] = build_workbook(spec2021, year=2023, agency_name=seed.agency_name,
                                        agency_code=seed.agency_code, data=seed)
    expected["seed.xlsx"] = to_canonical(spec2021, seed)
    for spec in available_formats():
        for n in (1, 2):
            sub = random_submission(spec, 50 + n)  # amounts with decimals: 15-digit cached values
            name = f"{spec.id}-{n}.xlsx"
            files[name] = build_workbook(spec, year=sub.year, agency_name=sub.agency_name,
                                         agency_code=sub.agency_code, data=sub)
            expected[name] = to_canonical(spec, sub)
            specs[name] = spec
        prev = random_submission(spec, 60, year=spec.years[0] + 1)
        cur = random_submission(spec, 61, year=spec.years[0] + 2, previous=prev)
        name = f"{spec.id}-prev.xlsx"
        files[name] = build_workbook(spec, year=cur.year, agency_name=cur.agency_name, agency_code=cur.agency_code,
                                     data=cur, previous=prev)
        expected[name] = to_canonical(spec, cur)
    tot = next(c for c in build_plan(spec2021, False).cells if c.role == "total")
    files["typed-over.xlsx"] = openpyxl_edit(files["seed.xlsx"],
                                             lambda wb: wb[tot.sheet].__setitem__(tot.address, 12345))
    tmp = tmp_path_factory.mktemp("libreoffice")
    return resave(tmp, files), expected, tot


def test_it_really_is_a_libreoffice_file(saved):
    lo, _, _ = saved
    parts = zip_parts(lo["seed.xlsx"])
    assert b"LibreOffice" in parts["docProps/app.xml"]
    assert b'lockStructure="1"' not in parts["xl/workbook.xml"]


def test_libreoffice_resave_is_not_tampering(saved, tmp_path):
    lo, expected, _ = saved
    for name, want in expected.items():
        p = tmp_path / name
        p.write_bytes(lo[name])
        res = load_source(p)
        assert {f.rule for f in res.findings} <= ALLOWED | CONTENT, (name, [(f.rule, f.message) for f in res.findings])
        assert all(f.severity == "info" for f in res.findings if f.rule in ALLOWED)
        assert not res.warnings or {f.rule for f in res.warnings} <= CONTENT
        assert res.status == "ok"
        assert res.canonical() == want, name


def test_typed_over_total_survives_the_resave(saved, tmp_path):
    lo, _, tot = saved
    p = tmp_path / "t.xlsx"
    p.write_bytes(lo["typed-over.xlsx"])
    res = load_source(p)
    f = [f for f in res.findings if f.rule == "tamper.formula_replaced"]
    assert len(f) == 1 and f[0].cell == tot.address and f[0].actual == 12345
