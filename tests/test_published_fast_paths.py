"""The fast paths of the published-report readers read exactly what the plain ones read.

Issue 15 asked for extraction close to the bare parse of each file; the readers were rewritten for it
(see the commits of ``importer/published``). ``tests/published/reference.py`` keeps the plain versions;
here both read inputs made to hit every branch — Word XML that python-docx would never write, tag soup,
every kind of space and digit — and must agree to the character.
"""

from __future__ import annotations

import io
import random

import pytest

from importer.published import split
from importer.published.grid import Slot, _label_span
from importer.published.labels import compact
from tests.published import reference

lxml = pytest.importorskip("lxml")


# ------------------------------------------------------------------------------ Word

WNS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _tc(inner: str, pr: str = "") -> str:
    return f"<w:tc>{f'<w:tcPr>{pr}</w:tcPr>' if pr else ''}{inner}</w:tc>"


def _p(*runs: str, ppr: str = "") -> str:
    return f"<w:p>{ppr}{''.join(runs)}</w:p>"


def _r(*content: str) -> str:
    return f"<w:r><w:rPr><w:b/></w:rPr>{''.join(content)}</w:r>"


def _t(text: str) -> str:
    return f'<w:t xml:space="preserve">{text}</w:t>'


TRICKY_BODY = "".join([
    _p(ppr='<w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>'),  # tab stops only
    _p(_r(_t("某某局2023年政府信息公开工作年度报告"))),
    _p(),
    _p(_r(_t("一、"), "<w:tab/>", _t("总体情况")), _r("<w:br/>", _t("第二行"), "<w:cr/>")),
    _p(_r(_t("  表前文字  "))),
    "<w:tbl><w:tblPr/><w:tblGrid/>",
    "<w:tr>",
    _tc(_p(_r(_t("合并两列"))), '<w:gridSpan w:val="2"/>'),
    _tc(_p(_r(_t("无值跨列"))), "<w:gridSpan/>"),
    _tc(_p(_r(_t("坏值跨列"))), '<w:gridSpan w:val="x"/>'),
    _tc(_p(_r(_t("空值跨列"))), '<w:gridSpan w:val=""/>'),
    # two properties elements, two spans: the first of each counts
    '<w:tc><w:tcPr><w:gridSpan w:val="2"/><w:gridSpan w:val="3"/></w:tcPr><w:tcPr><w:vMerge w:val="restart"/>'
    '</w:tcPr>' + _p(_r(_t("重复属性"))) + "</w:tc>",
    "</w:tr>",
    "<w:tr>",
    _tc(_p(_r(_t("纵向开始"))), '<w:vMerge w:val="restart"/>'),
    _tc(_p(_r(_t("第一段"))) + _p() + _p(_r(_t("第三段"), "<w:tab/>", _t("尾")))),
    "<w:sdt><w:sdtPr/><w:sdtContent>" + _tc(_p(_r(_t("控件内")))) + "<w:p/></w:sdtContent>"
    "<w:sdtContent>" + _tc(_p(_r(_t("第二个内容，不读")))) + "</w:sdtContent></w:sdt>",
    _tc(_p(_r(_t("12"))), '<w:vMerge w:val="restart"/><w:gridSpan w:val="2"/>'),
    "</w:tr>",
    "<w:tr>",
    _tc(_p(_r(_t("被覆盖"))), "<w:vMerge/>"),
    _tc(_p(_r(_t("嵌套表外")), "<w:tbl><w:tr>" + _tc(_p(_r(_t("嵌套表内")))) + "</w:tr></w:tbl>")),
    _tc(_p(_r("<w:pict><w:txbxContent>" + _p(_r(_t("文本框"))) + "</w:txbxContent></w:pict>", _t("外")))),
    _tc(_p(_r(_t("续"))), '<w:vMerge w:val="continue"/><w:gridSpan w:val="2"/>'),
    "</w:tr>",
    "<w:tr>",
    _tc(_p(_r(_t("不存在的续"))), '<w:vMerge w:val=""/>'),
    _tc(_p(_r(_t("<![CDATA[x]]>7")))),
    "</w:tr>",
    "<w:sdt><w:sdtContent><w:tr>" + _tc(_p(_r(_t("控件中的行")))) + "</w:tr></w:sdtContent></w:sdt>",
    "<w:tr>" + _tc(_p(_r(_t("短行")))) + "</w:tr>",
    "</w:tbl>",
    _p(_r(_t("表后"))),
    "<w:tbl><w:tr>" + _tc(_p(_r(_t("第二表")))) + _tc("") + "</w:tr></w:tbl>",
    '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr>',
])


