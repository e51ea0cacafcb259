"""Shared fixtures: the installed formats, the seed example, generated workbooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"


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
