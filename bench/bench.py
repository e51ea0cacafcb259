"""Benchmark: xlsxgen against floors and peers, side by side, in one run.

    python bench/bench.py                     # default: 30 repeats, collect at 100 and 1,000 files
    python bench/bench.py --sizes 100,1000,10000
    python bench/bench.py --quick             # tiny sizes: keeps the script working (CI)

Every contender runs on the same workbook shape (the gov-info-2021 template
filled with the Xingtai 2023 seed), interleaved round-robin so that machine
noise hits all of them alike. Reported: median, min–max, ratio to the floor of
its group, and peak Python memory (tracemalloc) of one run.

Floors and peers (issue 6):
- write floor: xlsxwriter writing only the same values and formulas, in memory;
- write peer: the same full-featured workbook written with openpyxl;
- read floor: zipfile + expat over just the needed sheet parts and shared strings;
- read peers: openpyxl load_workbook (full and read_only), python-calamine.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path
from xml.parsers import expat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402
import xlsxwriter  # noqa: E402

from xlsxgen.data import from_canonical_trusted  # noqa: E402
from xlsxgen.generate import build_workbook  # noqa: E402
from xlsxgen.layout import a1  # noqa: E402
from xlsxgen.personalise import Personaliser  # noqa: E402
from xlsxgen.plan import build_plan, quote_sheet  # noqa: E402
from xlsxgen.rules import recompute_totals  # noqa: E402
from xlsxgen.spec import load_format  # noqa: E402

SPEC = load_format("gov-info-2021")
SEED = from_canonical_trusted(SPEC, json.loads((ROOT / "examples" / "xingtai-2023.json").read_text("utf-8")))
PLAN = build_plan(SPEC)
VALUES = recompute_totals(SPEC, dict(SEED.values))


# --------------------------------------------------------------------------- write contenders
def write_floor() -> bytes:
    """xlsxwriter, only the values and formulas, in memory: the floor."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    for sp in PLAN.sheets:
        ws = wb.add_worksheet(sp.name)
        for c in sp.cells:
            if c.formula:
                ws.write_formula(c.row, c.col, "=" + c.formula)
            elif c.role == "input":
                ws.write_number(c.row, c.col, VALUES.get(c.key, 0))
            elif c.text:
                ws.write_string(c.row, c.col, c.text)
    wb.close()
    return out.getvalue()


def write_ours_full() -> bytes:
    return build_workbook(SPEC, year=2023, agency_name=SEED.agency_name, agency_code=SEED.agency_code, data=SEED)


_PERSONALISER = None


def write_ours_roster() -> bytes:
    """Per agency of a roster: the base is built once (outside the loop), then personalised."""
    global _PERSONALISER
    if _PERSONALISER is None:
        _PERSONALISER = Personaliser(SPEC, 2024)
    _PERSONALISER.counter = getattr(_PERSONALISER, "counter", 0) + 1
    return _PERSONALISER.build(f"某某市第{_PERSONALISER.counter}局", f"C{_PERSONALISER.counter}")


