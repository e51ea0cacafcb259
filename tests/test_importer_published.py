"""Published reports (issue 15): the corpus against its ground truth, constructed DOCX/PDF/text sources
in several layouts and both format versions, the hard cases, and the real CLI on real files.

The corpus is ``tests/published/corpus`` (copied from ``../shared/reports-dev``: 13 real reports as
HTML and page text, each with a hand-checked JSON). The rule everywhere: a number is either the one
printed, or null with a finding — never a guess, never 0 for a blank.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from importer.published import extract, load_published
from tests.conftest import EXAMPLES, ROOT
from tests.published import build
from tests.published.truth import lint_pairs, truth_inconsistencies

pytest.importorskip("lxml")
pytest.importorskip("pdfplumber")

CORPUS = Path(__file__).resolve().parent / "published" / "corpus"
SOURCES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".html", ".txt"))


def _truth(src: Path) -> dict:
    return json.loads(src.with_suffix(".json").read_text(encoding="utf-8"))


def compare(canonical: dict, truth: dict) -> dict:
    """exact / wrong / missing / invented cells of ``canonical`` against ``truth`` (both canonical shape)."""
    out = {"exact": 0, "wrong": [], "missing": [], "invented": []}
    for t, rows in canonical["tables"].items():
        for rk, cols in rows.items():
            for ck, v in cols.items():
                g = truth["tables"].get(t, {}).get(rk, {}).get(ck)
                if g is None and v is None:
                    out["exact"] += 1
                elif g is None:
                    out["invented"].append((t, rk, ck, v))
                elif v is None:
                    out["missing"].append((t, rk, ck, g))
                elif abs(g - v) < 1e-9:
                    out["exact"] += 1
                else:
                    out["wrong"].append((t, rk, ck, v, g))
    return out


# ------------------------------------------------------------------------------ the corpus


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_corpus_matches_ground_truth(src):
    res = load_published(src)
    assert res.status != "unreadable", res.reason
    truth = _truth(src)
    cmp = compare(res.canonical(), truth)
    assert cmp["wrong"] == [] and cmp["invented"] == []
    # a figure is missing only where the source is ambiguous, and that is reported with its candidates
    ambiguous_rows = {(f.table, f.row) for f in res.findings if f.rule == "extract.ambiguous"}
    assert {(t, r) for t, r, _c, _v in cmp["missing"]} <= ambiguous_rows
    assert lint_pairs(res) == truth_inconsistencies(truth)


def test_corpus_totals_at_least_99_percent_exact():
    exact = total = 0
    for src in SOURCES:
        cmp = compare(extract(src).canonical(), _truth(src))
        exact += cmp["exact"]
        total += cmp["exact"] + len(cmp["wrong"]) + len(cmp["missing"]) + len(cmp["invented"])
    assert exact / total >= 0.99


def test_glued_digits_split_by_identities_and_ambiguity_reported():
    src = CORPUS / "pingtan-jtjsj-2025.txt"
    res = extract(src)
    # '100000010' = 10,0,0,0,0,0,10: only the row total makes that split unique
    assert res.published[("applications", "granted", "natural_person")] == 10
    assert res.provenance[("applications", "granted", "total")]["split"]["by"] in ("row", "table")
    # '1024' = 1|0|24 or 10|2|4: nothing decides, so nothing is taken
    amb = [f for f in res.findings if f.rule == "extract.ambiguous"]
    assert len(amb) == 1 and "1 | 0 | 24" in amb[0].message and "10 | 2 | 4" in amb[0].message
    assert res.published[("active_disclosure", "normative_documents", "in_force")] is None


def test_next_labels_number_is_not_data():
    # '…00000002.其他法律…': the 2 is the number of the next label
    res = extract(CORPUS / "pingtan-gaj-2022.txt")
    assert res.published[("applications", "denied_state_secret", "total")] == 0
    assert res.published[("applications", "other_no_correction", "total")] == 1


def test_blank_stays_blank():
    res = extract(CORPUS / "pingtan-jinjingpq-2024.html")
    key = ("applications", "carried_forward", "commercial_enterprise")
    assert res.published[key] is None
    blank = [f for f in res.findings if f.rule == "extract.blank"]
    assert [(f.table, f.row, f.column) for f in blank] == [key]
    assert blank[0].to_dict()["source"]["kind"] == "html"
    # a table without a 规章 row: null and reported, never 0
    assert res.published[("active_disclosure", "rules", "issued")] is None
    assert any(f.rule == "extract.row_missing" and f.row == "rules" for f in res.findings)


def test_every_number_has_provenance():
    for src in (CORPUS / "pingtan-zrzystj-2023.html", CORPUS / "pingtan-gaj-2024.txt"):
        res = extract(src)
        for key, v in res.published.items():
            if v is not None:
                p = res.provenance[key]
                assert p["kind"] in ("html", "text") and p.get("text") is not None, key
                assert ("row" in p and "col" in p) or "line" in p, key


# ------------------------------------------------------------------------------ constructed sources


@pytest.fixture(scope="module")
def docs():
    from xlsxgen.spec import load_format

    d21 = json.loads((EXAMPLES / "xingtai-2023.json").read_text(encoding="utf-8"))
    d19 = json.loads((EXAMPLES / "example-2020-gov-info-2019.json").read_text(encoding="utf-8"))
    return {"gov-info-2021": (d21, load_format("gov-info-2021")), "gov-info-2019": (d19, load_format("gov-info-2019"))}


def _exact(res, doc):
    cmp = compare(res.canonical(), doc)
    assert cmp["wrong"] == [] and cmp["invented"] == [] and cmp["missing"] == [], cmp
    assert res.format_id == doc["format"] and res.year == doc["year"]
    assert res.agency["name"] == doc["agency"]["name"]


LAYOUTS = ["official", "flat", "split", "text", "borderless"]


@pytest.fixture(scope="module")
def built(docs, tmp_path_factory):
    """Every layout of both example reports as DOCX, built once (python-docx merges are slow)."""
    base = tmp_path_factory.mktemp("docx")
    return {(fid, lay): build.build_docx(docs[fid][0], docs[fid][1], base / f"{fid}-{lay}.docx", layout=lay)
            for fid in docs for lay in LAYOUTS}


@pytest.mark.parametrize("fid", ["gov-info-2021", "gov-info-2019"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_docx_layouts(docs, built, fid, layout):
    doc, spec = docs[fid]
    res = load_published(built[(fid, layout)])
    _exact(res, doc)
    assert [f.rule for f in res.findings] == []  # the example reports are consistent


PDF_CASES = [("gov-info-2021", "official"), ("gov-info-2021", "flat"), ("gov-info-2021", "split"),
             ("gov-info-2021", "text"), ("gov-info-2021", "borderless"), ("gov-info-2019", "official"),
             ("gov-info-2019", "split")]


@pytest.fixture(scope="module")
def pdfs(built, tmp_path_factory):
    if build.SOFFICE is None:
        pytest.skip("LibreOffice is not installed")
    base = tmp_path_factory.mktemp("pdf")
    return dict(zip(PDF_CASES, build.to_pdf([built[c] for c in PDF_CASES], base / "out", base / "profile")))


@pytest.mark.parametrize("case", PDF_CASES, ids=lambda c: "-".join(c))
def test_pdf_from_libreoffice(docs, pdfs, case):
    res = load_published(pdfs[case])
    _exact(res, docs[case[0]][0])
    p = res.provenance[("applications", "new_received", "total")]
    assert p["kind"] == "pdf" and p["page"] >= 1
    if case[1] not in ("text", "borderless"):
        assert "bbox" in p  # read from a ruled table, with the cell's position
    else:  # no ruled table: the page's text lines (labels wrapped around their numbers, too)
        assert p.get("line") and p.get("source") == "text"


def test_glued_text_split_by_identities(docs, tmp_path):
    doc, spec = docs["gov-info-2021"]
    path = tmp_path / "glued.txt"
    path.write_text(build.text_report(doc, spec, sep=""), encoding="utf-8")
    res = extract(path)
    cmp = compare(res.canonical(), doc)
    assert cmp["wrong"] == [] and cmp["invented"] == []
    # 表三 and 表四 have identities: every multi-digit run is split; 表二 has none: '9624' stays null
    assert {(t, r) for t, r, _c, _g in cmp["missing"]} == {("active_disclosure", "normative_documents")}
    amb = [f for f in res.findings if f.rule == "extract.ambiguous"]
    assert len(amb) == 1 and "9 | 6 | 24" in amb[0].message
    assert res.splits["by_identity"] >= 5


def test_dropped_row_shifts_nothing(docs, tmp_path):
    doc, spec = docs["gov-info-2021"]
    dropped = build.drop_row(doc, spec, "applications", "denied_process_info")
    for layout in ("flat", "text"):
        path = build.build_docx(doc, dropped, tmp_path / f"dropped-{layout}.docx", layout=layout)
        res = extract(path)
        cmp = compare(res.canonical(), doc)
        assert cmp["wrong"] == [] and cmp["invented"] == []
        assert {(t, r) for t, r, _c, _g in cmp["missing"]} == {("applications", "denied_process_info")}
        assert any(f.rule == "extract.row_missing" and f.row == "denied_process_info" for f in res.findings)


def test_blank_column_is_null_not_zero(docs, tmp_path):
    doc, spec = docs["gov-info-2021"]
    blanked = build.blank_column(doc, "applications", "research_institution")
    path = build.build_docx(blanked, spec, tmp_path / "blank.docx", layout="official")
    res = load_published(path)
    _exact(res, blanked)
    blanks = [f for f in res.findings if f.rule == "extract.blank"]
    assert len(blanks) == len(spec.table("applications").rows)
    # rules that need an unknown figure are not checked (no false inconsistency from a blank)
    assert not [f for f in res.findings if f.rule in ("total.mismatch", "applications.balance")]


def test_injected_arithmetic_error_is_kept_and_linted(docs, tmp_path):
    doc, spec = docs["gov-info-2021"]
    wrong = build.set_cell(doc, "applications", "granted", "total", 999)
    path = build.build_docx(wrong, spec, tmp_path / "wrong.docx", layout="official")
    res = load_published(path)
    _exact(res, wrong)  # the published number, not a corrected one
    found = {(f.rule, f.row, f.column) for f in res.findings}
    assert ("total.mismatch", "granted", "total") in found
    mism = next(f for f in res.findings if f.rule == "total.mismatch" and f.row == "granted")
    assert mism.actual == 999 and mism.to_dict()["source"]["kind"] == "docx"


def test_inconsistent_glued_row_is_never_guessed(tmp_path):
    # '34' for 一 and '1234' for its row: 1|2|3|4... no split is certain once the total is wrong
    from xlsxgen.spec import load_format

    spec = load_format("gov-info-2021")
    text = build.text_report({"format": spec.id, "agency": {"name": "某某局"}, "year": 2023, "tables": {}}, spec)
    row = spec.table("applications").rows[0]
    label = row.label
    text = text.replace(label, label + "1210000099", 1)  # 12,1,0,0,0,0,99? 1,2,1,...: total never fits
    path = tmp_path / "x.txt"
    path.write_text(text, encoding="utf-8")
    res = extract(path)
    vals = [res.published[("applications", row.key, c.key)] for c in spec.table("applications").columns]
    assert vals == [None] * 7
    assert any(f.rule in ("extract.ambiguous", "extract.unparseable_run") and f.row == row.key
               for f in res.findings)


HTML_SPANS = """<html><head><title>某某局2023年度政府信息公开工作年度报告</title></head><body>
<p>三、收到和处理政府信息公开申请情况<table border=1>
<tr><td colspan=3 rowspan=3>（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）<td colspan=7>申请人情况
<tr><td rowspan=2>自然人<td colspan=5>法人或其他组织<td rowspan=2>总计
<tr><td>商业<br>企业<td>科研<br/>机构<td>社会公益组织<td>法律服务机构<td>其他
<tr><td colspan=3>一、本年新收政府信息公开申请数量<td>5<td>0<td>0<td>0<td>0<td>0<td>5
<tr><td rowspan=3>三、本年度办理结果<td rowspan=3>（六）其他处理<td>1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请
  <td rowspan=3>1<td rowspan=3>0<td rowspan=3>0<td rowspan=3>0<td rowspan=3>0<td rowspan=3>0<td rowspan=3>1
