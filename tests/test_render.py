"""The report renderer: statutory tables, headings, generated sentences, placeholders,
templates, DOCX structure, and the ``render`` command."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import SEED_REPORT_TEXT, all_format_ids, example_doc, example_paths
from xlsxgen.cli import cli
from xlsxgen.data import from_canonical_trusted
from xlsxgen.errors import SpecError
from xlsxgen.render import TemplateError, render_report
from xlsxgen.render.filters import cn, num, pct
from xlsxgen.workbook.layout import TABLE_TOP, build_layout

ROOT = Path(__file__).resolve().parent.parent
SEED_JSON = ROOT / "examples" / "xingtai-2023.json"


# ---------------------------------------------------------------------------- helpers


def _doc(seed_doc, **changes):
    d = copy.deepcopy(seed_doc)
    for k, v in changes.items():
        d[k] = v
    return d


def _render(spec, doc, fmt="html", previous=None, templates_dir=None, **kw):
    from xlsxgen.spec import load_format

    sub = from_canonical_trusted(spec, doc)
    prev = from_canonical_trusted(load_format(previous["format"]), previous) if previous is not None else None
    return render_report(spec, sub, fmt, previous=prev, templates_dir=templates_dir, **kw)


def _without_figures_in_texts(doc):
    """``doc`` whose topic texts state no figures, so that every generated sentence is written
    (a sentence whose figures the agency's own text already states is left out)."""
    d = copy.deepcopy(doc)
    for key in ("overview_active", "overview_application"):
        d["narrative"][key] = re.sub(r"\d", "", d["narrative"][key])
    return d


def _fmt(v) -> str:
    """How the report must print a figure: 107, 0.35 (no trailing zeros)."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int):
        return str(v)
    return f"{v:.4f}".rstrip("0").rstrip(".")


class _Page(HTMLParser):
    """Tables (rows of cells), headings and generated sentences of a rendered page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[dict]]] = {}
        self.headings: list[tuple[str, str]] = []
        self.generated: list[dict] = []
        self.marks: list[str] = []
        self._table = None
        self._cell = None
        self._heading = None
        self._gen = None
        self._gen_depth = 0
        self._mark = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = []
            self.tables[a.get("data-table")] = self._table
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = {
                "tag": tag,
                "rowspan": int(a.get("rowspan", 1)),
                "colspan": int(a.get("colspan", 1)),
                "text": "",
                "data_cell": a.get("data-cell"),
            }
            self._table[-1].append(self._cell)
        elif tag in ("h1", "h2", "h3"):
            self._heading = [tag, ""]
        elif tag == "span":
            if self._gen is not None:
                self._gen_depth += 1
            elif "generated" in (a.get("class") or "").split():
                self._gen = {"text": "", "cells": a.get("data-cells", "").split()}
                self._gen_depth = 1
        elif tag == "mark":
            self._mark = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th"):
            self._cell = None
        elif tag in ("h1", "h2", "h3") and self._heading:
            self.headings.append(tuple(self._heading))
            self._heading = None
        elif tag == "span" and self._gen is not None:
            self._gen_depth -= 1
            if self._gen_depth == 0:
                self.generated.append(self._gen)
                self._gen = None
        elif tag == "mark" and self._mark is not None:
            self.marks.append(self._mark)
            self._mark = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._heading is not None:
            self._heading[1] += data
        if self._gen is not None:
            self._gen["text"] += data
        if self._mark is not None:
            self._mark += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _grid(rows):
    """Resolve rowspan/colspan: {(row, col): cell}, each cell gets its 'origin'."""
    grid = {}
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in grid:
                c += 1
            cell["origin"] = (r, c)
            for dr in range(cell["rowspan"]):
                for dc in range(cell["colspan"]):
                    assert (r + dr, c + dc) not in grid, f"overlapping cells at {(r + dr, c + dc)}"
                    grid[(r + dr, c + dc)] = cell
            c += cell["colspan"]
    return grid


def _generated_text(page) -> str:
    return "".join(g["text"] for g in page.generated)


@pytest.fixture(scope="module")
def seed_html(spec2021, seed_doc):
    html, warnings = _render(spec2021, seed_doc, "html")
    return html, warnings


class Case:
    """An installed format with its example report (examples/), rendered once as HTML."""

    def __init__(self, fid):
        from xlsxgen.spec import load_format

        self.spec = load_format(fid)
        self.doc = example_doc(fid)
        self.html, self.warnings = _render(self.spec, self.doc, "html")

    def __repr__(self):
        return self.spec.id


@pytest.fixture(scope="module", params=all_format_ids())
def case(request):
    """Every installed format, each with its example report: the suites below run for each version."""
    return Case(request.param)