def write_openpyxl_peer() -> bytes:
    """The same full-featured workbook (styles, merges, protection, validation, names) with openpyxl."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    font = Font(name="宋体", size=10)
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")
    yellow = PatternFill("solid", fgColor="FFF2CC")
    grey = PatternFill("solid", fgColor="EDEDED")
    for sp in PLAN.sheets:
        ws = wb.create_sheet(sp.name)
        dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", showErrorMessage=True,
                            promptTitle="请填写件数", prompt="填写非负整数", errorTitle="输入有误", error="只能填写整数")
        ws.add_data_validation(dv)
        for i, w in enumerate(sp.widths):
            ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = w
        for c in sp.cells:
            cell = ws.cell(row=c.row + 1, column=c.col + 1)
            if c.formula:
                cell.value = "=" + c.formula
                cell.fill = grey
            elif c.role == "input":
                cell.value = VALUES.get(c.key, 0)
                cell.fill = yellow
                cell.protection = Protection(locked=False)
                dv.add(cell.coordinate)
                wb.defined_names[".".join(c.key)] = DefinedName(
                    ".".join(c.key), attr_text=f"{quote_sheet(sp.name)}!{a1(c.row, c.col, True)}")
            elif c.text:
                cell.value = c.text
            cell.font = font
            cell.border = border
            cell.alignment = wrap
            if c.merged:
                ws.merge_cells(start_row=c.row + 1, start_column=c.col + 1, end_row=c.last_row + 1,
                               end_column=c.last_col + 1)
        ws.protection.sheet = True
        if sp.kind == "meta":
            ws.sheet_state = "veryHidden"
    wb.security.lockStructure = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- read contenders
FILLED = write_ours_full()


def _sheet_parts(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return sorted(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))


PARTS = _sheet_parts(FILLED)
NEEDED = [p for i, p in enumerate(PARTS) if i in (0, 2, 3, 4, 5)]  # cover, three tables, narrative


def read_floor(data: bytes = FILLED) -> dict:
    """zipfile + expat over the needed sheet parts and the shared strings: the floor."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        strings: list[str] = []
        buf: list[str] = []
        p = expat.ParserCreate()

        def start(name, attrs):
            if name == "si":
                buf.clear()

        def end(name):
            if name == "si":
                strings.append("".join(buf))

        p.StartElementHandler, p.EndElementHandler = start, end
        p.CharacterDataHandler = buf.append
        p.Parse(z.read("xl/sharedStrings.xml"), True)
        values: dict = {}
        for part in NEEDED:
            state = {"ref": None, "t": None, "in_v": False}
            text: list[str] = []
            p = expat.ParserCreate()

            def s(name, attrs, state=state, text=text):
                if name == "c":
                    state["ref"], state["t"] = attrs.get("r"), attrs.get("t")
                elif name == "v":
                    state["in_v"] = True
                    text.clear()

            def e(name, state=state, text=text, part=part):
                if name == "v":
                    state["in_v"] = False
                    v = "".join(text)
                    values[(part, state["ref"])] = strings[int(v)] if state["t"] == "s" else v

            def d(chunk, state=state, text=text):
                if state["in_v"]:
                    text.append(chunk)

            p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = s, e, d
            p.Parse(z.read(part), True)
        return values


def read_openpyxl_full(data: bytes = FILLED):
    return openpyxl.load_workbook(io.BytesIO(data))


def read_openpyxl_readonly(data: bytes = FILLED):
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    out = {}
    for name in wb.sheetnames:
        for row in wb[name].iter_rows():
            for c in row:
                if getattr(c, "value", None) is not None:
                    out[(name, c.coordinate)] = c.value
    wb.close()
    return out


def read_calamine(data: bytes = FILLED):
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def read_ours(data: bytes = FILLED):
    import importer

    res = importer.read_workbook(data, name="bench.xlsx")
    assert res.status == "ok", (res.status, [f.message for f in res.findings][:3])
    return res


# --------------------------------------------------------------------------- render contenders
def _render(fmt):
    from xlsxgen.render import render_report

    return render_report(SPEC, SEED, fmt)


# --------------------------------------------------------------------------- harness
def measure(groups: dict[str, list[tuple[str, callable]]], repeat: int) -> list[tuple]:
    """Round-robin timing; returns rows (group, name, median, min, max, ratio, peak KiB)."""
    rows = []
    for group, contenders in groups.items():
        times = {name: [] for name, _ in contenders}
        for fn in (f for _, f in contenders):  # warm-up
            fn()
        for _ in range(repeat):
            for name, fn in contenders:
                gc.disable()
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
                gc.enable()
        floor = statistics.median(times[contenders[0][0]])
        for name, fn in contenders:
            tracemalloc.start()
            fn()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            ts = times[name]
            med = statistics.median(ts)
            rows.append((group, name, med, min(ts), max(ts), med / floor, peak / 1024))
    return rows