def _docx(body: str) -> bytes:
    import docx
    from docx.oxml import parse_xml

    doc = docx.Document()
    doc.core_properties.title = ""
    old = doc.element.body
    new = parse_xml(f'<w:body xmlns:w="{WNS}">{body}</w:body>'.replace("<![CDATA[x]]>", "&lt;x&gt;"))
    old.getparent().replace(old, new)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _slots(grid):
    return [[(s.text, s.origin, s.cell, s.row0, s.col0, s.prov) for s in row] for row in grid.rows]


@pytest.mark.parametrize("body", [TRICKY_BODY, "", _p(_r(_t("只有一段")))], ids=["tricky", "empty", "no-table"])
def test_word_read_in_one_pass_reads_what_python_docx_walking_reads(body):
    import docx

    from importer.published import docx as reader

    data = _docx(body)
    grids, body_text, title = reader.read(data)
    ref_grids, ref_text, ref_first = reference.docx_read(docx.Document(io.BytesIO(data)))
    assert [_slots(g) for g in grids] == [_slots(g) for g in ref_grids]
    assert [(g.prov, g.before) for g in grids] == [(g.prov, g.before) for g in ref_grids]
    assert body_text() == ref_text
    assert title == ref_first
    if body == TRICKY_BODY:  # the case hits what it is meant to
        assert grids and any(not s.origin for row in grids[0].rows for s in row)
        assert "嵌套表内" in ref_text and "文本框" in ref_text and "控件中的行" in ref_text


def test_word_read_on_the_constructed_layouts(tmp_path):
    import json

    import docx

    from importer.published import docx as reader
    from tests.conftest import EXAMPLES
    from tests.published import build
    from xlsxgen.spec import load_format

    doc = json.loads((EXAMPLES / "xingtai-2023.json").read_text(encoding="utf-8"))
    spec = load_format("gov-info-2021")
    for layout in ("official", "flat", "split", "text", "borderless"):
        data = build.build_docx(doc, spec, tmp_path / f"{layout}.docx", layout=layout).read_bytes()
        grids, body_text, _title = reader.read(data)
        ref_grids, ref_text, _first = reference.docx_read(docx.Document(io.BytesIO(data)))
        assert [_slots(g) for g in grids] == [_slots(g) for g in ref_grids], layout
        assert body_text() == ref_text, layout


# ------------------------------------------------------------------------------ HTML

TRICKY_HTML = """<html><head><title>  </title><script>var x = "<td>1</td>";</script></head><body>
<h2 class="x">  </h2><div class="subtitle-x">某某局 2023年 政府信息公开工作年度报告</div>
<p>表一</p>
<table><thead><tr><TH>标题<br>折行</TH><th colspan="2.7">跨列</th></tr></thead>
<tbody>
<tr><td rowspan="2">纵向<span>合并</span></td><td><p>1</p>\n</td><td>&nbsp;</td></tr>
<tr><td colspan="abc">2<b>3</b>尾巴</td><td colspan="0"><p><span>4</span> 后缀</p>非空尾巴</td></tr>
<tr><td>　</td><td><p>\u3000</p><p>5</p></td><td><style>td{}</style>6</td></tr>
<tr><td>嵌套<table><tr><td>内层</td></tr></table>外层尾</td><td rowspan="300">很长</td></tr>
</tbody>
<tr><td>直接在表下的行</td></tr>
<tfoot><tr><td>脚</td><td><!-- 注释 -->7</td></tr></tfoot>
<div><tr><td>div 里的行</td></tr></div>
</table>
<table><tr><td>第二表</td><td>8</td></tr></table>
</body></html>"""


@pytest.mark.parametrize("markup", [TRICKY_HTML, "<table><tr><td>只有一格</td></tr></table>", "<p>没有表格</p>"],
                         ids=["tricky", "fragment", "no-table"])