def _previous_of(doc):
    """A consistent report of the year before ``doc`` whose 结转下年度 is ``doc``'s 上年结转.

    Every input of table 三 is zero except: new applications as in ``doc`` (the natural
    person's lowered by 25), granted = new − carried forward.
    """
    prev = copy.deepcopy(doc)
    prev["year"] = doc["year"] - 1
    ap = prev["tables"]["applications"]
    cur = doc["tables"]["applications"]
    for col in list(ap["new_received"]):
        for row in ap:
            ap[row][col] = 0
        ap["carried_forward"][col] = cur["carried_over"][col]
    for col in list(ap["new_received"]):
        if col != "total":
            ap["new_received"][col] = cur["new_received"][col]
    ap["new_received"]["natural_person"] = cur["new_received"]["natural_person"] - 25
    for col in list(ap["new_received"]):
        if col != "total":
            ap["granted"][col] = ap["new_received"][col] - ap["carried_forward"][col]
            assert ap["granted"][col] >= 0
    return prev


@pytest.fixture(scope="module")
def previous_doc(seed_doc):
    """A consistent 2022 report whose 结转下年度 is the seed's 上年结转 (new applications: 200)."""
    return _previous_of(seed_doc)


# ---------------------------------------------------------------------------- HTML: the statutory tables


def test_html_tables_reproduce_every_statutory_cell(case):
    spec2021, seed_doc = case.spec, case.doc  # every installed format (names kept from the 2021-only suite)
    page = _parse(case.html)
    assert set(page.tables) == {t.key for t in spec2021.tables}
    for table in spec2021.tables:
        layout = build_layout(table)
        rows = page.tables[table.key]
        grid = _grid(rows)
        # every data cell at its official position, with the submitted figure
        for d in layout.cells:
            pos = (d.row - TABLE_TOP, d.col)
            cell = grid[pos]
            assert cell["origin"] == pos, (table.key, d.key)
            assert cell["tag"] == "td" and cell["colspan"] == d.span and cell["rowspan"] == 1
            assert cell["data_cell"] == f"{d.row_key}.{d.column_key}"
            expected = seed_doc["tables"][table.key][d.row_key][d.column_key]
            assert cell["text"] == _fmt(expected), (table.key, d.key)
        # every label with its official merge
        for m in layout.labels:
            pos = (m.first_row - TABLE_TOP, m.first_col)
            cell = grid[pos]
            assert cell["origin"] == pos and cell["tag"] == "th", (table.key, m.text)
            assert cell["text"] == m.text
            assert (cell["rowspan"], cell["colspan"]) == (m.last_row - m.first_row + 1, m.last_col - m.first_col + 1)
        # nothing else in the table, and the data cells in official reading order
        assert sum(len(r) for r in rows) == len(layout.cells) + len(layout.labels)
        in_order = [c["data_cell"] for r in rows for c in r if c["tag"] == "td"]
        assert in_order == [f"{d.row_key}.{d.column_key}" for d in layout.cells]


def test_html_tables_agree_with_the_published_report(spec2021, seed_html):
    """Rows of the published tables (PDF text of the seed) against the rendered tables."""

    def norm(s):
        s = re.sub(r"\s+", "", s)
        return s.replace("(", "（").replace(")", "）").replace(",", "，")

    published = []  # (label text, numbers)
    for line in SEED_REPORT_TEXT.read_text(encoding="utf-8").splitlines():
        tokens = [t for t in line.split("\t")]
        nums = [t for t in tokens if re.fullmatch(r"\s*\d+(\.\d+)?\s*", t)]
        label = norm("".join(t for t in tokens if t not in nums))
        if nums:
            published.append((label, [n.strip() for n in nums]))
    page = _parse(seed_html[0])
    checked = 0
    for key in ("active_disclosure", "applications"):
        table = spec2021.table(key)
        grid = _grid(page.tables[key])
        layout = build_layout(table)
        leaf = {}
        for block in table.blocks:
            for hr in block.rows:
                if hr.row:
                    leaf[hr.row] = norm(hr.header[-1])
        for rk, text in leaf.items():
            ours = [grid[(d.row - TABLE_TOP, d.col)]["text"] for d in layout.cells if d.row_key == rk]
            matches = [n for label, n in published if label.endswith(text)]
            assert ours in matches, (key, rk, ours, matches)
            checked += 1
    # table 四: the PDF text kept the first ten figures only (see examples/README.md)
    grid = _grid(page.tables["review_litigation"])
    ours = [grid[(d.row - TABLE_TOP, d.col)]["text"] for d in build_layout(spec2021.table("review_litigation")).cells]
    assert any(n == ours[:10] for label, n in published if label == "" and len(n) == 10)
    assert checked == 6 + 25


