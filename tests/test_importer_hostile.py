"""Hostile files: each is refused with exit code 2 and a one-line reason, in bounded work and memory.

Each file must be stopped by a *work* limit of the reader (size, entries,
ratio, cells, elements, sheets, ...), asserted through the finding it gives;
the reader's own time budget is switched off where a file is measured, so a
slow or busy machine cannot turn one refusal into another. No test compares a
duration with a tight bound: ``HANG_GUARD`` only catches a hang.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import tracemalloc

import pytest
from click.testing import CliRunner

from importer import load_source, read_workbook
from importer.safety import DEFAULT_LIMITS
from tests.hostile import corpus, deep_nesting, sheet_part
from xlsxgen.cli import cli
from xlsxgen.workbook.writer import build_workbook

HANG_GUARD = 120.0  # seconds: catches a hang only; the work itself is bounded by the reader's limits
MEMORY_BOUND = 200 * 1024 * 1024
NO_CLOCK = dataclasses.replace(DEFAULT_LIMITS, max_seconds=math.inf)  # refusals must come from work limits


@pytest.fixture(scope="module")
def workbook(spec2021, seed_submission):
    return build_workbook(spec2021, year=2023, agency_name="某局", data=seed_submission)


@pytest.fixture(scope="module")
def hostile(workbook):
    return corpus(workbook)


NAMES = ["empty", "zip_bomb", "zip_bomb_lying_directory", "billion_laughs", "external_entity",
         "billion_laughs_in_sheet", "truncated_zip", "truncated_tail", "corrupt_deflate", "encrypted_ooxml",
         "zip_encrypted_entries", "old_xls", "csv_renamed_gbk", "csv_renamed_utf8", "html_renamed", "pdf_renamed",
         "random_bytes", "docx_renamed", "ten_thousand_sheets", "ten_thousand_sheets_listed", "too_many_cells",
         "malformed_xml", "missing_workbook_part"]


def test_corpus_is_complete(hostile):
    assert sorted(hostile) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_hostile_file_is_refused(name, hostile, tmp_path):
    data, code = hostile[name]
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(data)

    tracemalloc.start()
    t0 = time.monotonic()
    res = load_source(path, limits=NO_CLOCK)
    elapsed = time.monotonic() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert res.status == "unreadable", [f.rule for f in res.findings]
    assert res.findings[0].rule == code
    assert res.reason and "\n" not in res.reason
    assert elapsed < HANG_GUARD
    assert peak < MEMORY_BOUND

    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert r.exit_code == 2
    reason_lines = [x for x in r.stdout.splitlines() if x.startswith("无法读取：")]
    assert reason_lines == [f"无法读取：{res.reason}"]
    r = CliRunner().invoke(cli, ["validate", str(path), "--json"])
    entry = json.loads(r.stdout)["files"][0]
    assert r.exit_code == 2 and entry["status"] == "unreadable" and entry["findings"][0]["rule"] == code
    r = CliRunner().invoke(cli, ["export", str(path)])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1


def test_whole_corpus_in_one_run_with_a_good_file(hostile, workbook, tmp_path):
    paths = []
    for name, (data, _code) in hostile.items():
        p = tmp_path / f"{name}.xlsx"
        p.write_bytes(data)
        paths.append(str(p))
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook)
    t0 = time.monotonic()
    r = CliRunner().invoke(cli, ["validate", *paths, str(good), "--json"])
    assert time.monotonic() - t0 < HANG_GUARD
    assert r.exit_code == 2
    files = json.loads(r.stdout)["files"]
    assert [f["status"] for f in files] == ["unreadable"] * len(paths) + ["ok"]


def test_deeply_nested_sheet_does_not_crash(workbook, spec2021):
    data = deep_nesting(workbook, sheet_part(workbook, "三、依申请公开"))
    t0 = time.monotonic()
    res = read_workbook(data)
    assert time.monotonic() - t0 < HANG_GUARD
    assert res.status in ("invalid", "unreadable")


def test_too_many_cells_stops_at_the_cell_limit(hostile):
    """The reader's work on a sheet with too many cells is bounded by the cell limit, not by the file.

    The file holds 250,000 cells. With the default limit the reader stops at
    the 200,001st (the finding names that limit, not the element limit or the
    time budget); with a limit of 2,000 the same file is refused at 2,001
    cells, and the reader's peak memory (a count of the work: every cell read
    is kept until the refusal) falls accordingly -- the rest of the file is
    never read.
    """
    data, _ = hostile["too_many_cells"]
    peaks = {}
    for max_cells in (DEFAULT_LIMITS.max_cells, 2_000):
        tracemalloc.start()
        res = read_workbook(data, limits=dataclasses.replace(NO_CLOCK, max_cells=max_cells))
        peaks[max_cells] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert res.status == "unreadable" and res.findings[0].rule == "file.too_many_cells"
        assert f"超过 {max_cells} 个" in res.findings[0].message, res.findings[0].message
    assert peaks[2_000] * 5 < peaks[DEFAULT_LIMITS.max_cells] < MEMORY_BOUND, peaks


def test_limits_are_configurable(workbook):
    from importer import Limits

    res = read_workbook(workbook, limits=Limits(max_cells=50))
    assert res.status == "unreadable" and res.findings[0].rule == "file.too_many_cells"
    res = read_workbook(workbook, limits=Limits(max_file_size=1000))
    assert res.findings[0].rule == "file.too_large"


def test_missing_and_directory_paths(tmp_path):
    assert load_source(tmp_path / "nope.xlsx").findings[0].rule == "file.not_found"
    assert load_source(tmp_path).findings[0].rule == "file.not_a_file"


def test_real_xls_written_by_libreoffice(tmp_path, workbook):
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice is not installed")
    src = tmp_path / "in.xlsx"
    src.write_bytes(workbook)
    profile = (tmp_path / "profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xls", "--outdir",
                    str(tmp_path / "out"), str(src)], check=True, capture_output=True, timeout=180)
    xls = tmp_path / "out" / "in.xls"
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_bytes(xls.read_bytes())
    res = load_source(renamed)
    assert res.status == "unreadable" and res.findings[0].rule == "file.xls"
