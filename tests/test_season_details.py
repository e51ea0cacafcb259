"""Issue 12, item 7 and the smaller parts of items 1, 5: each reproduced on its own."""

from __future__ import annotations

import io
import re
import zipfile

from click.testing import CliRunner

from tests.hostile import zip_parts
from xlsxgen import messages
from xlsxgen.cli import cli
from xlsxgen.collection.intake import collect
from xlsxgen.collection.overview import build_overview
from xlsxgen.collection.remind import reminders, reminders_csv
from xlsxgen.collection.roster import norm_code, parse_roster
from xlsxgen.collection.store import Store
from xlsxgen.demo import demo_contact, simulate
from xlsxgen.workbook.plan import build_plan
from xlsxgen.workbook.writer import build_workbook

YEAR = 2023


def test_roster_contacts_in_any_order_and_codes_without_zeros():
    raw = "邮箱,联系电话,单位代码,联系人,单位名称\r\na@b.cn,03197821234,001,张三,甲局\r\n,,002,,乙局\r\n".encode("gbk")
    r = parse_roster(raw)
    a = r.get("001")
    assert (a.contact, a.phone, a.email) == ("张三", "03197821234", "a@b.cn")
    assert r.get("002").contact == ""
    assert r.match_code("1") is a and r.match_code("0001") is a and r.match_code("01") is a
    assert norm_code("130500-001") == norm_code("130500-1") and norm_code("A01") == norm_code("a1")


def test_generate_creates_the_output_folder(tmp_path):
    out = tmp_path / "去年" / "更深" / "x.xlsx"
    r = CliRunner().invoke(cli, ["generate", "--year", "2024", "--agency", "甲局", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.exists()


def test_contact_cells_are_text_and_the_checks_header_says_what_it_means(spec2021):
    plan = build_plan(spec2021, False)
    wb = build_workbook(spec2021, year=2024, agency_name="甲局")
    parts = zip_parts(wb)
    styles = parts["xl/styles.xml"].decode()
    assert 'formatCode="@"' in styles
    checks = [c for c in plan.cells if c.sheet == spec2021.sheets["checks"] and c.role == "label" and c.row == 2]
    assert [c.text for c in checks] == list(messages.CHECK_HEADERS)
    assert "不通过时" in messages.CHECK_HEADERS[4]


def test_narrative_sheet_shows_a_long_paragraph_and_prints_at_full_size(spec2021, seed_submission):
    import copy

    from xlsxgen.textwidth import text_width

    plan = build_plan(spec2021, False)
    sp = plan.sheet(spec2021.sheets["narrative"])
    assert sp.landscape
    # A4 landscape, 0.5" margins: about 146 character widths at 100 %: fit to one page wide does not shrink
    assert sum(sp.widths) <= 140
    sub = copy.deepcopy(seed_submission)
    key = next(f.key for f in spec2021.narrative_fields if f.kind == "text")
    sub.narrative[key] = "政府信息公开工作" * 110  # 880 characters
    wb = build_workbook(spec2021, year=2023, agency_name="甲局", data=sub)
    sheet_xml = _sheet_xml(wb, sp.name)
    field = next(c for c in sp.cells if c.role == "field" and c.key == ("narrative", key))
    row = re.search(rf'<row r="{field.row + 1}"[^>]*>', sheet_xml).group(0)
    assert "customHeight" not in row  # the row grows with its text (Excel/LibreOffice fit it)
    lines = text_width(sub.narrative[key]) / (sp.widths[field.col] - 1)
    assert lines * 13.5 < 409  # Excel's highest row shows it whole at 10 pt
    assert 'orientation="landscape"' in sheet_xml


def _sheet_xml(wb: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(wb)) as z:
        book = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet name="{re.escape(name)}" sheetId="\d+" r:id="(rId\d+)"', book).group(1)
        target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"', rels) or re.search(
            rf'Target="([^"]+)"[^>]*Id="{rid}"', rels)
        return z.read("xl/" + target.group(1)).decode()


def _filled(spec, base, code, name, seed=""):
    sub = simulate(spec, base, year=YEAR, agency_name=name, agency_code=code, seed=code + seed, factor=0.5)
    sub.contact = demo_contact(spec)
    return build_workbook(spec, year=YEAR, agency_name=name, agency_code=code, data=sub)


def test_one_agency_twice_from_differently_named_files_is_held(tmp_path, spec2021, seed_submission):
    roster = tmp_path / "r.csv"
    roster.write_text("代码,名称\nA1,甲局\nB1,乙局\n", encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "年报.xlsx").write_bytes(_filled(spec2021, seed_submission, "A1", "甲局"))
    (inbox / "年报(1).xlsx").write_bytes(_filled(spec2021, seed_submission, "A1", "甲局", seed="x"))
    (inbox / "乙局.xlsx").write_bytes(_filled(spec2021, seed_submission, "B1", "乙局"))
    (inbox / "乙局-修改.xlsx").write_bytes(_filled(spec2021, seed_submission, "B1", "乙局", seed="y"))
    db = tmp_path / "c.sqlite"
    res = collect(inbox, db=db, year=YEAR, roster_path=roster, show_progress=False, jobs=1)
    assert res.held == 2
    with Store.open(db) as s:
        ov = build_overview(s, YEAR)
        got = {r.code: r.state for r in ov.rows}
        assert got == {"A1": "held", "B1": "ok"}  # 乙局's names say whose they are: the newer is current
        assert len(ov.held) == 2 and all(h.workbook_code == "A1" and not h.named_code for h in ov.held)
    r = CliRunner().invoke(cli, ["confirm", "--db", str(db), "--year", str(YEAR), "年报(1).xlsx", "--agency", "A1",
                                 "--by", "张三"])
    assert r.exit_code == 0, r.output
    with Store.open(db) as s:
        ov = build_overview(s, YEAR)
        assert {r.code: r.state for r in ov.rows}["A1"] == "ok" and len(ov.held) == 1
        # confirming something that is not held is refused with a reason
    r = CliRunner().invoke(cli, ["confirm", "--db", str(db), "--year", str(YEAR), "乙局.xlsx", "--agency", "B1"])
    assert r.exit_code != 0 and "不需要确认" in r.output


def test_remind_lists_who_is_not_done_with_a_message(tmp_path, spec2021, seed_submission):
    roster = tmp_path / "r.csv"
    roster.write_text("代码,名称,联系人,电话\nA1,甲局,张三,03191234567\nB1,乙局,,\nC1,=HYPERLINK(\"x\"),,\n",
                      encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "乙局.xlsx").write_bytes(_filled(spec2021, seed_submission, "B1", "乙局"))
    db = tmp_path / "c.sqlite"
    collect(inbox, db=db, year=YEAR, roster_path=roster, show_progress=False, jobs=1)
    with Store.open(db) as s:
        items = reminders(build_overview(s, YEAR), spec2021, office="县政务公开办")
    assert [i.code for i in items] == ["A1", "C1"]
    assert items[0].message.startswith("张三同志") and "县政务公开办" in items[0].message
    assert items[0].phone == "03191234567"
    text = reminders_csv(items)
    assert "'=HYPERLINK" in text  # a spreadsheet will not run it
    r = CliRunner().invoke(cli, ["remind", "--db", str(db), "--year", str(YEAR)])
    assert r.exit_code == 0 and "甲局" in r.output and "乙局" not in r.output