def test_amounts_print_without_trailing_zeros(case):
    doc = copy.deepcopy(case.doc)
    kinds = {(t.key, rk, ck): t.kinds[(rk, ck)] for t in case.spec.tables for rk, ck in t.input_cells()}
    amount = next(k for k, kind in kinds.items() if kind == "amount")
    count = next(k for k, kind in kinds.items() if kind == "count" and k[0] == amount[0])
    doc["tables"][amount[0]][amount[1]][amount[2]] = 12.3400
    doc["tables"][count[0]][count[1]][count[2]] = 3.0
    page = _parse(_render(case.spec, doc)[0])
    cells = {c["data_cell"]: c["text"] for r in page.tables[amount[0]] for c in r if c["tag"] == "td"}
    assert cells[f"{amount[1]}.{amount[2]}"] == "12.34"
    assert cells[f"{count[1]}.{count[2]}"] == "3"


# ---------------------------------------------------------------------------- HTML: outline and sentences


def test_title_and_section_headings_come_from_the_spec(case):
    spec, doc = case.spec, case.doc
    page = _parse(case.html)
    title = spec.report_title.replace("{agency}", doc["agency"]["name"]).replace("{year}", str(doc["year"]))
    assert [t for tag, t in page.headings if tag == "h1"] == [title]
    assert [t for tag, t in page.headings if tag == "h2"] == [s.heading for s in spec.sections]
    assert f"{doc['year']}年1月1日至12月31日" in case.html
    assert f"《{spec.title}》（{spec.basis}）" in case.html  # the opening names the format's own basis


def test_generated_sentences_state_the_example_figures(case):
    seed_doc = _without_figures_in_texts(case.doc)
    html, warnings = _render(case.spec, seed_doc, "html", options={"extra_figures": True})
    page = _parse(html)
    text = _generated_text(page)
    ap = seed_doc["tables"]["applications"]
    rv = seed_doc["tables"]["review_litigation"]["review"]
    for phrase in (
        f"新收政府信息公开申请{ap['new_received']['total']}件",
        f"上年结转{ap['carried_over']['total']}件",
        f"办结{ap['total_processed']['total']}件",
        f"结转下年度{ap['carried_forward']['total']}件",
        f"行政复议{rv['total']}件",
        f"结果维持{rv['upheld']}件",
        f"尚未审结{rv['pending']}件",
    ):
        assert phrase in text, phrase
    share = ap["granted"]["total"] / ap["total_processed"]["total"] * 100
    assert f"予以公开{ap['granted']['total']}件（占{round(share, 1):g}%）" in text
    # each sentence names the cells it used, and they are real cells
    first = next(g for g in page.generated if "结转下年度" in g["text"])
    assert {"applications.new_received.total", "applications.carried_forward.total"} <= set(first["cells"])
    assert "<!-- [1] 来源：" in html
    assert warnings == [] and case.warnings == []  # the example is complete and valid
    # every source named by a sentence is a cell of the format
    cells = {f"{t.key}.{rk}.{ck}" for t in case.spec.tables for rk, ck in t.cells}
    used = {c for g in page.generated for c in g["cells"]}
    assert used and used <= cells | {f"narrative.{f.key}" for f in case.spec.narrative_fields}


def test_generated_sentences_agree_with_the_seed_prose(spec2021, seed_doc, seed_html):
    """Where the agency's own prose restates the tables, the generated sentences say the same;
    the sentence whose every figure the prose states is left out of the draft (told once)."""
    prose = seed_doc["narrative"]["overview_application"]
    assert "行政复议" not in _generated_text(_parse(seed_html[0]))  # the seed's prose tells it
    text = _generated_text(_parse(_render(spec2021, _without_figures_in_texts(seed_doc))[0]))

    def first(pattern, s):
        m = re.search(pattern, s)
        assert m, pattern
        return m.group(1)

    assert first(r"申请\s*(\d+)\s*件", prose) == first(r"新收政府信息公开申请(\d+)件", text)
    assert first(r"行政复议\s*(\d+)\s*件", prose) == first(r"行政复议(\d+)件", text)
    assert first(r"行政诉讼\s*(\d+)\s*件", prose) == first(r"行政诉讼(\d+)件", text)
    assert first(r"行政复议结果维持\s*(\d+)\s*件", prose) == first(r"行政复议\d+件，其中结果维持(\d+)件", text)
    assert first(r"行政诉讼结果维持\s*(\d+)\s*件", prose) == first(r"行政诉讼\d+件，其中结果维持(\d+)件", text)
    # the seed's 六 says no fee was collected, and the data agree: no contradicting sentence
    assert "未收取信息处理费" in seed_doc["narrative"]["other_matters"]
    assert "实际收取信息处理费" not in seed_html[0]