<tr><td>2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请
<tr><td>3.其他
<tr><td colspan=3>多余的一行<td>0<td>0<td>0<td>0<td>0<td>0<td>0
<tr><td colspan=3>四、结转下年度继续办理<td>—<td>/<td><td>0<td>0<td>0<td>0
</table>
"""


def test_html_spans_placeholders_and_broken_markup(tmp_path):
    path = tmp_path / "spans.htm"
    path.write_bytes(HTML_SPANS.encode("gb18030").replace(b"<html>", b'<html><meta charset="gbk">'))
    res = extract(path)
    assert res.status != "unreadable", res.reason
    assert res.agency["name"] == "某某局" and res.year == 2023
    p = res.published
    assert p[("applications", "new_received", "total")] == 5
    # the value cells of （六）1 span 2 and 3: they belong to 1; 2 and 3 are null and reported
    assert p[("applications", "other_no_correction", "natural_person")] == 1
    assert p[("applications", "other_no_fee", "natural_person")] is None
    assert p[("applications", "other_other", "total")] is None
    assert any(f.rule == "extract.spanned" and f.row == "other_no_fee" for f in res.findings)
    # placeholders and blanks: null, reported
    assert p[("applications", "carried_forward", "natural_person")] is None
    assert p[("applications", "carried_forward", "research_institution")] is None
    codes = {(f.rule, f.column) for f in res.findings if f.row == "carried_forward"}
    assert ("extract.placeholder", "natural_person") in codes and ("extract.blank", "research_institution") in codes
    # an extra all-zero row is ignored with a note; the rows after it are not shifted
    assert any(f.rule == "extract.unknown_row" and "多余的一行" in f.message for f in res.findings)
    assert p[("applications", "carried_forward", "other_org")] == 0


# ------------------------------------------------------------------------------ the real CLI


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *map(str, args)], capture_output=True,
                          text=True, encoding="utf-8", cwd=cwd or ROOT, env=env, timeout=120)


def test_cli_extract_stdout_file_and_folder(tmp_path):
    src = CORPUS / "pingtan-zrzystj-2023.html"
    r = run_cli("extract", src)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["source"]["kind"] == "published" and doc["source"]["type"] == "html"
    assert doc["tables"]["applications"]["partially_granted"]["total"] == 8  # the published total, kept
    assert doc["provenance"]["applications.partially_granted.total"]["kind"] == "html"
    r = run_cli("extract", src, "-o", tmp_path / "one.json")
    assert r.returncode == 0 and json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))["year"] == 2023
    srcs = [CORPUS / "pingtan-gaj-2022.txt", CORPUS / "pingtan-jtjsj-2025.txt"]
    r = run_cli("extract", *srcs, "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pingtan-gaj-2022.json", "pingtan-jtjsj-2025.json"]
    assert "1024" in r.stderr  # the ambiguity is reported on standard error
    # an extracted JSON validates as canonical JSON (source/provenance are known keys)
    r = run_cli("validate", tmp_path / "out" / "pingtan-gaj-2022.json")
    assert "json.unknown_key" not in r.stdout and "未知字段" not in r.stdout


def test_cli_validate_published_sources():
    bad = CORPUS / "pingtan-zrzystj-2023.html"
    good = CORPUS / "pingtan-gaj-2022.txt"
    r = run_cli("validate", good)
    assert r.returncode == 0, r.stdout
    r = run_cli("validate", bad, good, "--json")
    assert r.returncode == 1
    files = json.loads(r.stdout)["files"]
    rules = {f["rule"] for f in files[0]["findings"]}
    assert {"total.mismatch", "applications.balance"} <= rules
    src = next(f for f in files[0]["findings"] if f["rule"] == "total.mismatch")["source"]
    assert src["kind"] == "html" and src["table"] == 2
    # a previous year given as a published report: cross-year rules run
    r = run_cli("validate", CORPUS / "pingtan-gaj-2024.txt", "--previous", CORPUS / "pingtan-gaj-2022.txt")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr


BAD_INPUTS = [
    ("missing.html", None),
    ("fake.pdf", b"not a pdf at all"),
    ("notzip.docx", b"just text"),
    ("binary.txt", bytes(range(256)) * 4),
    ("empty.html", b""),
    ("notareport.txt", "这是一段与年报无关的文字。".encode()),
    ("broken.docx", b"PK\x03\x04garbage"),
]


def test_cli_bad_input_one_line_each(tmp_path):
    paths = []
    for name, data in BAD_INPUTS:
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        paths.append(path)
    good = CORPUS / "pingtan-gaj-2022.txt"
    r = run_cli("extract", *paths, good, "-o", tmp_path / "out")
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("错误：")]
    assert len(errors) == len(paths)  # one Chinese line per bad file, naming it
    for (name, _d), line in zip(BAD_INPUTS, errors):
        assert name in line, line
    assert (tmp_path / "out" / "pingtan-gaj-2022.json").exists()  # the good one is still extracted
    r = run_cli("validate", *paths)
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
    assert r.stdout.count("无法读取") >= len(paths)


def test_cli_extract_usage_errors(tmp_path):
    r = run_cli("extract", CORPUS / "pingtan-gaj-2022.txt", CORPUS / "pingtan-gaj-2024.txt")
    assert r.returncode == 2 and "-o" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("extract", tmp_path / "x.xlsx")
    assert r.returncode == 2 and "export" in r.stderr


def test_group_printed_as_one_row(docs, tmp_path):
    doc, spec = docs["gov-info-2021"]
    t = spec.table("applications")
    group_rows = [r for r in t.rows if r.label.startswith(t.rows[-5].label.split(" ")[0])]  # the rows of （六）
    group = group_rows[0].label.split(" ")[0]
    text = build.text_report(doc, spec, sep=" ")
    i = text.index(group)
    j = text.index(t.row("total_processed").label.split(" ")[-1].replace("三、本年度办理结果", ""), i)
    text = text[:i] + group + "0 0 0 0 0 0 0" + text[j:]
    path = tmp_path / "group.txt"
    path.write_text(text, encoding="utf-8")
    res = extract(path)
    for r in group_rows:
        assert all(res.published[("applications", r.key, c.key)] is None for c in t.columns)
    assert any(f.rule == "extract.group_row" for f in res.findings)
    cmp = compare(res.canonical(), doc)
    assert cmp["wrong"] == [] and cmp["invented"] == []


# ------------------------------------------------------------------------------ every extract.* kind


@pytest.mark.parametrize("name,data,code", [
    ("report.xlsx.bak", b"x", "extract.unsupported"),
    ("fake.pdf", b"not a pdf", "extract.bad_file"),
    ("broken.docx", b"PK\x03\x04garbage", "extract.bad_file"),
    ("prose.txt", "只是一段文字，没有统计表。".encode(), "extract.no_tables"),
])
def test_unreadable_kinds(tmp_path, name, data, code):
    path = tmp_path / name
    path.write_bytes(data)
    res = extract(path)
    assert res.status == "unreadable" and res.findings[0].rule == code
    assert res.reason and "\n" not in res.reason


def test_missing_library_kind(tmp_path, monkeypatch):
    import importer.published as pub

    monkeypatch.setattr(pub, "_installed", lambda module: False)
    path = CORPUS / "pingtan-zrzystj-2023.html"
    res = extract(path)
    assert res.status == "unreadable" and res.findings[0].rule == "extract.missing_library"
    assert "xlsxgen[published]" in res.findings[0].fix


def test_identity_kinds(docs, tmp_path):
    doc, spec = docs["gov-info-2021"]
    # no title at all, a year in the file name only
    path = build.build_docx(doc, spec, tmp_path / "report-2023.docx", layout="flat", title="")
    res = extract(path)
    codes = [f.rule for f in res.findings]
    assert "extract.no_agency" in codes and "extract.year_from_name" in codes and res.year == 2023
    path = build.build_docx(doc, spec, tmp_path / "report.docx", layout="flat", title="")
    assert "extract.no_year" in [f.rule for f in extract(path).findings]
    # --agency / --year given: nothing to say
    res = extract(path, agency="某某局", year=2023)
    assert not {"extract.no_agency", "extract.no_year"} & {f.rule for f in res.findings}


def test_table_and_cell_kinds(docs, tmp_path):
    doc, spec = docs["gov-info-2021"]
    text = build.text_report(doc, spec, sep=" ")
    last = spec.tables[-1]
    cut = text[: text.index(last.heading)] + "五、存在的主要问题及改进情况 无。\n"  # table 四 not published
    path = tmp_path / "cut.txt"
    path.write_text(cut, encoding="utf-8")
    res = extract(path)
    assert any(f.rule == "extract.table_missing" and f.table == last.key for f in res.findings)
    assert all(res.published[(last.key, r, c)] is None for r, c in last.cells)


HTML_ODD = """<html><head><title>某某局2023年度政府信息公开工作年度报告</title></head><body>
<table>
<tr><td>信息内容<td>本年制发件数<td>本年废止件数<td>备注
<tr><td>规章<td>1<td>0<td>
<tr><td>行政规范性文件<td>约2<td>0<td>
<tr><td>规章<td>9<td>0<td>
</table>
<p>四、政府信息公开行政复议、行政诉讼情况</p>
<table><tr><td>行政复议<td>1<td>0<td>0<td>0<td>1
<tr><td>行政诉讼（复议后起诉）<td>1<td>1</table>
<table>
<tr><td>自然人<td>商业企业<td>科研机构<td>社会公益组织<td>法律服务机构<td>其他<td>总计
<tr><td>一、本年新收政府信息公开申请数量<td>1<td>0<td>0<td>0<td>0<td>0<td>1
<tr><td>不掌握相关政府信息<td>2<td>0<td>0<td>0<td>0<td>0<td>2
<tr><td>四、结转下年度继续办理<td>0<td>0
</table>
"""


def test_odd_html_kinds(tmp_path):
    path = tmp_path / "odd.html"
    path.write_text(HTML_ODD, encoding="utf-8")
    res = extract(path)
    codes = {f.rule for f in res.findings}
    p = res.published
    # '约2' is not a number: null
    assert "extract.unparseable" in codes
    assert p[("active_disclosure", "normative_documents", "issued")] is None
    assert p[("active_disclosure", "normative_documents", "repealed")] == 0
    # a second, different 规章 row: the first reading is kept, the second reported
    assert "extract.duplicate" in codes and p[("active_disclosure", "rules", "issued")] == 1
    # no 现行有效件数 column: that cell is missing, not taken from the 备注 column
    assert "extract.cell_missing" in codes and p[("active_disclosure", "rules", "in_force")] is None
    # a header row without the corner cell: values are read after the label, never shifted by one
    assert p[("applications", "new_received", "natural_person")] == 1
    assert p[("applications", "new_received", "commercial_enterprise")] == 0
    # a label printed without its qualifier, matched because no other row fits
    assert "extract.label_variant" in codes
    assert p[("applications", "unable_not_held", "natural_person")] == 2
    # a row without column headers whose cells do not fit its columns: not read by position
    assert "extract.columns_unknown" in codes
    # a row with fewer cells than the header: the cells it has, the rest missing
    assert p[("applications", "carried_forward", "commercial_enterprise")] == 0
    assert p[("applications", "carried_forward", "total")] is None
    assert all(p[("review_litigation", "litigation_after_review", c)] is None
               for c in ("upheld", "corrected", "other", "pending", "total"))
    assert p[("review_litigation", "review", "total")] == 1


def test_label_in_prose_after_the_table_is_not_a_row(tmp_path):
    # 海坛 2025 has no 规章 row; a sentence after the table that names 规章 with a number must not fill it
    src = (CORPUS / "pingtan-haitanpq-2025.txt").read_text(encoding="utf-8")
    head = "第二十条第（八）项信息内容本年收费金额（单位：万元）行政事业性收费0"
    assert head in src
    path = tmp_path / "prose.txt"
    path.write_text(src.replace(head, head + "本年度清理规章2件，废止1件。"), encoding="utf-8")
    res = extract(path)
    assert res.published[("active_disclosure", "rules", "issued")] is None
    assert any(f.rule == "extract.row_missing" and f.row == "rules" for f in res.findings)
    cmp = compare(res.canonical(), _truth(CORPUS / "pingtan-haitanpq-2025.txt"))
    assert cmp["wrong"] == [] and cmp["invented"] == [] and cmp["missing"] == []


def test_previous_year_published_unknowns_are_not_zero():
    from importer.published import lint

    prev = extract(CORPUS / "pingtan-jtjsj-2024.html")
    cur = extract(CORPUS / "pingtan-jtjsj-2025.txt")
    key_prev = ("applications", "carried_forward", "natural_person")
    key_cur = ("applications", "carried_over", "natural_person")
    cur.published[key_cur] = 5  # would contradict last year's 结转 if that were read as 0
    cur.submission.values[key_cur] = 5
    prev.published[key_prev] = None
    lint(cur, prev)
    assert not [f for f in cur.findings if f.rule == "cross_year.carried_over" and f.column == "natural_person"]
    cur2 = extract(CORPUS / "pingtan-jtjsj-2025.txt")
    cur2.published[key_cur] = 5
    cur2.submission.values[key_cur] = 5
    lint(cur2, extract(CORPUS / "pingtan-jtjsj-2024.html"))
    assert [f for f in cur2.findings if f.rule == "cross_year.carried_over" and f.column == "natural_person"]


def test_one_html_table_holding_all_three_tables(tmp_path):
    import re

    src = (CORPUS / "pingtan-zrzystj-2023.html").read_text(encoding="utf-8")
    i, j = src.index("<table"), src.rindex("</table>")
    body = re.sub(r"</tbody></table>.*?<table[^>]*><tbody>", "", src[i:j], flags=re.S)  # headings between go too
    path = tmp_path / "one-table-2023.html"
    path.write_text(src[:i] + body + src[j:], encoding="utf-8")
    res = extract(path)
    cmp = compare(res.canonical(), _truth(CORPUS / "pingtan-zrzystj-2023.html"))
    assert cmp["wrong"] == [] and cmp["invented"] == [] and cmp["missing"] == []
    assert not [f for f in res.findings if f.rule == "extract.unknown_row"]


def test_previous_year_hints_but_never_fills_an_ambiguous_split():
    prev = load_published(CORPUS / "pingtan-jtjsj-2024.html")
    res = load_published(CORPUS / "pingtan-jtjsj-2025.txt", previous=prev)
    hints = [f for f in res.findings if f.rule == "extract.previous_fits"]
    assert len(hints) == 1 and "1 | 0 | 24" in hints[0].message  # 23 in force last year + 1 issued - 0
    assert res.published[("active_disclosure", "normative_documents", "in_force")] is None
    assert res.canonical()["tables"]["active_disclosure"]["normative_documents"]["issued"] is None


# ------------------------------------------------------------------------------ extracted JSON, validated again

# findings about reading the source itself (a split, a label, where the year came from): the JSON records
# the outcome (null, provenance), not the reading, so only `validate SOURCE` has them
READING_ONLY = ("extract.",)
SAID_AGAIN = ("extract.no_agency", "extract.no_year")  # the JSON has no agency / year either: said again


def _lint_findings(findings: list[dict]) -> list[dict]:
    return [f for f in findings if not f["rule"].startswith(READING_ONLY) or f["rule"] in SAID_AGAIN]


@pytest.mark.parametrize("name", ["pingtan-haitanpq-2025.txt", "pingtan-scjgj-2021.txt",
                                  "pingtan-jinjingpq-2024.html"])
def test_extracted_json_validates_like_the_source(tmp_path, name):
    """extract → JSON → validate: the nulls stay unknown (no blank to fill in, not 0 in any total), and the
    findings are those of validating the report itself — same rules, messages, figures and places."""
    src = CORPUS / name
    out = tmp_path / "r.json"
    r = run_cli("extract", src, "-o", out)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    nulls = [(t, rk, ck) for t, rows in doc["tables"].items() for rk, cols in rows.items()
             for ck, v in cols.items() if v is None]
    assert nulls  # the case: a report with figures it does not give
    direct = run_cli("validate", src, "--json")
    again = run_cli("validate", out, "--json")
    assert direct.returncode == again.returncode, (direct.stdout, again.stdout)
    f_direct = json.loads(direct.stdout)["files"][0]
    f_again = json.loads(again.stdout)["files"][0]
    assert f_again["status"] == f_direct["status"]
    assert f_again["findings"] == _lint_findings(f_direct["findings"])
    assert not [f for f in f_again["findings"] if f["rule"] == "value.blank"]
    # and it is the same data: nulls kept, the totals as published
    assert f_again["data"]["tables"] == doc["tables"] == f_direct["data"]["tables"]


def test_extracted_json_null_is_not_counted_as_zero(tmp_path):
    """A part of a total that the JSON leaves null is unknown: the total is not checked against the other
    parts as if it were 0 (it would not add up), nor is it a blank for the agency to fill in."""
    from importer import load_source

    doc = extract(CORPUS / "pingtan-gaj-2022.txt").canonical()
    row = doc["tables"]["applications"]["new_received"]
    part = next(ck for ck, v in row.items() if ck != "total" and v)  # a part that is not 0
    row[part] = None
    doc["narrative"] = {k: None for k in doc["narrative"]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    res = load_source(path)
    assert res.published[("applications", "new_received", part)] is None
    assert ("applications", "new_received", part) not in res.submission.values
    assert not [f for f in res.findings if f.rule in ("value.blank", "total.mismatch")]
    assert res.canonical()["tables"]["applications"]["new_received"][part] is None
    # the same file without the mark of a published source is an agency's data: the blank counts as 0
    del doc["source"]
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    res = load_source(path)
    rules = {f.rule for f in res.findings}
    assert "value.blank" in rules and "total.mismatch" in rules
