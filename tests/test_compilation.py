"""The office's own report (issue 16): the consolidated draft with the agencies' words, the
文字材料 sheet of the consolidated workbook, and every agency's draft at once (render --all)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from xlsxgen.data import from_canonical_trusted
from xlsxgen.render.compilation import Compilation, render_consolidated
from xlsxgen.spec import load_format

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "xingtai-2023.json"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's whole cycle: roster, collection store, outputs."""
    root = tmp_path_factory.mktemp("demo") / "d"
    r = run("demo", "--out-dir", root)
    assert r.returncode == 0, r.stderr
    return root


def _roster_names(root: Path) -> list[str]:
    with open(root / "名单.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    col = next(i for i, h in enumerate(head) if "名称" in h)
    return [r[col] for r in rows[1:] if r]


def _accepted(root: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((root / "汇总" / "数据").glob("*.json"))]


def test_consolidated_draft_has_each_agencys_words_under_its_name(demo):
    spec = load_format("gov-info-2021")
    md = next((demo / "汇总").glob("年报草稿-*.md")).read_text(encoding="utf-8")
    docs = _accepted(demo)
    assert len(docs) == 3
    order = [n for n in _roster_names(demo) if n in {d["agency"]["name"] for d in docs}]
    sections = re.split(r"^## ", md, flags=re.M)
    text_fields = [f for f in spec.narrative_fields if f.kind == "text"]
    for f in text_fields:
        section = next(s for s in sections if s.startswith(next(x.heading for x in spec.sections
                                                                  if x.key == f.section)))
        # each agency, in roster order, under its name with (the start of) its own words
        at = [section.find(f"**{name}：**") for name in order]
        assert all(i >= 0 for i in at) and at == sorted(at), (f.key, at)
        for d in docs:
            words = re.sub(r"^（[一二三四五六七八九十]+）", "", d["narrative"][f.key].split("\n")[0])[:12]
            assert words in section, (f.key, d["agency"]["name"])
    # the summary of the sums comes first in its topic, the agencies' words after it
    topic = md.split("### （二）依申请公开", 1)[1].split("###", 1)[0]
    total = sum(d["tables"]["applications"]["new_received"]["total"] for d in docs)
    assert topic.index(f"全年新收政府信息公开申请{total}件") < topic.index(f"**{order[0]}：**")
    assert "【待补充" not in md.split("## 二、", 1)[0]  # no placeholder where the agencies' texts are


def test_consolidated_workbook_has_the_texts_sheet(demo):
    openpyxl = pytest.importorskip("openpyxl")
    spec = load_format("gov-info-2021")
    wb = openpyxl.load_workbook(next((demo / "汇总").glob("汇总表-*.xlsx")), read_only=True)
    sheet = spec.sheets["narrative"]
    assert sheet in wb.sheetnames
    rows = list(wb[sheet].iter_rows(values_only=True))
    fields = [f for f in spec.narrative_fields if f.kind == "text"]
    assert list(rows[1][3:]) == [f.label for f in fields]
    docs = {d["agency"]["code"]: d for d in _accepted(demo)}
    body = [r for r in rows[2:] if r and r[1]]
    assert {r[1] for r in body} == set(docs)
    for r in body:
        for f, v in zip(fields, r[3:]):
            assert (v or "") == (docs[r[1]]["narrative"].get(f.key) or "").strip()


def test_render_all_from_the_store(demo, tmp_path):
    html5lib = pytest.importorskip("html5lib")
    out = tmp_path / "drafts"
    r = run("render", "--db", demo / "收集库.sqlite", "--year", 2023, "--all", "--format", "docx", "--out-dir", out)
    assert r.returncode == 0, r.stderr
    drafts = sorted(out.glob("*.docx"))
    assert len(drafts) == 3
    for p in drafts:
        with zipfile.ZipFile(p) as z:
            assert "word/document.xml" in z.namelist()
    index = next(out.glob("*.html")).read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(index)
    for p in drafts:
        assert f'href="{p.name}"' in index
    for name in _roster_names(demo):
        assert name in index  # every agency of the roster is listed, with or without a draft
    assert "未生成" in r.stderr or "没有可用的报送" in r.stderr


@pytest.mark.parametrize("args", [
    ("--db", "x.sqlite", "--all"),                      # no year
    ("--year", "2023", "--all"),                        # no store
    ("some.json", "--db", "x.sqlite", "--year", "2023", "--all"),
])
def test_render_all_usage_errors(tmp_path, args):
    r = run("render", *args, cwd=tmp_path)
    assert r.returncode == 2 and "错误：" in r.stderr and "Traceback" not in r.stderr


def test_compilation_in_roster_order_with_own_numbering_dropped():
    spec = load_format("gov-info-2021")
    doc = json.loads(SEED.read_text(encoding="utf-8"))
    a = from_canonical_trusted(spec, doc)
    b = from_canonical_trusted(spec, doc)
    b.agency_name = "乙局"
    b.narrative = dict(b.narrative, overview_active="（一）主动公开。乙局的做法。\n第二段。", problems="")
    comp = Compilation(spec, [("乙局", b), ("甲局", a)])
    texts = comp.texts("overview_active")
    assert [t.agency for t in texts] == ["乙局", "甲局"]
    assert texts[0].first == "主动公开。乙局的做法。" and texts[0].rest == ("第二段。",)
    assert comp.without("problems") == ["乙局"]
    md, warnings = render_consolidated(spec, a, [("乙局", b), ("甲局", a)], "md")
    assert md.index("**乙局：**主动公开。乙局的做法。") < md.index("**甲局：**主动公开进一步加强。")
    assert "（一）（一）" not in md and "乙局：**（一）主动公开" not in md  # a list (六 of the seed) keeps its numbers
    assert any("乙局" in w and "五、" in w for w in warnings)  # who gave no text is said


@pytest.mark.parametrize("fmt_id", ["gov-info-2021", "gov-info-2019"])
def test_a_compilation_over_its_limit_keeps_the_first_agencies_and_says_so(fmt_id):
    """A draft of very many agencies keeps the first ones' texts (it is built in memory): the draft says how many
    are left out where the texts are, and who gave no text is still worked out over every agency."""
    spec = load_format(fmt_id)
    key = next(f.key for f in spec.narrative_fields if f.kind == "text")
    agencies = [(f"第{i}局", {key: f"第{i}局的做法。"}) for i in range(1, 6)] + [("第6局", {})]
    comp = Compilation(spec, iter(agencies), limit=3)
    assert comp.count == 6 and comp.omitted == 3
    assert [t.agency for t in comp.texts(key)] == ["第1局", "第2局", "第3局"]
    assert comp.without(key) == ["第6局"]  # 第4局 and 第5局 gave texts: not said to lack them
    total = from_canonical_trusted(spec, json.loads(SEED.read_text(encoding="utf-8"))) if fmt_id == "gov-info-2021" \
        else None
    if total is None:
        from xlsxgen.data import Submission

        total = Submission(spec.id, year=2020, agency_name="汇总", agency_code="", values={})
    md, warnings = render_consolidated(spec, total, comp, "md")
    assert "第3局的做法" in md and "第4局的做法" not in md
    assert "以上为名单中前3个单位的文字材料；其余3个单位的见汇总表的文字材料工作表" in md
    label = next(f.label for f in spec.narrative_fields if f.key == key)
    assert [w for w in warnings if f"「{label}」" in w] == [f"1个单位没有「{label}」的文字材料（第6局）"]
    full = Compilation(spec, agencies)
    assert full.omitted == 0 and "其余" not in render_consolidated(spec, total, full, "md")[0]