def test_year_over_year_sentence_with_previous(case):
    spec2021, seed_doc, previous_doc = case.spec, case.doc, _previous_of(case.doc)
    html, warnings = _render(spec2021, seed_doc, "html", previous=previous_doc)
    page = _parse(html)
    cur = seed_doc["tables"]["applications"]["new_received"]["total"]
    prev = from_canonical_trusted(spec2021, previous_doc).value("applications", "new_received", "total")
    assert prev == cur - 25  # totals are recomputed on loading
    rate = (cur - prev) / prev * 100
    yoy = next(g for g in page.generated if "同比" in g["text"])
    assert f"同比增长{round(rate, 1):g}%" in yoy["text"]
    assert "previous.applications.new_received.total" in yoy["cells"]
    assert not any("上年结转" in w for w in warnings)  # the cross-year rule holds
    # without --previous there is no 同比 sentence
    assert "同比" not in _generated_text(_parse(_render(spec2021, seed_doc)[0]))


def test_cross_year_mismatch_blocks_the_sentence(case):
    spec2021, seed_doc = case.spec, _without_figures_in_texts(case.doc)
    prev = _previous_of(seed_doc)
    html, warnings = _render(spec2021, seed_doc, "html", previous=prev)
    carried = f"上年结转{seed_doc['tables']['applications']['carried_over']['total']}件"
    assert carried in _generated_text(_parse(html)) and not any(w.startswith("校验错误") for w in warnings)
    ap = prev["tables"]["applications"]
    ap["carried_forward"]["natural_person"] += 1
    ap["granted"]["natural_person"] -= 1
    html, warnings = _render(spec2021, seed_doc, "html", previous=prev)
    assert any(w.startswith("校验错误") and "跨年度" in w for w in warnings)
    text = _generated_text(_parse(html))
    assert carried not in text
    assert "未通过校验" in html


@pytest.mark.parametrize(("change", "wording"), [(-3, "本年减少3项"), (5, "本年增加5项"), (0, "本年无增减")])
def test_2019_sentences_follow_its_own_table_two(change, wording):
    """The trial format's table 二 (新制作/新公开/对外公开总数量; 上一年项目数量 + 本年增/减; 政府集中采购)."""
    from xlsxgen.spec import load_format

    spec = load_format("gov-info-2019")
    doc = copy.deepcopy(example_doc(spec.id))
    a = doc["tables"]["active_disclosure"]
    a["licensing"]["change"] = change
    html, warnings = _render(spec, doc, "html")
    assert warnings == []
    text = _generated_text(_parse(html))
    assert f"行政许可事项上一年{a['licensing']['previous_items']}项、{wording}" in text
    nd = a["normative_documents"]
    assert f"新制作规范性文件{nd['new_made']}件" in text and f"新公开规范性文件{nd['new_published']}件" in text
    assert f"对外公开规章{a['rules']['total_published']}件、规范性文件{nd['total_published']}件" in text
    pr = a["procurement"]
    assert f"政府集中采购项目{pr['procurement_items']}个，采购总金额{_fmt(pr['procurement_amount'])}元" in text
    assert f"行政许可决定{a['licensing']['decisions']}件" in text
    # nothing of the 2021 wording: its table 二 columns, the fee amount in 万元, the fee sentence of 六
    for word in ("制发", "废止", "现行有效", "万元"):
        assert word not in text, word
    assert "信息处理费" not in html
    a["procurement"] = {"procurement_items": 0, "procurement_amount": 0}
    assert "本年度无政府集中采购项目" in _generated_text(_parse(_render(spec, doc, "html")[0]))


def test_workbook_source_renders_like_its_json(case, tmp_path):
    """A filled workbook of either version is recognised by the importer and renders as its JSON does."""
    from xlsxgen.workbook.writer import build_workbook

    sub = from_canonical_trusted(case.spec, case.doc)
    path = tmp_path / "filled.xlsx"
    path.write_bytes(build_workbook(case.spec, year=sub.year, agency_name=sub.agency_name,
                                    agency_code=sub.agency_code, data=sub))
    result = CliRunner().invoke(cli, ["render", str(path), "--format", "html"])
    assert result.exit_code == 0, result.output
    page, expected = _parse(result.stdout), _parse(case.html)
    assert page.tables == expected.tables and page.headings == expected.headings
    assert [g["text"] for g in page.generated] == [g["text"] for g in expected.generated]


