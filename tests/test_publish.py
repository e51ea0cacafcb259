"""Drafts ready to publish (issue 16): figures exactly as entered, clean text, Chinese
provenance, --final, --format pdf, the standalone HTML page — through the real CLI."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "xingtai-2023.json"
EXAMPLE_2019 = ROOT / "examples" / "example-2020-gov-info-2019.json"

# fee amounts (万元) as real published reports state them: to the 分, six decimals
REAL_FEES = ["5949.088667", "1236.502384", "0.001523"]


def run(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=240, env=env, cwd=cwd)


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def with_fee(text: str, fee: str) -> str:
    """The seed JSON text with 行政事业性收费 set to ``fee`` as a number literal, written as given."""
    out, n = re.subn(r'("fees": \{\s*"amount": )0', r"\g<1>" + fee, text)
    assert n == 1
    return out


def docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


def render_all(src: Path, out_dir: Path, *extra) -> dict[str, str]:
    """Render ``src`` as md, txt, html and docx with the CLI; the text of each."""
    texts = {}
    for fmt in ("md", "txt", "html", "docx"):
        out = out_dir / f"{src.stem}.{fmt}"
        r = run("render", src, "--format", fmt, "-o", out, *extra)
        assert r.returncode == 0, r.stderr
        texts[fmt] = docx_text(out) if fmt == "docx" else out.read_text(encoding="utf-8")
    return texts


# ---------------------------------------------------------------------------- numbers exactly as entered


@pytest.mark.parametrize("fee", REAL_FEES)
def test_real_fee_amounts_are_printed_exactly_in_every_format(tmp_path, fee):
    src = tmp_path / "fee.json"
    src.write_text(with_fee(seed_text(), fee), encoding="utf-8")
    for fmt, text in render_all(src, tmp_path).items():
        assert f"{fee}万元" in text, fmt  # the sentence of 一、总体情况
        numbers = set(re.findall(r"\d+\.\d+", text))
        assert fee in numbers, fmt  # and the table of 二
        rounded = f"{float(fee):.4f}".rstrip("0")
        assert rounded == fee or rounded not in numbers, fmt  # never a 4-decimal rounding


def test_trailing_zeros_are_kept_where_the_source_keeps_them(tmp_path):
    src = tmp_path / "zeros.json"
    src.write_text(with_fee(seed_text(), "5949.0880"), encoding="utf-8")
    for fmt, text in render_all(src, tmp_path).items():
        assert "5949.0880万元" in text, fmt


def test_fee_amount_from_a_workbook_is_printed_exactly(tmp_path):
    src = tmp_path / "fee.json"
    src.write_text(with_fee(seed_text(), REAL_FEES[0]), encoding="utf-8")
    doc = json.loads(src.read_text(encoding="utf-8"))
    blank = tmp_path / "blank.xlsx"
    r = run("generate", "--year", doc["year"], "--agency", doc["agency"]["name"], "--code", doc["agency"]["code"],
            "-o", blank)
    assert r.returncode == 0, r.stderr
    filled = tmp_path / "filled.xlsx"
    r = run("fill", blank, src, "-o", filled)
    assert r.returncode == 0, r.stderr
    r = run("validate", filled, "--json")
    assert "amount_precision" not in r.stdout  # six decimals: no warning
    texts = render_all(filled, tmp_path)
    for fmt, text in texts.items():
        assert f"{REAL_FEES[0]}万元" in text, fmt


def test_trailing_zeros_typed_as_text_in_a_workbook_are_kept(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from xlsxgen.spec import load_format
    from xlsxgen.workbook.plan import build_plan

    doc = json.loads(seed_text())
    blank, filled, typed = tmp_path / "blank.xlsx", tmp_path / "filled.xlsx", tmp_path / "typed.xlsx"
    assert run("generate", "--year", doc["year"], "--agency", doc["agency"]["name"], "--code",
               doc["agency"]["code"], "-o", blank).returncode == 0
    assert run("fill", blank, SEED, "-o", filled).returncode == 0
    cell = build_plan(load_format("gov-info-2021")).figure_cells[("active_disclosure", "fees", "amount")]
    wb = openpyxl.load_workbook(filled)
    wb[cell.sheet][cell.address].value = "5949.0880"  # a number typed as text keeps its trailing zero
    wb.save(typed)
    texts = render_all(typed, tmp_path)
    for fmt, text in texts.items():
        assert "5949.0880万元" in text, fmt


@pytest.mark.parametrize(("typed", "warned"), [("5949.088667", False), ("0.000001", False),
                                                ("5949.0886671", True), ("0.1234567", True)])
def test_amounts_keep_six_decimals_without_a_warning(tmp_path, typed, warned):
    src = tmp_path / "x.json"
    src.write_text(with_fee(seed_text(), typed), encoding="utf-8")
    r = run("validate", src, "--json")
    findings = [f for d in json.loads(r.stdout)["files"] for f in d["findings"]]
    codes = [f["rule"] for f in findings]
    assert ("value.amount_precision" in codes) is warned, findings
    if warned:
        f = next(f for f in findings if f["rule"] == "value.amount_precision")
        assert "6 位小数" in f["message"] and typed in f["message"]


def test_the_number_printer():
    from decimal import Decimal

    from xlsxgen.numbers import Written, exact

    assert exact(107) == "107" and exact(12.0) == "12"
    assert exact(5949.088667) == "5949.088667"
    assert exact(0.1 + 0.2) == "0.3"  # float noise of a sum is not "as entered"
    assert exact(1e-6) == "0.000001"  # never exponent notation
    assert exact(Written("5949.0880")) == "5949.0880" and exact(Written("+.50")) == "0.50"
    assert exact(Decimal("5949.088667")) == "5949.088667" and exact(Decimal("12.30")) == "12.30"
    assert float(Written("5949.0880")) + 1 == pytest.approx(5950.088)


# ---------------------------------------------------------------------------- cross_year.in_force names its column


def test_in_force_finding_names_the_column_and_the_cell(tmp_path):
    doc = json.loads(seed_text())
    prev = copy.deepcopy(doc)
    prev["year"] -= 1
    prev["tables"]["active_disclosure"]["rules"]["in_force"] += 5
    prev_path = tmp_path / "prev.json"
    prev_path.write_text(json.dumps(prev, ensure_ascii=False), encoding="utf-8")
    blank, filled = tmp_path / "blank.xlsx", tmp_path / "filled.xlsx"
    assert run("generate", "--year", doc["year"], "--agency", doc["agency"]["name"], "--code",
               doc["agency"]["code"], "-o", blank).returncode == 0
    assert run("fill", blank, SEED, "-o", filled).returncode == 0
    from xlsxgen.spec import load_format

    spec = load_format("gov-info-2021")
    column_label = spec.table("active_disclosure").column("in_force").label
    for src in (filled, SEED):
        r = run("validate", src, "--previous", prev_path, "--json")
        findings = [f for d in json.loads(r.stdout)["files"] for f in d["findings"]]
        f = next(f for f in findings if f["rule"] == "cross_year.in_force")
        assert f["column"] == "in_force" and f["row"] == "rules", f
        assert column_label in f["message"]
        if src == filled:
            assert f["sheet"] == spec.table("active_disclosure").sheet and f["cell"] == "D6", f


# ---------------------------------------------------------------------------- clean text


def _render_doc(doc, fmt="md", **kw):
    from xlsxgen.data import from_canonical_trusted
    from xlsxgen.render import render_report
    from xlsxgen.spec import load_format

    spec = load_format(doc["format"])
    return render_report(spec, from_canonical_trusted(spec, doc), fmt, **kw)


@pytest.mark.parametrize("own", ["（一）", "(一)", "一、", "1.", "1、", "（1）"])
def test_agency_numbering_is_not_doubled(own):
    doc = json.loads(seed_text())
    doc["narrative"]["overview_active"] = own + "主动公开进一步加强。全年发布信息若干条。"
    md, _ = _render_doc(doc, "txt")
    assert "（一）主动公开进一步加强。全年发布信息若干条。" in md
    assert "（一）" + own not in md and "（一）（" not in md


def test_a_heading_line_repeated_by_the_agency_is_dropped_and_lists_keep_their_numbers():
    doc = json.loads(seed_text())
    doc["narrative"]["overview_active"] = "（一）主动公开\n全年发布信息若干条。"
    doc["narrative"]["problems"] = "1.问题一。\n2.问题二。"
    txt, _ = _render_doc(doc, "txt")
    assert txt.count("（一）主动公开") == 1
    assert "1.问题一。" in txt and "2.问题二。" in txt  # an enumeration of its own is kept


def test_a_sentence_the_agency_already_told_is_left_out():
    doc = json.loads(seed_text())
    ap = doc["tables"]["applications"]
    sentence = f"全年新收政府信息公开申请{ap['new_received']['total']}件"
    doc["narrative"]["overview_application"] = "依申请公开进一步规范。申请办理及时。"
    txt, _ = _render_doc(doc, "txt")
    assert sentence in txt
    doc["narrative"]["overview_application"] = (
        f"依申请公开进一步规范。全年收到申请{ap['new_received']['total']}件，上年结转{ap['carried_over']['total']}件，"
        f"办结{ap['total_processed']['total']}件，结转下年度{ap['carried_forward']['total']}件。")
    txt, _ = _render_doc(doc, "txt")
    assert sentence not in txt


def test_correction_rate_and_shares_only_on_request(tmp_path):
    doc = json.loads(seed_text())
    rv = doc["tables"]["review_litigation"]["review"]
    rv["corrected"], rv["upheld"] = 1, rv["upheld"] - 1
    doc["narrative"]["overview_application"] = "依申请公开进一步规范。"
    src = tmp_path / "x.json"
    src.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    plain = run("render", src, "--format", "txt")
    assert plain.returncode == 0, plain.stderr
    assert "纠错率" not in plain.stdout and "（占" not in plain.stdout
    extra = run("render", src, "--format", "txt", "--extra-figures")
    assert "纠错率" in extra.stdout and "（占" in extra.stdout
    # or the template turns them on
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    report = (ROOT / "templates" / "gov-info-2021" / "report" / "report.j2").read_text(encoding="utf-8")
    (tpl / "report.j2").write_text("{% set extra_figures = true %}\n" + report, encoding="utf-8")
    on = run("render", src, "--format", "txt", "--templates", tpl)
    assert "纠错率" in on.stdout


def test_docx_provenance_is_chinese_for_a_person(tmp_path):
    from docx import Document

    out = tmp_path / "r.docx"
    assert run("render", SEED, "-o", out).returncode == 0
    comments = [c.text for c in Document(str(out)).comments]
    assert comments
    for c in comments:
        assert c.startswith("来源：")
        assert not re.search(r"[a-z]+_[a-z_]+|[a-z]+\.[a-z]+", c), c  # no keys
    assert any(re.search(r"三、依申请公开 J7，[^；]*／总计＝\d+", c) for c in comments)


# ---------------------------------------------------------------------------- --final


def test_final_refuses_while_placeholders_remain(tmp_path):
    doc = json.loads(seed_text())
    doc["narrative"]["problems"] = ""
    doc["narrative"]["overview_platform"] = None
    src = tmp_path / "gaps.json"
    src.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "final.docx"
    r = run("render", src, "--final", "-o", out)
    assert r.returncode == 1
    assert not out.exists()
    assert "--final" in r.stderr and "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if re.match(r"\s+\d+\. ", x)]
    assert len(lines) == 2, r.stderr
    assert any("五、" in x for x in lines) and any("（四）平台建设" in x for x in lines)


def test_final_has_no_provenance_and_no_highlights(tmp_path):
    texts = {}
    for fmt in ("docx", "html", "md", "txt"):
        out = tmp_path / f"final.{fmt}"
        r = run("render", SEED, "--final", "-o", out)
        assert r.returncode == 0, r.stderr
        texts[fmt] = out.read_bytes()
    with zipfile.ZipFile(io.BytesIO(texts["docx"])) as z:
        names = z.namelist()
        xml = z.read("word/document.xml").decode()
    assert not any("comments" in n for n in names)
    assert "w:highlight" not in xml and "commentReference" not in xml
    html = texts["html"].decode()
    assert 'class="generated"' not in html and "<!--" not in html and "来源" not in html and "<mark" not in html
    assert "[^" not in texts["md"].decode() and "来源" not in texts["md"].decode()
    assert "来源" not in texts["txt"].decode()


# ---------------------------------------------------------------------------- --format pdf


def test_pdf_says_how_to_install_libreoffice_when_missing(tmp_path):
    env = dict(os.environ, XLSXGEN_SOFFICE=str(tmp_path / "no-soffice"))
    r = run("render", SEED, "--format", "pdf", "-o", tmp_path / "x.pdf", env=env)
    assert r.returncode == 2
    assert "LibreOffice" in r.stderr and "安装" in r.stderr and "apt install" in r.stderr
    assert "Traceback" not in r.stderr
    env = {k: v for k, v in os.environ.items() if k != "XLSXGEN_SOFFICE"}
    env["PATH"] = str(Path(sys.executable).parent)  # python only, no soffice
    from xlsxgen.render.pdf import CANDIDATES

    if not any(Path(p).is_file() for p in CANDIDATES):
        r = run("render", SEED, "--format", "pdf", "-o", tmp_path / "x.pdf", env=env)
        assert r.returncode == 2 and "LibreOffice" in r.stderr


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_pdf_is_the_final_docx_converted(tmp_path):
    out = tmp_path / "final.pdf"
    r = run("render", SEED, "--format", "pdf", "-o", out)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:5] == b"%PDF-"


# ---------------------------------------------------------------------------- the HTML page


def _strict(html: str):
    html5lib = pytest.importorskip("html5lib")
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(html)  # raises on any parse error


@pytest.mark.parametrize("src", [SEED, EXAMPLE_2019], ids=["gov-info-2021", "gov-info-2019"])
@pytest.mark.parametrize("final", [False, True], ids=["draft", "final"])
def test_html_page_is_valid_accessible_and_printable(tmp_path, src, final):
    from xlsxgen.spec import load_format

    spec = load_format(json.loads(src.read_text(encoding="utf-8"))["format"])
    out = tmp_path / "page.html"
    r = run("render", src, "-o", out, *(["--final"] if final else []))
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    tree = _strict(html)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html
    # CSP-friendly: no script, no event handlers, no style attributes
    assert "<script" not in html and not re.search(r"\son[a-z]+=", html) and " style=" not in html
    assert "@media print" in html and "@page" in html
    # title, the sections with their headings, the tables with borders
    assert len(tree.findall(".//h1")) == 1
    sections = tree.findall(".//section")
    assert [s.find("h2").text for s in sections] == [s.heading for s in spec.sections]
    tables = tree.findall(".//table")
    assert len(tables) == sum(1 for s in spec.sections if s.table)
    assert "border: 1px solid #000" in html
    for table in tables:
        ths = {th.get("id"): th for th in table.iter("th")}
        assert all(ths) and all(th.get("scope") in ("row", "col", "rowgroup", "colgroup") for th in ths.values())
        tds = [td for td in table.iter("td") if td.get("data-cell")]
        has_row_labels = any(th.get("scope") in ("row", "rowgroup") for th in ths.values())  # 四 has none
        assert tds
        for td in tds:
            heads = td.get("headers", "").split()
            assert heads and all(h in ths for h in heads), td.get("data-cell")
            assert not has_row_labels or any(ths[h].get("scope") in ("row", "rowgroup") for h in heads)
            assert any(ths[h].get("scope") in ("col", "colgroup") for h in heads)  # its column label
    # merged official headers
    assert any(int(c.get("colspan", 1)) > 1 for t in tables for c in t.iter("th"))
    assert any(int(c.get("rowspan", 1)) > 1 for t in tables for c in t.iter("th"))


# ---------------------------------------------------------------------------- the pages, looked at (GB/T 9704)

MM = 72 / 25.4  # points per millimetre


def _words(pdf: Path, page: int) -> list[tuple[float, float, float, float, str]]:
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, timeout=60).stdout
    return [(float(a), float(b), float(c), float(d), html_unescape(t)) for a, b, c, d, t in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)]


def html_unescape(s: str) -> str:
    from html import unescape

    return unescape(s)


def _lines(words):
    """Words grouped into text lines (same baseline), top to bottom."""
    lines: dict[int, list] = {}
    for w in words:
        lines.setdefault(round(w[3]), []).append(w)
    return [sorted(v) for _, v in sorted(lines.items())]


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftoppm") is None
                    or shutil.which("pdftotext") is None, reason="LibreOffice and poppler-utils needed")
def test_final_pages_follow_gb_t_9704(tmp_path):
    """DOCX → PDF (LibreOffice) → PNG: A4, margins 37/28/35/26 mm, 22 lines of 28 characters,
    page numbers 「— n —」. The PNGs are kept in tmp_path (and in $XLSXGEN_ARTIFACTS when set)."""
    docx = tmp_path / "final.docx"
    assert run("render", SEED, "--final", "-o", docx).returncode == 0
    r = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)],
                       capture_output=True, timeout=240)
    pdf = tmp_path / "final.pdf"
    assert pdf.is_file(), r.stderr
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert abs(w - 210 * MM) < 1 and abs(h - 297 * MM) < 1  # A4
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == pages and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    if os.environ.get("XLSXGEN_ARTIFACTS"):
        dest = Path(os.environ["XLSXGEN_ARTIFACTS"])
        dest.mkdir(parents=True, exist_ok=True)
        for p in pngs:
            shutil.copy(p, dest / p.name)
    # page 2 is body text only: 22 lines, full lines of 28 characters, inside the margins
    lines = _lines(_words(pdf, 2))
    footer = [ln for ln in lines if ln[0][1] > h - 35 * MM]
    body = [ln for ln in lines if ln[0][1] <= h - 35 * MM]
    assert len(body) == 22
    assert "".join(x[4] for x in footer[0]).replace(" ", "") == "—2—"
    assert min(x[0] for ln in body for x in ln) == pytest.approx(28 * MM, abs=2)  # left 28 mm
    assert max(x[2] for ln in body for x in ln) <= w - 26 * MM + 2  # right 26 mm
    assert body[0][0][1] >= 37 * MM - 1 and body[-1][0][3] <= h - 35 * MM + 1  # top 37, bottom 35 mm
    chars = ["".join(x[4] for x in ln) for ln in body]
    cjk_only = [c for c in chars if re.fullmatch(r"[\u3000-\u9fff\uff00-\uffef“”]+", c)]
    assert cjk_only and max(len(c) for c in cjk_only) == 28
