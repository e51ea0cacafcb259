"""The fast paths of issue 6 give the same answers as the straightforward ones they replace.

* the one-step part reader (:meth:`importer.safety.Package.read_small`) against zipfile;
* the compiled totals (:attr:`CompiledSpec.fill_totals`) against :func:`xlsxgen.spec.expr.evaluate`;
* the streamed consolidated workbook against the same workbook written cell by cell with xlsxwriter,
  and against LibreOffice reading it back;
* the reader's handler swapping under a namespace prefix (styles).
"""

from __future__ import annotations

import io
import json
import random
import shutil
import struct
import subprocess
import zipfile
from dataclasses import dataclass

import pytest

from importer import read_workbook, validate_result
from importer.findings import Unreadable
from importer.safety import SMALL_PART, Package
from importer.xlsx_reader import read_styles
from tests.conftest import all_format_ids
from tests.hostile import make_zip, zip_parts
from xlsxgen.collection.consolidate import FIXED_COLUMNS, _Frame, figure_columns, write_consolidated_workbook
from xlsxgen.data import to_canonical
from xlsxgen.spec import expr, load_format
from xlsxgen.spec.rules import compile_spec, recompute_totals
from xlsxgen.workbook.writer import build_workbook

# --------------------------------------------------------------------------- part reader


@pytest.fixture(scope="module")
def workbook(spec2021, seed_submission):
    return build_workbook(spec2021, year=2023, agency_name="某局", agency_code="001", data=seed_submission)


def test_read_small_gives_zipfiles_bytes(workbook):
    pkg = Package(workbook)
    with zipfile.ZipFile(io.BytesIO(workbook)) as z:
        for info in z.infolist():
            assert pkg.read_small(info.filename) == z.read(info)


def test_stored_entries_read_the_same(workbook, spec2021, seed_submission):
    stored = make_zip(zip_parts(workbook), zipfile.ZIP_STORED)
    res = validate_result(read_workbook(stored))
    assert res.status == "ok" and res.findings == []
    assert res.canonical() == validate_result(read_workbook(workbook)).canonical()