def _cross_version_pair(seed_doc):
    """Last year in the 2019 trial format (the 2020 example); this year the seed's figures in 2021."""
    prev = example_doc("gov-info-2019")
    cur = copy.deepcopy(seed_doc)
    cur["year"], cur["agency"] = prev["year"] + 1, prev["agency"]
    assert cur["tables"]["applications"]["carried_over"] == prev["tables"]["applications"]["carried_forward"]
    return prev, cur


def test_previous_year_in_another_format_version(spec2021, seed_doc, tmp_path):
    """同比 and cross-year checks use what both versions have; what last year's format lacks is a placeholder."""
    prev, cur = _cross_version_pair(seed_doc)
    html, warnings = _render(spec2021, cur, "html", previous=prev)
    page = _parse(html)
    yoy = next(g for g in page.generated if "同比" in g["text"])
    assert f"（上年{prev['tables']['applications']['new_received']['total']}件）" in yoy["text"]
    assert f"（上年{prev['tables']['applications']['total_processed']['total']}件）" in yoy["text"]
    assert "previous.applications.total_processed.total" in yoy["cells"]
    in_force = next(d for d in spec2021.rules if d.id == "cross_year.in_force")
    carried = next(d for d in spec2021.rules if d.id == "cross_year.carried_over")
    assert [w for w in warnings if "未执行" in w] and all(in_force.title in w for w in warnings if "未执行" in w)
    assert not any(carried.title in w for w in warnings)  # ran, and holds
    # it really ran: last year's 结转 off by one blocks the sentences that use this year's 上年结转
    wrong = copy.deepcopy(prev)
    wrong["tables"]["applications"]["carried_forward"]["natural_person"] += 1
    wrong["tables"]["applications"]["granted"]["natural_person"] -= 1
    html2, warnings2 = _render(spec2021, cur, "html", previous=wrong)
    assert any(carried.title in w for w in warnings2) and "未通过校验" in html2
    # a template asking for a figure last year's format does not have gets a placeholder, not a number
    (tmp_path / "opening.j2").write_text(
        "{% call generated() %}上年现行有效规章{{ prev.data.active_disclosure.rules.in_force }}件。{% endcall %}\n",
        encoding="utf-8")
    md, warnings3 = _render(spec2021, cur, "md", previous=prev, templates_dir=tmp_path)
    assert "上年现行有效规章" not in md and "【待补充：缺少数据" in md
    # the command accepts it, saying that the versions differ
    (tmp_path / "cur.json").write_text(json.dumps(cur, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "prev.json").write_text(json.dumps(prev, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "cur.json"), "--previous", str(tmp_path / "prev.json"),
                                      "--format", "md"])
    assert result.exit_code == 0, result.output
    assert prev["format"] in result.output and "同比" in result.output


# ---------------------------------------------------------------------------- missing and invalid data


def test_missing_narrative_becomes_placeholder_and_warning(case):
    spec2021, doc = case.spec, copy.deepcopy(case.doc)
    del doc["narrative"]["overview_platform"]
    doc["narrative"]["problems"] = "  "
    md, warnings = _render(spec2021, doc, "md")
    assert "【待补充：（四）平台建设" in md
    assert "【待补充：五、存在的主要问题及改进情况" in md
    assert any("（四）平台建设" in w for w in warnings)
    assert any("五、存在的主要问题及改进情况" in w for w in warnings)
    page = _parse(_render(spec2021, doc, "html")[0])
    assert any(m.startswith("【待补充：（四）平台建设") for m in page.marks)


def test_missing_cell_gives_placeholders_not_numbers(case):
    spec2021, doc = case.spec, copy.deepcopy(case.doc)
    del doc["tables"]["applications"]["granted"]["natural_person"]
    html, warnings = _render(spec2021, doc, "html")
    page = _parse(html)
    cells = {c["data_cell"]: c["text"] for r in page.tables["applications"] for c in r if c["tag"] == "td"}
    assert cells["granted.natural_person"] == "【待补充】"
    assert cells["total_processed.total"] == "【待补充】"  # a total of a missing input is missing too
    assert cells["granted.research_institution"] == _fmt(doc["tables"]["applications"]["granted"]["research_institution"])
    text = _generated_text(page)
    assert "办结" not in text  # the sentences that need the missing total are placeholders
    assert any("没有数据" in w for w in warnings)
    assert any("生成语句缺少数据" in w for w in warnings)
    assert not any("勾稽关系" in w for w in warnings)  # not reported as an imbalance


