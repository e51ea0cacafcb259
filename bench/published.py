"""Benchmark of `xlsxgen extract` on published reports: accuracy against ground truth, and speed.

    python bench/published.py                 # corpus + constructed DOCX/PDF/text (PDF needs LibreOffice)
    python bench/published.py --corpus DIR    # another folder of sources with ground-truth JSON beside them
    python bench/published.py --no-constructed --repeat 3

Sources and truth:

* the corpus — ``../shared/reports-dev`` when present, else its copy ``tests/published/corpus``:
  real reports (HTML, page text) each with a hand-checked JSON (``<name>.json``) and its published
  inconsistencies;
* constructed sources — the example reports of both format versions (``examples/``) laid out as DOCX
  in four layouts (``tests/published/build.py``), converted to PDF by LibreOffice, and as glued page
  text; plus one with an injected arithmetic error. Their truth is the document they were built from.

Per source kind and per table it prints cells **exact**, **wrong** (a number that differs from the
truth), **missing** (null where the truth has a number) and **invented** (a number where the truth is
null); whether every missing cell is explained by a finding (ambiguous / unparseable / blank / missing
row); and whether the lint's findings on the extracted data equal the published inconsistencies.

Speed, per report and per kind, is a ratio to the bare parse of the same file by the library that
reads it (the floor): HTML — ``lxml.html.document_fromstring`` of the decoded text; DOCX —
``docx.Document`` opening the package and iterating its tables' rows and cells' XML; PDF —
``pdfplumber.open`` and reading every page's characters (``page.chars``). A text file (``.txt``,
``.md``) has no parsing library: its only "bare parse" is decoding the bytes, some microseconds, so a
ratio to it would measure nothing but the size of that denominator; text extraction is reported in
absolute time instead, milliseconds per report and per KB of source.

Times are the minimum of ``--repeat`` runs, floor and extraction interleaved, and each timed call starts
after ``gc.collect()`` (not timed): python-docx leaves every opened package in reference cycles that only
the cycle collector frees, and without it the collection that frees one call's package (often the
floor's: it allocates almost nothing itself) runs inside whichever call happens to come next. Both the
floor and the extraction are measured the same way; the extraction reads the file from disk, the floor
gets its bytes.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from importer.published import extract, lint  # noqa: E402
from tests.published.truth import lint_pairs, truth_inconsistencies  # noqa: E402

EXPLAINED = {"extract.ambiguous", "extract.unparseable_run", "extract.unparseable", "extract.blank",
             "extract.placeholder", "extract.row_missing", "extract.cell_missing", "extract.table_missing",
             "extract.spanned"}


def corpus_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    shared = ROOT.parent / "shared" / "reports-dev"
    return shared if shared.is_dir() else ROOT / "tests" / "published" / "corpus"


def sources(args) -> list[tuple[Path, dict, str]]:
    """(path, truth, origin) of every source measured."""
    out = []
    cdir = corpus_dir(args.corpus)
    for p in sorted(cdir.iterdir()):
        if p.suffix.lower() in (".html", ".htm", ".txt", ".md", ".docx", ".pdf") and p.with_suffix(".json").exists():
            out.append((p, json.loads(p.with_suffix(".json").read_text(encoding="utf-8")), "corpus"))
    if args.no_constructed:
        return out
    from tests.published import build
    from xlsxgen.spec import load_format

    tmp = Path(tempfile.mkdtemp(prefix="xlsxgen-bench-published-"))
    docs = {}
    for name, fid in (("xingtai-2023.json", "gov-info-2021"), ("example-2020-gov-info-2019.json", "gov-info-2019")):
        doc = json.loads((ROOT / "examples" / name).read_text(encoding="utf-8"))
        doc["published_inconsistencies"] = []
        docs[fid] = (doc, load_format(fid))
    docx_paths = []
    for fid, (doc, spec) in docs.items():
        for layout in ("official", "flat", "split", "text"):
            p = build.build_docx(doc, spec, tmp / f"{fid}-{layout}.docx", layout=layout)
            docx_paths.append((p, doc))
            out.append((p, doc, "constructed"))
        t = tmp / f"{fid}-glued.txt"
        t.write_text(build.text_report(doc, spec, sep=""), encoding="utf-8")
        out.append((t, doc, "constructed"))
    doc, spec = docs["gov-info-2021"]
    # the hard case: no ruling lines, so the PDF has no table to find; its text wraps labels around the numbers
    p = build.build_docx(doc, spec, tmp / "gov-info-2021-borderless.docx", layout="borderless")
    docx_paths.append((p, doc))
    out.append((p, doc, "constructed"))
    wrong = build.set_cell(doc, "applications", "granted", "total", doc["tables"]["applications"]["granted"]["total"] + 7)
    wrong["published_inconsistencies"] = []
    # the injected total breaks its row's sum and the 总计 column's sum of results
    wrong["expected_lint"] = [["applications.row_total", "granted"], ["applications.outcome_total", "total_processed"]]
    p = build.build_docx(wrong, spec, tmp / "gov-info-2021-injected-error.docx", layout="official")
    docx_paths.append((p, wrong))
    out.append((p, wrong, "constructed"))
    if build.SOFFICE:
        pdfs = build.to_pdf([p for p, _ in docx_paths], tmp / "pdf", tmp / "profile")
        for pdf, (_p, truth) in zip(pdfs, docx_paths):
            if pdf.exists():
                out.append((pdf, truth, "constructed"))
    else:
        print("（未安装 LibreOffice：不测 PDF）")
    return out


def floor(path: Path, data: bytes) -> None:
    kind = path.suffix.lower()
    if kind in (".html", ".htm"):
        from lxml import html

        from importer.published.html import _encoding

        html.document_fromstring(data.decode(_encoding(data), errors="replace"))
    elif kind == ".docx":
        import io

        import docx

        d = docx.Document(io.BytesIO(data))
        for _t in d.element.body.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tc"):
            pass
        del d
    elif kind == ".pdf":
        import io

        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                page.chars  # noqa: B018 - parsing the page is the point
    else:
        raise ValueError(f"no parsing library for {kind}: text is timed in milliseconds, not as a ratio")


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()  # the garbage of earlier calls is not this call's cost (see the docstring)
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def has_floor(kind: str) -> bool:
    return kind in ("html", "docx", "pdf")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--no-constructed", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    srcs = sources(args)
    per_kind = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    lint_ok = defaultdict(lambda: [0, 0])
    unexplained = []
    speed = defaultdict(list)  # per kind: ratios to the floor, or (text) milliseconds per report
    per_kb = defaultdict(list)  # text: milliseconds per KB of source
    rows = []
    ambiguous_reported = 0
    for path, truth, origin in srcs:
        res = extract(path)
        kind = path.suffix.lower().lstrip(".").replace("htm", "html").replace("htmll", "html")
        if res.status == "unreadable":
            print(f"{path.name}: 无法读取：{res.reason}")
            per_kind[kind]["(file)"]["unreadable"] += 1
            continue
        lint(res)
        canon = res.canonical()
        explained = {(f.table, f.row, f.column) for f in res.findings if f.rule in EXPLAINED}
        explained_rows = {(f.table, f.row) for f in res.findings if f.rule in EXPLAINED}
        ambiguous_reported += sum(1 for f in res.findings if f.rule == "extract.ambiguous")
        counts = defaultdict(int)
        for t, trows in canon["tables"].items():
            for rk, cols in trows.items():
                for ck, v in cols.items():
                    g = truth["tables"].get(t, {}).get(rk, {}).get(ck)
                    if g is None and v is None:
                        c = "exact"
                    elif g is None:
                        c = "invented"
                    elif v is None:
                        c = "missing"
                        if (t, rk, ck) not in explained and (t, rk) not in explained_rows:
                            unexplained.append((path.name, t, rk, ck))
                    elif abs(g - v) < 1e-9:
                        c = "exact"
                    else:
                        c = "wrong"
                        print(f"  WRONG {path.name} {t}.{rk}.{ck}: {v} (truth {g})")
                    if c == "invented":
                        print(f"  INVENTED {path.name} {t}.{rk}.{ck}: {v}")
                    per_kind[kind][t][c] += 1
                    counts[c] += 1
        expected = truth_inconsistencies(truth)
        if truth.get("expected_lint"):
            expected = {tuple(x) for x in truth["expected_lint"]}
        got = lint_pairs(res)
        if expected is not None:
            same = got == expected
            lint_ok[kind][0 if same else 1] += 1
            if not same:
                print(f"  LINT {path.name}: got {sorted(got)} expected {sorted(expected)}")
        data = path.read_bytes()
        t_floor = t_ex = float("inf")
        for _ in range(args.repeat):  # interleaved
            if has_floor(kind):
                t_floor = min(t_floor, timed(lambda d=data, p=path: floor(p, d), 1))
            t_ex = min(t_ex, timed(lambda p=path: extract(p), 1))
        if has_floor(kind):
            speed[kind].append(t_ex / t_floor if t_floor > 0 else float("nan"))
        else:
            t_floor = None
            speed[kind].append(t_ex * 1000)
            per_kb[kind].append(t_ex * 1000 / max(len(data) / 1024, 1e-9))
        rows.append((path.name, origin, kind, counts, t_floor, t_ex, len(data)))

    print(f"\n== 每个来源（min of {args.repeat} runs；文本文件没有解析库，只列时间）")
    print(f"{'source':48} {'kind':5} {'exact':>5} {'wrong':>5} {'miss':>5} {'inv':>4} {'KB':>6} {'floor ms':>9} "
          f"{'extract ms':>10} {'ratio':>6}")
    for name, _origin, kind, c, tf, te, size in rows:
        floor_s = f"{tf * 1000:9.2f}" if tf is not None else f"{'—':>9}"
        ratio_s = f"{te / tf if tf else float('nan'):6.2f}" if tf is not None else f"{'—':>6}"
        print(f"{name[:48]:48} {kind:5} {c['exact']:5} {c['wrong']:5} {c['missing']:5} {c['invented']:4} "
              f"{size / 1024:6.1f} {floor_s} {te * 1000:10.2f} {ratio_s}")

    print("\n== 按来源类型和表格")
    print(f"{'kind':5} {'table':20} {'exact':>6} {'wrong':>6} {'missing':>8} {'invented':>9} {'exact %':>8}")
    tot = defaultdict(int)
    for kind in sorted(per_kind):
        for t in sorted(per_kind[kind]):
            c = per_kind[kind][t]
            n = c["exact"] + c["wrong"] + c["missing"] + c["invented"]
            for k in ("exact", "wrong", "missing", "invented"):
                tot[k] += c[k]
            pct = 100 * c["exact"] / n if n else 0
            print(f"{kind:5} {t:20} {c['exact']:6} {c['wrong']:6} {c['missing']:8} {c['invented']:9} {pct:8.2f}")
    n = sum(tot.values())
    print(f"{'all':26} {tot['exact']:6} {tot['wrong']:6} {tot['missing']:8} {tot['invented']:9} "
          f"{100 * tot['exact'] / n if n else 0:8.2f}")

    print("\n== 按来源（真实年报 corpus / 构造的 constructed）")
    by_origin = defaultdict(lambda: defaultdict(int))
    for _name, origin, _kind, c, _tf, _te, _size in rows:
        for k in ("exact", "wrong", "missing", "invented"):
            by_origin[origin][k] += c[k]
    for origin, c in by_origin.items():
        n_o = sum(c.values())
        print(f"{origin:12} exact {c['exact']}  wrong {c['wrong']}  missing {c['missing']}  invented {c['invented']}"
              f"  exact {100 * c['exact'] / n_o if n_o else 0:.2f}%")

    print("\n== lint 与公布的不一致（ground truth）是否相同")
    for kind in sorted(lint_ok):
        ok, bad = lint_ok[kind]
        print(f"{kind:5} 相同 {ok}，不同 {bad}")
    print(f"\n== 不唯一（extract.ambiguous）报告 {ambiguous_reported} 处；没有说明的缺失 {len(unexplained)} 处"
          + (f"：{unexplained[:5]}" if unexplained else ""))

    print("\n== 速度：相对于库的裸解析（中位数，min–max）；文本文件：每份毫秒数和每 KB 毫秒数（中位数，min–max）")
    for kind in sorted(speed):
        v = speed[kind]
        if has_floor(kind):
            print(f"{kind:5} {statistics.median(v):6.2f}×  ({min(v):.2f}–{max(v):.2f}×, {len(v)} 个)")
        else:
            k = per_kb[kind]
            print(f"{kind:5} {statistics.median(v):6.2f} ms/份 ({min(v):.2f}–{max(v):.2f})  "
                  f"{statistics.median(k):.2f} ms/KB ({min(k):.2f}–{max(k):.2f})，{len(v)} 个")

    print("\n== 目标")
    exact_pct = 100 * tot["exact"] / n if n else 0
    print(f"wrong = 0：{'达到' if tot['wrong'] == 0 else '未达到'}（{tot['wrong']}）")
    print(f"invented = 0：{'达到' if tot['invented'] == 0 else '未达到'}（{tot['invented']}）")
    print(f"exact ≥ 99%（全部）：{'达到' if exact_pct >= 99 else '未达到'}（{exact_pct:.2f}%）")
    if by_origin.get("corpus"):
        c = by_origin["corpus"]
        pct = 100 * c["exact"] / sum(c.values())
        print(f"exact ≥ 99%（真实年报）：{'达到' if pct >= 99 else '未达到'}（{pct:.2f}%）")
    print(f"每处缺失都有说明：{'达到' if not unexplained else '未达到'}")
    for kind in sorted(speed):
        if kind in ("html", "pdf", "docx"):
            m = statistics.median(speed[kind])
            print(f"速度 ≤ 1.5×（{kind}）：{'达到' if m <= 1.5 else '未达到'}（{m:.2f}×）")
    return 0 if tot["wrong"] == 0 and tot["invented"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
