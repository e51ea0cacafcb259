"""Shared fixtures: the installed formats, the seed example, generated workbooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Reference texts the tests read, copied into the repository so the tests always run:
# the official format (2021, with notes on the 2019 trial format) and the seed report's published text.
TEST_DATA = Path(__file__).resolve().parent / "data"
OFFICIAL_FORMAT = TEST_DATA / "official-format-2021.md"
SEED_REPORT_TEXT = TEST_DATA / "xingtai-2023-annual-report.txt"


@pytest.fixture(scope="session")
def spec2021():
    from xlsxgen.spec import load_format

    return load_format("gov-info-2021")


@pytest.fixture(scope="session")
def seed_doc():
    return json.loads((EXAMPLES / "xingtai-2023.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def seed_submission(spec2021, seed_doc):
    from xlsxgen.data import from_canonical_trusted

    return from_canonical_trusted(spec2021, seed_doc)


def all_format_ids():
    from xlsxgen.resources import format_dirs

    return sorted(format_dirs())


def example_paths(fid: str) -> list[Path]:
    """The example reports (canonical JSON in examples/) of format ``fid``, in file-name order."""
    out = []
    for p in sorted(EXAMPLES.glob("*.json")):
        doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("format") == fid and "tables" in doc:
            out.append(p)
    return out


def example_doc(fid: str) -> dict:
    """The first example report of format ``fid`` (skips the test when the format has none)."""
    paths = example_paths(fid)
    if not paths:
        pytest.skip(f"no example report for {fid} in examples/")
    return json.loads(paths[0].read_text(encoding="utf-8"))