def test_invalid_data_never_reaches_a_sentence(case):
    spec2021, doc = case.spec, copy.deepcopy(case.doc)
    ap = doc["tables"]["applications"]
    ap["new_received"]["natural_person"] += 1
    html, warnings = _render(spec2021, doc, "html")
    assert any("勾稽关系" in w for w in warnings)
    page = _parse(html)
    assert f"新收政府信息公开申请{ap['new_received']['total'] + 1}件" not in _generated_text(page)
    assert "新收政府信息公开申请" not in _generated_text(page)
    assert any("未通过校验" in m for m in page.marks)
    cells = {c["data_cell"]: c["text"] for r in page.tables["applications"] for c in r if c["tag"] == "td"}
    assert cells["new_received.natural_person"] == str(ap["new_received"]["natural_person"])  # as submitted


@pytest.mark.parametrize(
    ("notices", "amount", "text", "expected"),
    [
        (3, 1200, "无。", "本年度共发出信息处理费收费通知3件，实际收取信息处理费1200元。"),
        (2, 0, "无。", "本年度发出信息处理费收费通知2件，未实际收取信息处理费。"),
        (0, 0, "无。", "本年度未收取信息处理费。"),
        (None, None, "无。", "【待补充：缺少数据"),
    ],
)
def test_section_six_always_states_the_fees(spec2021, seed_doc, notices, amount, text, expected):
    doc = copy.deepcopy(seed_doc)
    doc["narrative"].update({"fee_notices": notices, "fee_amount": amount, "other_matters": text})
    md, warnings = _render(spec2021, doc, "md")
    six = md.split("## " + spec2021.sections[-1].heading, 1)[1]
    assert expected in six
    assert bool(warnings) == (amount is None)


def test_agency_text_cannot_inject_markup(case):
    spec2021, doc = case.spec, copy.deepcopy(case.doc)
    doc["narrative"]["problems"] = "# 不是标题\n::table applications\n正常\x02L\x1f文字\x03"
    html, _ = _render(spec2021, doc, "html")
    page = _parse(html)
    assert "不是标题" not in [t for _, t in page.headings]
    assert len(page.tables) == len(spec2021.tables)
    assert "<p># 不是标题</p>" in html and "<p>正常L文字</p>" in html


# ---------------------------------------------------------------------------- DOCX


@pytest.fixture(scope="module")
def seed_docx(case):
    data, warnings = _render(case.spec, case.doc, "docx")
    assert warnings == []
    return data


def test_docx_headings_tables_and_merged_cells(case, seed_docx):
    from docx import Document
    from docx.oxml.ns import qn

    spec2021, seed_doc = case.spec, case.doc
    doc = Document(io.BytesIO(seed_docx))
    title = spec2021.report_title.replace("{agency}", seed_doc["agency"]["name"]).replace(
        "{year}", str(seed_doc["year"])
    )
    assert [p.text for p in doc.paragraphs if p.style.name == "Title"] == [title]
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"] == [s.heading for s in spec2021.sections]
    assert len(doc.tables) == len(spec2021.tables)
    for table, tspec in zip(doc.tables, spec2021.tables):
        layout = build_layout(tspec)
        from xlsxgen.render.tables import grid_of

        grid = grid_of(tspec)
        tbl = table._tbl
        restarts = tbl.findall(f".//{qn('w:vMerge')}")
        starts = [e for e in restarts if e.get(qn("w:val")) == "restart"]
        assert len(starts) == sum(1 for c in grid.cells() if c.rowspan > 1)
        assert len(restarts) == sum(c.rowspan for c in grid.cells() if c.rowspan > 1)
        spans = tbl.findall(f".//{qn('w:gridSpan')}")
        assert len(spans) == sum(c.rowspan for c in grid.cells() if c.colspan > 1)
        assert len(tbl.findall(qn("w:tblGrid") + "/" + qn("w:gridCol"))) == layout.width
        for d in layout.cells:
            expected = _fmt(seed_doc["tables"][tspec.key][d.row_key][d.column_key])
            assert table.cell(d.row - TABLE_TOP, d.col).text == expected, (tspec.key, d.key)
        for m in layout.labels:  # a merged label reads the same from every grid position it covers
            for r in (m.first_row, m.last_row):
                for c in (m.first_col, m.last_col):
                    assert table.cell(r - TABLE_TOP, c).text == m.text
        borders = tbl.tblPr.find(qn("w:tblBorders"))
        assert {e.tag.split("}")[1] for e in borders} >= {"top", "left", "bottom", "right", "insideH", "insideV"}