def print_table(rows):
    print(f"{'group':<8} {'contender':<34} {'median ms':>10} {'min–max ms':>16} {'× floor':>8} {'peak KiB':>9}")
    for group, name, med, lo, hi, ratio, peak in rows:
        print(f"{group:<8} {name:<34} {med * 1000:>10.2f} {f'{lo * 1000:.2f}–{hi * 1000:.2f}':>16} "
              f"{ratio:>7.2f}× {peak:>9.0f}")


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc), in KiB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parents[int(d)] = int(fields[1])
            rss[int(d)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree)


def _run_measured(cmd) -> tuple[float, int, int]:
    """Run ``cmd``; return wall seconds, exit code and peak RSS of its whole process tree (KiB)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kib(proc.pid))
        time.sleep(0.05)
    return time.perf_counter() - t, proc.returncode, peak


def collect_scaling(sizes: list[int]) -> list[tuple]:
    """Wall time and peak RSS of `xlsxgen collect` over N distinct filled workbooks."""
    rows = []
    for n in sizes:
        tmp = Path(tempfile.mkdtemp(prefix=f"xlsxgen-bench-{n}-"))
        try:
            inbox = tmp / "inbox"
            inbox.mkdir()
            pers = Personaliser(SPEC, SEED.year, data=SEED)
            roster = ["代码,名称"]
            for i in range(n):
                code, name = f"B{i:05d}", f"基准测试单位{i:05d}"
                (inbox / f"{code}.xlsx").write_bytes(pers.build(name, code))
                roster.append(f"{code},{name}")
            (tmp / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
            cmd = [sys.executable, "-m", "xlsxgen.cli", "collect", str(inbox), "--db", str(tmp / "c.sqlite"),
                   "--year", str(SEED.year), "--roster", str(tmp / "roster.csv"), "--out-dir", str(tmp / "out")]
            wall, rc, peak = _run_measured(cmd)
            rows.append((n, wall, rc, peak))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--sizes", default="100,1000", help="collect sizes, comma separated (e.g. 100,1000,10000)")
    ap.add_argument("--quick", action="store_true", help="3 repeats, collect of 20 files: keeps the script working")
    args = ap.parse_args()
    repeat = 3 if args.quick else args.repeat
    sizes = [20] if args.quick else [int(s) for s in args.sizes.split(",") if s]

    write = [("xlsxwriter values+formulas (floor)", write_floor), ("xlsxgen full generation", write_ours_full),
             ("xlsxgen roster (personalised)", write_ours_roster), ("openpyxl full-featured (peer)",
                                                                    write_openpyxl_peer)]
    read = [("zipfile+expat (floor)", read_floor), ("openpyxl full (peer)", read_openpyxl_full),
            ("openpyxl read_only (peer)", read_openpyxl_readonly)]
    try:
        import python_calamine  # noqa: F401

        read.append(("python-calamine (peer)", read_calamine))
    except ImportError:
        pass
    try:
        import importer

        if hasattr(importer, "read_workbook"):
            read.append(("xlsxgen import+validate", read_ours))
    except ImportError:
        pass
    groups = {"write": write, "read": read}
    try:
        from xlsxgen.render import render_report  # noqa: F401

        groups["render"] = [("render html", lambda: _render("html")), ("render docx", lambda: _render("docx"))]
    except ImportError:
        pass
    print(f"xlsxgen benchmark — {repeat} interleaved repeats, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print_table(measure(groups, repeat))
    print()
    print(f"{'collect N':>10} {'wall s':>8} {'files/s':>8} {'peak RSS MB':>12} {'exit':>5}")
    for n, wall, rc, peak in collect_scaling(sizes):
        print(f"{n:>10} {wall:>8.2f} {n / wall:>8.0f} {peak / 1024:>12.0f} {rc:>5}")


if __name__ == "__main__":
    main()
