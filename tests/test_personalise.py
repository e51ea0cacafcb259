"""Build-once-then-personalise gives exactly the bytes of a full generation."""

import io

import openpyxl
import pytest

from xlsxgen.workbook.personalise import Personaliser
from xlsxgen.workbook.writer import build_workbook

NAMES = [
    ("某某市某某局", "001"),
    ("A&B<局>", "x&y"),  # escaping
    ("邢台市人民政府办公室", "130500-001"),
    ("总计", "002"),  # collides with a label: falls back to a full build
    ("某某局", ""),  # empty code: full build
    (" 空格局", "3"),  # leading space: full build
]


@pytest.fixture(scope="module")
def personaliser(spec2021):
    return Personaliser(spec2021, 2024)


@pytest.mark.parametrize("name, code", NAMES)
def test_identical_to_full_generation(personaliser, spec2021, name, code):
    assert personaliser.build(name, code) == build_workbook(spec2021, year=2024, agency_name=name, agency_code=code)


def test_fast_path_is_taken_and_opens(personaliser, spec2021):
    before = personaliser.fast
    data = personaliser.build("某某区某某办", "A-17")
    assert personaliser.fast == before + 1
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cover = wb[spec2021.sheets["cover"]]
    assert cover["B4"].value == "某某区某某办" and cover["B5"].value == "A-17"