def test_docx_follows_official_document_conventions(case, seed_docx):
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document(io.BytesIO(seed_docx))
    sec = doc.sections[0]
    assert abs(sec.page_width - Cm(21)) < Cm(0.01) and abs(sec.page_height - Cm(29.7)) < Cm(0.01)
    assert [round(x.cm, 2) for x in (sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin)] == [
        3.7,
        3.5,
        2.8,
        2.6,
    ]

    def east_asia(style):
        return style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))

    assert east_asia(doc.styles["Title"]) == "方正小标宋简体" and doc.styles["Title"].font.size == Pt(22)
    assert east_asia(doc.styles["Normal"]) == "仿宋_GB2312" and doc.styles["Normal"].font.size == Pt(16)
    assert east_asia(doc.styles["Heading 1"]) == "黑体"
    assert east_asia(doc.styles["Heading 2"]) == "楷体_GB2312"
    assert doc.styles["Normal"].paragraph_format.line_spacing == Pt(28)
    # the run-in heading of a topic is set in 楷体
    lead = next(r for p in doc.paragraphs for r in p.runs if r.text.startswith("（一）"))
    assert lead._r.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "楷体_GB2312"
    # generated sentences carry a comment naming their cells, in Chinese for a person: no keys
    comments = [c.text for c in doc.comments]
    sheet = case.spec.tables[1].sheet
    assert comments and all(c.startswith("来源：") for c in comments)
    assert any(sheet in c for c in comments)
    keys = {t.key for t in case.spec.tables}
    assert not any(k in c for c in comments for k in keys)


def test_docx_is_deterministic(case, seed_docx):
    again, _ = _render(case.spec, case.doc, "docx")
    assert again == seed_docx


# ---------------------------------------------------------------------------- text formats


def test_markdown_and_text_contain_aligned_tables(case):
    spec2021, seed_doc = case.spec, case.doc
    row = seed_doc["tables"]["applications"]["new_received"]
    expected = [_fmt(v) for v in row.values()]
    label = spec2021.table("applications").row("new_received").label
    md, _ = _render(spec2021, seed_doc, "md")
    line = next(x for x in md.splitlines() if x.startswith("| " + label))
    assert re.findall(r"\d+", line.split(label, 1)[1]) == expected
    from xlsxgen.render.text import width

    md_block = md.split(spec2021.sections[2].heading, 1)[1].split(spec2021.sections[3].heading, 1)[0]
    assert len({width(x) for x in md_block.splitlines() if x.startswith("|")}) == 1  # aligned columns
    assert "[^1]:" in md
    txt, _ = _render(spec2021, seed_doc, "txt")
    assert "+---" in txt
    line = next(x for x in txt.splitlines() if label in x)
    assert re.findall(r"\d+", line.split(label, 1)[1]) == expected
    # the grid lines of one table all have the same display width
    block = txt.split(spec2021.sections[3].heading, 1)[1].split(spec2021.sections[4].heading, 1)[0]
    widths = {width(x) for x in block.splitlines() if x.startswith(("+", "|"))}
    assert len(widths) == 1
    assert txt.strip() and md.strip()


# ---------------------------------------------------------------------------- templates


def test_templates_dir_overrides_the_wording(case, tmp_path):
    custom = tmp_path / "tpl"
    shutil.copytree(case.spec.folder / "report", custom)
    overview = custom / "overview.j2"
    overview.write_text(overview.read_text(encoding="utf-8").replace("全年新收", "本年度共收到"), encoding="utf-8")
    html, _ = _render(case.spec, _without_figures_in_texts(case.doc), "html", templates_dir=custom)
    total = case.doc["tables"]["applications"]["new_received"]["total"]
    assert f"本年度共收到政府信息公开申请{total}件" in html
    assert "全年新收" not in html


def test_templates_dir_may_hold_only_the_changed_file(spec2021, seed_doc, tmp_path):
    (tmp_path / "opening.j2").write_text("本报告由{{ agency }}编制（测试措辞）。\n", encoding="utf-8")
    md, _ = _render(spec2021, seed_doc, "md", templates_dir=tmp_path)
    assert "本报告由邢台市人民政府办公室编制（测试措辞）。" in md
    assert "## " + spec2021.sections[2].heading in md  # the rest comes from the format's templates


