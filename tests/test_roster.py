"""The roster: encodings as Excel saves them, header aliases, precise errors, file names, prefill pairs."""

from __future__ import annotations

import pytest

from xlsxgen.collection.distribute import prefill_pairs, workbook_file_name
from xlsxgen.collection.roster import RosterError, parse_roster, read_roster

CSV = "代码,名称,上级,类型\n001,某某市教育局,000,工作部门\n002,某某市财政局,000,工作部门\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings(encoding):
    r = parse_roster(CSV.encode(encoding), "r.csv")
    assert [(a.code, a.name, a.parent, a.kind) for a in r] == [
        ("001", "某某市教育局", "000", "工作部门"), ("002", "某某市财政局", "000", "工作部门")]
    assert r.encoding in ("UTF-8", "GB18030")


def test_gbk_file_on_disk(tmp_path):
    p = tmp_path / "名单.csv"
    p.write_bytes("单位代码,单位名称\r\n130500-001,邢台市人民政府办公室\r\n".encode("gbk"))
    r = read_roster(p)
    assert r.encoding == "GB18030"
    assert r.get("130500-001").name == "邢台市人民政府办公室"
    assert r.get("130500-001").line == 2


def test_utf16_tab_separated():
    raw = "code\tname\n001\t某某局\n".encode("utf-16")
    r = parse_roster(raw)
    assert [(a.code, a.name) for a in r] == [("001", "某某局")]


@pytest.mark.parametrize("header", ["代码,名称", "单位代码,单位名称", "code,name", "Code , Name", " 编码,单位名称"])
def test_header_aliases(header):
    r = parse_roster(f"{header}\n7,某局\n".encode())
    assert r.get("7").name == "某局"


def test_blank_lines_and_spaces_are_tolerated():
    r = parse_roster("\n代码,名称\n\n 001 , 某某局 \n,,\n002,另一局\n".encode())
    assert [(a.code, a.name) for a in r] == [("001", "某某局"), ("002", "另一局")]


def test_example_roster_has_the_seed_agency():
    from xlsxgen.resources import examples_root

    r = read_roster(examples_root() / "roster.csv")
    assert r.get("130500-001").name == "邢台市人民政府办公室"
    assert len(r) >= 5


def test_duplicate_codes_name_both_rows():
    with pytest.raises(RosterError) as e:
        parse_roster("代码,名称\n001,甲局\n002,乙局\n001,丙局\n".encode(), "r.csv")
    assert "第4行" in str(e.value) and "第2行" in str(e.value) and "001" in str(e.value)
    assert "\n" not in str(e.value)


def test_empty_name_and_code():
    with pytest.raises(RosterError) as e:
        parse_roster("代码,名称\n001,\n,乙局\n".encode())
    msg = str(e.value)
    assert "第2行" in msg and "名称为空" in msg
    assert "第3行" in msg and "代码为空" in msg
    assert "2 处问题" in msg


def test_missing_columns_lists_what_was_found():
    with pytest.raises(RosterError) as e:
        parse_roster("序号,单位\n1,甲局\n".encode())
    msg = str(e.value)
    assert "缺少“代码”列" in msg and "序号、单位" in msg


def test_two_columns_for_one_field():
    with pytest.raises(RosterError, match="两列都表示“代码”"):
        parse_roster("代码,单位代码,名称\n1,2,甲\n".encode())


def test_undecodable_bytes():
    with pytest.raises(RosterError, match="编码无法识别"):
        parse_roster(b"\xff\xff\xff\x00\x81\x30\xff" * 5)


def test_xlsx_instead_of_csv(tmp_path):
    p = tmp_path / "名单.csv"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(RosterError, match="不是 CSV"):
        read_roster(p)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(RosterError, match="找不到名单文件"):
        read_roster(tmp_path / "nope.csv")
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(RosterError, match="空文件"):
        read_roster(tmp_path / "e.csv")
    (tmp_path / "h.csv").write_text("代码,名称\n", encoding="utf-8")
    with pytest.raises(RosterError, match="没有任何单位"):
        read_roster(tmp_path / "h.csv")


def test_file_names_are_recognisable_and_safe():
    r = parse_roster("代码,名称\n001,某某市教育局\n0/2,某:局*\n".encode())
    assert workbook_file_name(2024, r.get("001")) == "2024-001-某某市教育局.xlsx"
    assert workbook_file_name(2024, r.get("0/2")) == "2024-0_2-某_局_.xlsx"


def test_match_file_name():
    r = parse_roster("代码,名称\n001,某某市教育局\n002,某某市教育局机关服务中心\n003,财政局\n".encode())
    assert r.match_file_name("2024-001-某某市教育局.xlsx").code == "001"
    assert r.match_file_name("某某市教育局机关服务中心（修改）.xlsx").code == "002"
    assert r.match_file_name("年报-003.xlsx").code == "003"
    assert r.match_file_name("新建 Microsoft Excel 工作表.xlsx") is None


def test_prefill_pairs_come_from_error_cross_year_equalities(spec2021):
    from xlsxgen.spec.rules import compile_spec

    pairs = prefill_pairs(spec2021)
    assert pairs
    rules = [ru for ru in compile_spec(spec2021).rules if ru.cross_year]
    for this, prev in pairs:
        assert spec2021.table(this[0]).kinds[this[1:]] != "total"
        # each pair is exactly one rule "this == previous.prev" of severity error
        assert any(ru.severity == "error" and ru.node.op == "==" and
                   {(r.table, r.row, r.column, r.previous) for r in ru.refs} == {this + (False,), prev + (True,)}
                   for ru in rules)
    # warnings (e.g. an expression with previous values) are shown as reference, not prefilled
    warn_keys = {(r.table, r.row, r.column) for ru in rules if ru.severity == "warning" for r in ru.refs
                 if not r.previous}
    assert not warn_keys & {p[0] for p in pairs}