def _local_header(data: bytes, name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.getinfo(name).header_offset


@pytest.mark.parametrize("damage", ["crc", "name", "signature", "truncated_stream"])
def test_damaged_small_part_is_corrupt(workbook, damage):
    part = "xl/styles.xml"
    buf = bytearray(workbook)
    ho = _local_header(workbook, part)
    with zipfile.ZipFile(io.BytesIO(workbook)) as z:
        info = z.getinfo(part)
    if damage == "crc":  # the directory's CRC no longer matches the data
        i = buf.find(b"PK\x01\x02")
        while i >= 0:
            n = struct.unpack_from("<H", buf, i + 28)[0]
            if bytes(buf[i + 46:i + 46 + n]).decode() == part:
                struct.pack_into("<I", buf, i + 16, info.CRC ^ 0xFFFF)
            i = buf.find(b"PK\x01\x02", i + 4)
    elif damage == "name":
        buf[ho + 30] = ord("X")
    elif damage == "signature":
        buf[ho:ho + 4] = b"PK\x09\x09"
    else:  # the deflate stream cut short, sizes in the directory unchanged
        n, m = struct.unpack_from("<HH", buf, ho + 26)
        start = ho + 30 + n + m
        for k in range(start + info.compress_size // 2, start + info.compress_size):
            buf[k] = 0
    res = read_workbook(bytes(buf))
    assert res.status == "unreadable" and res.findings[0].rule == "file.corrupt", [f.rule for f in res.findings]


def test_large_parts_are_streamed(workbook):
    big = b"<x>" + random.Random(1).randbytes(SMALL_PART // 2 + 10).hex().encode() + b"</x>"
    pkg = Package(make_zip({"big.xml": big}))
    assert pkg.read_small("big.xml") is None
    assert pkg.read("big.xml") == big
    with pytest.raises(Unreadable):
        pkg.read_small("nope.xml")


def test_read_total_limit_applies_to_small_parts(workbook):
    from importer import Limits

    res = read_workbook(workbook, limits=Limits(max_total_size=20_000))
    assert res.status == "unreadable" and res.findings[0].rule == "file.too_big_uncompressed"


# --------------------------------------------------------------------------- compiled totals


@pytest.mark.parametrize("format_id", all_format_ids())
def test_compiled_totals_equal_the_tree_evaluation(format_id):
    spec = load_format(format_id)
    compiled = compile_spec(spec)
    inputs = [(t.key, r, c) for t in spec.tables for r, c in t.cells if t.kinds[(r, c)] != "total"]
    for trial in range(60):
        rnd = random.Random(trial)
        values = {k: (rnd.randint(0, 10**6) if trial % 3 else rnd.random() * 10 ** rnd.randint(0, 9))
                  for k in inputs if rnd.random() > 0.1}
        tree = dict(values)
        for t in compiled.totals:
            tree[t.cell] = expr.evaluate(t.node, lambda r, v=tree: v.get((r.table, r.row, r.column), 0))
        fast = recompute_totals(spec, dict(values))
        assert fast == tree
        assert all(type(fast[k]) is type(tree[k]) for k in tree)


# --------------------------------------------------------------------------- consolidated workbook


@dataclass
class _Rec:
    agency_code: str
    agency_name: str
    data_json: str
    usable: bool
    status: str


def _records(spec, seed_submission, n=12):
    doc = to_canonical(spec, seed_submission)
    names = ["测试局", "  前后有空格 ", "A&B<C>", "控制\x01字符", "_x0041_ 转义", "很长" * 40, "换\n行", "普通单位"]
    out = []
    amounts = [(t, rk, ck) for t in spec.tables for rk, ck in t.input_cells() if t.kinds[(rk, ck)] == "amount"]
    for i in range(n):
        d = json.loads(json.dumps(doc))
        d["agency"] = {"name": names[i % len(names)], "code": f"C{i:03d}"}
        t = spec.tables[i % len(spec.tables)]
        rk, ck = t.input_cells()[i % len(t.input_cells())]
        if i % 4 == 1 and amounts:
            ta, ra, ca = amounts[i % len(amounts)]
            d["tables"][ta.key][ra][ca] = round(12.5 + i / 7, 6)  # an amount with six decimals
        elif i % 4 == 2:
            d["tables"][t.key][rk].pop(ck, None)  # a missing figure: a styled blank cell
        elif i % 4 == 3:
            d["tables"][t.key][rk][ck] = 10**9  # the largest count
        if i % 8 == 7:
            d["tables"][t.key][rk][ck] = 10**17  # outside the numeric domain (an older release's store): not summed
        usable = i % 3 != 2
        out.append(_Rec(f"C{i:03d}", names[i % len(names)], json.dumps(d, ensure_ascii=False), usable,
                        "accepted" if usable else "invalid"))
    return out


def _reference(path, spec, year, records, state_label, sum_name):
    """The consolidated workbook written cell by cell with xlsxwriter (what the streamed writer replaces)."""
    from xlsxgen.collection.consolidate import Summer

    cols = figure_columns(spec)
    frame = _Frame(str(path), spec=spec, year=year, cols=cols, options={"constant_memory": True})
    frame.head()
    ws, f, nfix = frame.ws, frame.data, len(FIXED_COLUMNS)
    summer = Summer(spec, year, sum_name)
    from xlsxgen.spec.domain import doc_in_domain, in_domain, writable

    r = 4
    for n, rec in enumerate(records, 1):
        doc = json.loads(rec.data_json)
        ok = doc_in_domain(spec, doc)
        usable = rec.usable and ok
        if usable:
            summer.add_doc(doc)
        ws.write_number(r, 0, n, f["center"])
        ws.write_string(r, 1, rec.agency_code, f["text"])
        ws.write_string(r, 2, rec.agency_name, f["text"])
        ws.write_string(r, 3, state_label(rec) + ("" if ok else "（有数值超出允许范围，未计入合计）"),
                        f["text"] if usable else f["excluded"])
        ws.write_string(r, 4, "是" if usable else "否", f["center"] if usable else f["excluded_center"])
        for c, col in enumerate(cols, nfix):
            k = col[1]
            v = doc["narrative"].get(k[1]) if col[0] == "field" else doc["tables"].get(k[0], {}).get(k[1], {}).get(k[2])
            kind = (next(x.kind for x in spec.narrative_fields if x.key == k[1]) if col[0] == "field"
                    else spec.table(k[0]).kinds[(k[1], k[2])])
            if kind == "total" and writable(v) is None or kind != "total" and not in_domain(v, kind):
                v = None
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(r, c, v, f["num_total"] if col[0] == "total" else f["num"])
            else:
                ws.write_blank(r, c, None, f["num"])
        r += 1
    frame.tail(r, summer.result(), summer.count)
    frame.wb.close()


def _cells(path):
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.active
    out = {}
    for row in ws.iter_rows():
        for c in row:
            out[c.coordinate] = (c.value, type(c.value).__name__, repr(c.font), repr(c.fill), repr(c.border),
                                 repr(c.alignment), c.number_format)
    return out, ws.merged_cells.ranges, ws.freeze_panes, ws.print_title_rows, ws.print_title_cols


def test_streamed_consolidated_workbook_equals_the_cell_by_cell_one(tmp_path, spec2021, seed_submission):
    recs = _records(spec2021, seed_submission)

    def label(rec):
        return "已提交且通过" if rec.usable else "有错误"

    total, count = write_consolidated_workbook(tmp_path / "new.xlsx", spec=spec2021, year=2023, records=iter(recs),
                                               state_label=label, sum_name="某市")
    _reference(tmp_path / "ref.xlsx", spec2021, 2023, recs, label, "某市")
    assert count == sum(r.usable for i, r in enumerate(recs) if i % 8 != 7)
    new, ref = _cells(tmp_path / "new.xlsx"), _cells(tmp_path / "ref.xlsx")
    assert new[1:] == ref[1:]
    assert new[0].keys() == ref[0].keys()
    for k in ref[0]:
        assert new[0][k] == ref[0][k], k
    # the worksheet XML is xlsxwriter's own, but for style numbers
    with zipfile.ZipFile(tmp_path / "new.xlsx") as z:
        assert sorted(z.namelist()) == sorted(zipfile.ZipFile(tmp_path / "ref.xlsx").namelist())
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_consolidated_workbook_without_agencies(tmp_path, spec2021):
    total, count = write_consolidated_workbook(tmp_path / "empty.xlsx", spec=spec2021, year=2023, records=iter(()),
                                               state_label=lambda r: "", sum_name="某市")
    assert count == 0
    cells, *_ = _cells(tmp_path / "empty.xlsx")
    assert cells["C5"][0] == "合计（0 个单位）"


@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")), reason="LibreOffice is not installed")
def test_libreoffice_reads_the_streamed_consolidated_workbook(tmp_path, spec2021, seed_submission):
    import csv

    recs = _records(spec2021, seed_submission, n=30)
    path = tmp_path / "汇总表.xlsx"
    write_consolidated_workbook(path, spec=spec2021, year=2023, records=iter(recs), state_label=lambda r: "状态",
                                sum_name="某市")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path / "lo"),
                    str(path)], check=True, capture_output=True, timeout=300)
    rows = list(csv.reader((tmp_path / "lo" / "汇总表.csv").open(encoding="utf-8")))
    import openpyxl
    from openpyxl.utils.escape import unescape  # _x0001_ → \x01, as LibreOffice (and Excel) read it

    expected = [["" if v is None else unescape(v) if isinstance(v, str) else v for v in r]
                for r in openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected):
        for a, b in zip(got, want):
            if isinstance(b, (int, float)):
                assert float(a) == pytest.approx(b, rel=1e-12)
            else:
                assert a == b


# --------------------------------------------------------------------------- reader


def test_prefixed_styles_read_the_same():
    styles = (b'<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b'<x:numFmts count="1"><x:numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></x:numFmts>'
              b'<x:fonts count="1"><x:font><x:sz val="11"/></x:font></x:fonts>'
              b'<x:cellStyleXfs count="2"><x:xf numFmtId="0"/><x:xf numFmtId="0"><x:protection locked="0"/></x:xf>'
              b'</x:cellStyleXfs><x:cellXfs count="3"><x:xf numFmtId="0" xfId="0"/><x:xf numFmtId="164" xfId="1"/>'
              b'<x:xf numFmtId="0" xfId="0"><x:protection locked="0"/></x:xf></x:cellXfs>'
              b'<x:cellStyles count="1"><x:cellStyle name="Normal" xfId="0"/></x:cellStyles></x:styleSheet>')
    st = read_styles(Package(make_zip({"xl/styles.xml": styles})), "xl/styles.xml")
    plain = read_styles(Package(make_zip({"xl/styles.xml": styles.replace(b"x:", b"").replace(b":x=", b"=")})),
                        "xl/styles.xml")
    assert st.locked == plain.locked == [True, False, False]
    assert st.date == plain.date == [False, True, False]