def test_template_syntax_error_names_file_and_line(tmp_path):
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "opening.j2").write_text("第一行\n第二行\n{% if %}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(SEED_JSON), "--format", "md", "--templates", str(custom)])
    assert result.exit_code == 2
    assert "opening.j2" in result.output and "第3行" in result.output
    assert "Traceback" not in result.output


def test_template_runtime_error_names_file_and_line(spec2021, seed_doc, tmp_path):
    (tmp_path / "opening.j2").write_text("开头\n{{ narrative.no_such_field }}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as e:
        _render(spec2021, seed_doc, "md", templates_dir=tmp_path)
    assert "opening.j2" in str(e.value) and "第2行" in str(e.value) and "no_such_field" in str(e.value)
    (tmp_path / "opening.j2").write_text("{{ data.applications.new_recieved.total }}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="new_recieved"):
        _render(spec2021, seed_doc, "md", templates_dir=tmp_path)


def test_derived_figures_are_validated_data(tmp_path):
    from xlsxgen.render.derived import derived_of
    from xlsxgen.spec import load_spec_file

    folder = tmp_path / "fmt"
    shutil.copytree(ROOT / "templates" / "gov-info-2021", folder)
    (folder / "derived.yaml").write_text(
        "derived:\n  - {key: bad, label: 坏, table: applications, expr: new_received.no_such_column}\n",
        encoding="utf-8",
    )
    spec = load_spec_file(folder / "format.yaml")
    with pytest.raises(SpecError) as e:
        derived_of(spec)
    assert "derived.yaml" in str(e.value) and "derived[0]" in str(e.value)


def test_filters():
    assert num(107) == "107" and num(107.0) == "107" and num(0.35) == "0.35" and num(96171.6) == "96171.6"
    assert pct(24 / 220) == "10.9%" and pct(1) == "100%" and pct(0.25) == "25%"
    assert [cn(n) for n in (1, 5, 10, 11, 20, 21, 105)] == ["一", "五", "十", "十一", "二十", "二十一", "一百零五"]


# ---------------------------------------------------------------------------- the command


@pytest.mark.parametrize("fid", all_format_ids())
def test_cli_renders_every_format(fid, tmp_path):
    from xlsxgen.spec import load_format

    paths = example_paths(fid)
    if not paths:
        pytest.skip(f"no example report for {fid}")
    source, spec = paths[0], load_format(fid)
    runner = CliRunner()
    for fmt in ("md", "html", "txt", "docx"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(cli, ["render", str(source), "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "提示" not in result.output  # the example is complete: no warnings
        assert out.stat().st_size > 1000
    assert (tmp_path / "report.docx").read_bytes()[:2] == b"PK"
    result = runner.invoke(cli, ["render", str(source), "--format", "md"])
    assert result.exit_code == 0 and f"## {spec.sections[0].heading}" in result.output


def test_cli_previous_and_docx_default_path(tmp_path, previous_doc):
    src = tmp_path / "本年.json"
    shutil.copy(SEED_JSON, src)
    prev = tmp_path / "上年.json"
    prev.write_text(json.dumps(previous_doc, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(src), "--format", "docx", "--previous", str(prev)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "本年.docx").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "找不到文件"), ("{not json", "不是有效的 JSON"), ('{"format": "nope", "year": 2023}', "未安装该格式")],
)
def test_cli_bad_source_is_one_chinese_line(tmp_path, content, message):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(path), "--format", "html"])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_render_reads_json_exactly_as_validate_does(tmp_path, seed_doc):
    """One reader of untrusted JSON: what validate reports, render reports too (and drafts around it)."""
    doc = copy.deepcopy(seed_doc)
    doc["tables"]["applications"]["new_received"]["natural_person"] = -5
    doc["tables"]["bogus"] = {}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    validated = CliRunner().invoke(cli, ["validate", "--json", str(path)])
    assert validated.exit_code == 1
    messages = [f["message"] for f in json.loads(validated.output)["files"][0]["findings"]]
    assert len(messages) == 2
    out = tmp_path / "x.md"
    rendered = CliRunner().invoke(cli, ["render", str(path), "--format", "md", "-o", str(out)])
    assert rendered.exit_code == 0, rendered.output
    for m in messages:
        assert m in rendered.output
    assert "未通过校验" in rendered.output
    assert "-5" not in out.read_text(encoding="utf-8").split("三、收到和处理政府信息公开申请情况")[-1].split("\n")[3]


def test_workbook_source_goes_through_the_importer(tmp_path, spec2021, seed_doc):
    """A real workbook: its findings become warnings; an unreadable one is an error naming the file."""
    from xlsxgen.errors import UnreadableError
    from xlsxgen.render import load_source
    from xlsxgen.workbook.writer import build_workbook

    sub = from_canonical_trusted(spec2021, seed_doc)
    good = tmp_path / "good.xlsx"
    good.write_bytes(build_workbook(spec2021, year=sub.year, agency_name=sub.agency_name,
                                    agency_code=sub.agency_code, data=sub))
    loaded = load_source(good)
    assert loaded.submission.agency_name == seed_doc["agency"]["name"] and not loaded.warnings
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[:500])
    with pytest.raises(UnreadableError, match="broken.xlsx"):
        load_source(broken)