def test_html_cells_title_and_text_read_as_before(markup):
    from importer.published import html

    doc = html.parse(markup.encode("utf-8"))
    got = [([[(s.text, s.origin, s.cell, s.row0, s.col0) for s in row] for row in g.rows], g.prov)
           for g in html.grids(doc)]
    assert got == reference.html_grids(doc)
    assert html.page_text(doc) == reference.html_page_text(doc)
    assert html.title(doc) == reference.html_title(doc)


def test_html_corpus_read_as_before():
    from importer.published import html
    from tests.test_importer_published import CORPUS

    for path in sorted(CORPUS.glob("*.html")):
        doc = html.parse(path.read_bytes())
        got = [([[(s.text, s.origin, s.cell, s.row0, s.col0) for s in row] for row in g.rows], g.prov)
               for g in html.grids(doc)]
        assert got == reference.html_grids(doc), path.name
        assert html.page_text(doc) == reference.html_page_text(doc), path.name


# ------------------------------------------------------------------------------ text

POOL = ("规章行政许可处理决定数量０１２３４５６７８９0123456789abcXYZ（）()、．.。﹒，,：:;；"
        " \t\r\n\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff\"'“”‘’「」『』—－-+＋ｱｲｳ①②ⅷ㍿﨑丽\u0301e\u2028\x0c")


def test_compact_a_run_at_a_time_is_compact_a_character_at_a_time():
    rnd = random.Random(15)
    for _ in range(3000):
        s = "".join(rnd.choice(POOL) for _ in range(rnd.randint(0, 40)))
        assert compact(s) == reference.compact(s), repr(s)


def test_what_compact_takes_a_run_at_a_time_is_what_it_would_make_of_each_character():
    """Every character its run pattern takes whole is kept as it is, or (whitespace) dropped."""
    import re

    from importer.published.labels import PLAIN_RE, _norm_char

    plain = re.compile(PLAIN_RE.pattern.split("|")[0])
    for i in range(0x30000):
        c = chr(i)
        if plain.fullmatch(c):
            assert _norm_char(c) == c, hex(i)
        elif PLAIN_RE.fullmatch(c):
            assert _norm_char(c) == "", hex(i)


def test_pruned_digit_splits_are_all_the_splits_in_the_same_order():
    rnd = random.Random(15)
    for _ in range(2500):
        tokens = []
        for _ in range(rnd.randint(1, 4)):
            t = "".join(rnd.choice("0000123456789") for _ in range(rnd.randint(1, 10)))
            if rnd.random() < 0.1:
                t = t[: len(t) // 2 or 1] + "." + t[len(t) // 2 or 1:]
            if rnd.random() < 0.05:
                t = rnd.choice("+-") + t
            tokens.append(t)
        kinds = [rnd.choice(["count", "count", "amount", "signed_count"]) for _ in range(rnd.randint(1, 8))]
        limit = rnd.choice([3, 40, 2000])
        assert split.candidates(tokens, kinds, limit) == reference.candidates(tokens, kinds, limit), (tokens, kinds)


# ------------------------------------------------------------------------------ grids


def test_label_found_without_its_parts_is_the_label():
    rnd = random.Random(15)
    texts = ["", " ", "0", "12", "1 2", "3.5", "—", "-", "规章", "一、本年新收政府信息公开申请数量", "自然人", "x1", "（一）"]
    for _ in range(5000):
        row, c, cell = [], 0, 0
        width = rnd.randint(1, 7)
        while c < width:
            span = rnd.choice([1, 1, 1, 2, 3])
            text = rnd.choice(texts)
            row.append(Slot(text, True, cell, 0, c, {}))
            for _k in range(1, span):
                # a covered position: the same cell, usually its text (a row joined across a page: not always)
                row.append(Slot(text if rnd.random() < 0.8 else rnd.choice(texts), False, cell, 0, c, {}))
            c += span
            cell += 1
        value_cols = set(rnd.sample(range(len(row) + 1), rnd.randint(0, 2)))
        assert _label_span(row, value_cols) == reference.label_span(row, value_cols)
        assert _label_span(row) == reference.label_span(row)
