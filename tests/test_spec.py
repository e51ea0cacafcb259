"""The format as data: labels character for character, stable keys, load-time validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import OFFICIAL_FORMAT
from xlsxgen.errors import SpecError
from xlsxgen.spec import load_spec_file
from xlsxgen.workbook.layout import build_layout

# Transcribed by hand from tests/data/official-format-2021.md §3 (checked there by code point).
TABLE3_ROW_PATHS = [
    ["一、本年新收政府信息公开申请数量"],
    ["二、上年结转政府信息公开申请数量"],
    ["三、本年度办理结果", "（一）予以公开"],
    ["三、本年度办理结果", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"],
    ["三、本年度办理结果", "（三）不予公开", "1.属于国家秘密"],
    ["三、本年度办理结果", "（三）不予公开", "2.其他法律行政法规禁止公开"],
    ["三、本年度办理结果", "（三）不予公开", "3.危及“三安全一稳定”"],
    ["三、本年度办理结果", "（三）不予公开", "4.保护第三方合法权益"],
    ["三、本年度办理结果", "（三）不予公开", "5.属于三类内部事务信息"],
    ["三、本年度办理结果", "（三）不予公开", "6.属于四类过程性信息"],
    ["三、本年度办理结果", "（三）不予公开", "7.属于行政执法案卷"],
    ["三、本年度办理结果", "（三）不予公开", "8.属于行政查询事项"],
    ["三、本年度办理结果", "（四）无法提供", "1.本机关不掌握相关政府信息"],
    ["三、本年度办理结果", "（四）无法提供", "2.没有现成信息需要另行制作"],
    ["三、本年度办理结果", "（四）无法提供", "3.补正后申请内容仍不明确"],
    ["三、本年度办理结果", "（五）不予处理", "1.信访举报投诉类申请"],
    ["三、本年度办理结果", "（五）不予处理", "2.重复申请"],
    ["三、本年度办理结果", "（五）不予处理", "3.要求提供公开出版物"],
    ["三、本年度办理结果", "（五）不予处理", "4.无正当理由大量反复申请"],
    ["三、本年度办理结果", "（五）不予处理", "5.要求行政机关确认或重新出具已获取信息"],
    ["三、本年度办理结果", "（六）其他处理", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"],
    ["三、本年度办理结果", "（六）其他处理", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"],
    ["三、本年度办理结果", "（六）其他处理", "3.其他"],
    ["三、本年度办理结果", "（七）总计"],
    ["四、结转下年度继续办理"],
]
TABLE3_ROW_KEYS = [
    "new_received", "carried_over", "granted", "partially_granted", "denied_state_secret",
    "denied_prohibited_by_law", "denied_three_safety_one_stability", "denied_third_party_rights",
    "denied_internal_affairs", "denied_process_info", "denied_enforcement_file", "denied_query_matter",
    "unable_not_held", "unable_needs_creation", "unable_unclear", "rejected_complaint", "rejected_repeat",
    "rejected_publication", "rejected_massive", "rejected_confirm", "other_no_correction", "other_no_fee",
    "other_other", "total_processed", "carried_forward",
]
TABLE3_COLUMNS = [
    (["申请人情况", "自然人"], "natural_person"),
    (["申请人情况", "法人或其他组织", "商业企业"], "commercial_enterprise"),
    (["申请人情况", "法人或其他组织", "科研机构"], "research_institution"),
    (["申请人情况", "法人或其他组织", "社会公益组织"], "social_welfare_org"),
    (["申请人情况", "法人或其他组织", "法律服务机构"], "legal_service_agency"),
    (["申请人情况", "法人或其他组织", "其他"], "other_org"),
    (["申请人情况", "总计"], "total"),
]
TABLE3_CORNER = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
TABLE2_BLOCKS = [
    ("第二十条第（一）项", ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
     [("规章", "rules"), ("行政规范性文件", "normative_documents")]),
    ("第二十条第（五）项", ["信息内容", "本年处理决定数量"], [("行政许可", "licensing")]),
    ("第二十条第（六）项", ["信息内容", "本年处理决定数量"], [("行政处罚", "penalty"), ("行政强制", "coercion")]),
    ("第二十条第（八）项", ["信息内容", "本年收费金额（单位：万元）"], [("行政事业性收费", "fees")]),
]
TABLE4_HEADERS = (
    [["行政复议", x] for x in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")]
    + [["行政诉讼", "未经复议直接起诉", x] for x in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")]
    + [["行政诉讼", "复议后起诉", x] for x in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")]
)
SECTION_HEADINGS = [
    "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项",
]


def test_table3_labels_and_keys_exactly(spec2021):
    t = spec2021.table("applications")
    (block,) = t.blocks
    assert [list(r.header) for r in block.rows] == TABLE3_ROW_PATHS
    assert [r.row for r in block.rows] == TABLE3_ROW_KEYS
    assert [(list(c.header), c.column) for c in block.columns] == TABLE3_COLUMNS
    assert block.corner == (TABLE3_CORNER,)
    assert len(t.cells) == 175


def test_table2_labels_and_keys_exactly(spec2021):
    t = spec2021.table("active_disclosure")
    got = [(b.title, list(b.corner) + [c.header[0] for c in b.columns], [(r.header[0], r.row) for r in b.rows])
           for b in t.blocks]
    assert got == TABLE2_BLOCKS
    assert sorted(t.cells) == sorted([
        ("rules", "issued"), ("rules", "repealed"), ("rules", "in_force"),
        ("normative_documents", "issued"), ("normative_documents", "repealed"), ("normative_documents", "in_force"),
        ("licensing", "decisions"), ("penalty", "decisions"), ("coercion", "decisions"), ("fees", "amount")])
    assert t.kinds[("fees", "amount")] == "amount"


def test_table4_labels_and_keys_exactly(spec2021):
    t = spec2021.table("review_litigation")
    cols = t.blocks[0].columns
    assert [list(c.header) for c in cols] == TABLE4_HEADERS
    assert [a.key for a in t.rows] == ["review", "litigation_direct", "litigation_after_review"]
    assert [a.key for a in t.columns] == ["upheld", "corrected", "other", "pending", "total"]
    assert len(t.cells) == 15


def test_section_headings(spec2021):
    assert [s.heading for s in spec2021.sections] == SECTION_HEADINGS


def test_reference_contains_every_expected_label():
    """The hand transcription above is itself checked against the reference text."""
    text = OFFICIAL_FORMAT.read_text(encoding="utf-8")
    labels = {x for p in TABLE3_ROW_PATHS for x in p} | {x for p, _ in TABLE3_COLUMNS for x in p}
    labels |= {TABLE3_CORNER} | {x for h in TABLE4_HEADERS for x in h} | set(SECTION_HEADINGS)
    for title, heads, rows in TABLE2_BLOCKS:
        labels |= {title, *heads, *(r for r, _ in rows)}
    missing = sorted(label for label in labels if label not in text)
    assert not missing


def test_every_label_of_the_spec_is_an_expected_label(spec2021):
    """No label in the spec that the transcription does not know (a typo would show here)."""
    expected = {x for p in TABLE3_ROW_PATHS for x in p} | {x for p, _ in TABLE3_COLUMNS for x in p}
    expected |= {TABLE3_CORNER} | {x for h in TABLE4_HEADERS for x in h}
    for title, heads, rows in TABLE2_BLOCKS:
        expected |= {title, *heads, *(r for r, _ in rows)}
    for t in spec2021.tables:
        for m in build_layout(t).labels:
            assert m.text in expected, m.text


def test_merged_layout_of_table3_matches_reference(spec2021):
    lay = build_layout(spec2021.table("applications"))
    top = lay.top
    spans = {m.text: (m.first_row - top, m.first_col, m.last_row - top, m.last_col) for m in lay.labels}
    assert spans[TABLE3_CORNER] == (0, 0, 2, 2)
    assert spans["申请人情况"] == (0, 3, 0, 9)
    assert spans["自然人"] == (1, 3, 2, 3)
    assert spans["法人或其他组织"] == (1, 4, 1, 8)
    assert spans["三、本年度办理结果"] == (5, 0, 26, 0)
    assert spans["（三）不予公开"] == (7, 1, 14, 1)
    assert spans["（七）总计"] == (26, 1, 26, 2)  # R26 in the reference grid


def test_totals_and_rules_expand(spec2021):
    from xlsxgen.spec.rules import compile_spec

    c = compile_spec(spec2021)
    balance = [r for r in c.rules if r.id == "applications.balance"]
    assert [r.column for r in balance] == [k for _, k in TABLE3_COLUMNS]
    assert len(c.totals) == 25 + 6 + 3
    assert {r.id for r in c.rules if r.cross_year} == {"cross_year.carried_over", "cross_year.in_force"}


def _broken_copy(tmp_path: Path, spec2021, mutate) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(spec2021.folder, folder)
    doc = yaml.safe_load((folder / "format.yaml").read_text(encoding="utf-8"))
    mutate(doc)
    (folder / "format.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return folder / "format.yaml"


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d["tables"][1]["rows"].append({"key": "new_received", "label": "x"}), "重复"),
    (lambda d: d["tables"][1]["layout"]["blocks"][0]["rows"][0].update(row="nope"), "未在 rows 中声明"),
    (lambda d: d["rules"][0].update(check="new_received.$column + 1"), "比较式"),
    (lambda d: d["rules"][0].update(severity="fatal"), "error 或 warning"),
    (lambda d: d["tables"][0].update(sheet="x" * 40), "31"),
    (lambda d: d.pop("tables"), "缺少必填项"),
    (lambda d: d["totals"][0].update(expr="sum($row.natural_person..nope)"), "没有列键"),
])
def test_invalid_spec_is_refused_with_path(tmp_path, spec2021, mutate, fragment):
    path = _broken_copy(tmp_path, spec2021, mutate)
    with pytest.raises(SpecError) as e:
        load_spec_file(path)
    assert fragment in str(e.value)
    assert str(path) in str(e.value)


def test_circular_totals_are_refused(tmp_path, spec2021):
    def mutate(d):
        d["totals"].append({"id": "loop", "table": "applications", "cell": "new_received.natural_person",
                            "expr": "new_received.total"})

    with pytest.raises(SpecError) as e:
        load_spec_file(_broken_copy(tmp_path, spec2021, mutate))
    assert "循环" in str(e.value)


def test_not_yaml(tmp_path):
    p = tmp_path / "format.yaml"
    p.write_text("tables: [unclosed", encoding="utf-8")
    with pytest.raises(SpecError) as e:
        load_spec_file(p)
    assert "YAML" in str(e.value)


# 2019 trial format (official-format-2021.md §7), transcribed by hand.
TABLE2_BLOCKS_2019 = [
    ("第二十条第（一）项", ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"],
     [("规章", "rules"), ("规范性文件", "normative_documents")]),
    ("第二十条第（五）项", ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
     [("行政许可", "licensing"), ("其他对外管理服务事项", "other_services")]),
    ("第二十条第（六）项", ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
     [("行政处罚", "penalty"), ("行政强制", "coercion")]),
    ("第二十条第（八）项", ["信息内容", "上一年项目数量", "本年增/减"], [("行政事业性收费", "fees")]),
    ("第二十条第（九）项", ["信息内容", "采购项目数量", "采购总金额"], [("政府集中采购", "procurement")]),
]


def test_2019_format_labels():
    from xlsxgen.spec import load_format

    spec = load_format("gov-info-2019")
    t2 = spec.table("active_disclosure")
    got = [(b.title, list(b.corner) + [c.header[0] for c in b.columns], [(r.header[0], r.row) for r in b.rows])
           for b in t2.blocks]
    assert got == TABLE2_BLOCKS_2019
    assert t2.kinds[("licensing", "change")] == "signed_count"
    t3 = spec.table("applications")
    rows = [list(r.header) for r in t3.blocks[0].rows]
    expected = [p for p in TABLE3_ROW_PATHS if "（六）其他处理" not in p]
    expected.insert(20, ["三、本年度办理结果", "（六）其他处理"])
    assert rows == expected
    assert len(t3.cells) == 23 * 7
    assert [list(c.header) for c in spec.table("review_litigation").blocks[0].columns] == TABLE4_HEADERS
    text = OFFICIAL_FORMAT.read_text(encoding="utf-8")
    for title, heads, rws in TABLE2_BLOCKS_2019:
        for label in (title, *heads, *(r for r, _ in rws)):
            assert label in text, label
