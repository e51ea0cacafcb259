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


# ---------------------------------------------------------------------------- the store on both databases

PG_ENV = "XLSXGEN_TEST_PG"  # postgresql+psycopg://… of a server for the tests (.ci/with-postgres sets it)


def _pg_admin_url() -> str | None:
    import os

    return os.environ.get(PG_ENV) or None


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """Where a store goes: a fresh SQLite file, or a fresh schema of the test PostgreSQL database.

    Skipped for PostgreSQL only when ``XLSXGEN_TEST_PG`` is not set.
    """
    if request.param == "sqlite":
        yield str(tmp_path / "c.sqlite")
        return
    url = _pg_admin_url()
    if not url:
        pytest.skip(f"{PG_ENV} is not set (.ci/with-postgres starts a throwaway server)")
    with fresh_pg_schema(url) as scoped:
        yield scoped


class fresh_pg_schema:
    """A new schema in the test database; the URL selects it (search_path); dropped afterwards."""

    def __init__(self, url: str):
        import uuid

        self.url = url
        self.name = "t_" + uuid.uuid4().hex[:16]

    def __enter__(self) -> str:
        import psycopg

        with psycopg.connect(_libpq(self.url), autocommit=True) as c:
            c.execute(f"CREATE SCHEMA {self.name}")
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}options=-csearch_path%3D{self.name}"

    def __exit__(self, *exc):
        import psycopg

        try:
            with psycopg.connect(_libpq(self.url), autocommit=True) as c:
                c.execute("SET lock_timeout = '10s'")
                c.execute(f"DROP SCHEMA {self.name} CASCADE")
        except psycopg.Error:
            pass


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as a libpq one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
