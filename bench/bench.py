"""Benchmark: xlsxgen against floors and peers, side by side, in one run.

    python bench/bench.py                           # default: 30 repeats, collect of 100 and 1,000 files
    python bench/bench.py --sizes 100,1000,10000    # the full run (10,000 files: about a minute)
    python bench/bench.py --quick                   # tiny sizes, 3 repeats: keeps the script working (CI)

It builds its own inputs (nothing to download): the gov-info-2021 workbook
filled with the Xingtai 2023 seed (examples/), and for ``collect`` N distinct
filled workbooks of a roster of N agencies (``Personaliser(spec, year,
data=seed)``). Every contender of a group runs on the same workbook shape,
interleaved round-robin, so that machine noise hits all of them alike; absolute
times on a shared machine are noise, the ratios are what to read.

Reported per contender: median, min–max, ratio to the first row of its group
(the floor), peak Python heap of one run (``tracemalloc``: native allocations,
e.g. calamine's, are not seen), and the target of issue 6 where there is one.

Write group
  floor   xlsxwriter writing only the same values and formulas, in memory (no
          styles, validation, protection, names, merges);
  ours    ``build_workbook`` (the full locked workbook) and a roster's workbook
          (``Personaliser.build``: built once, then personalised; byte-identical
          to a full generation);
  peer    the same full-featured workbook written with openpyxl.

Read group — what "the needed sheet parts" means here:
  floor   zipfile + expat over the *data* sheets (cover, the statutory tables,
          the narrative: the parts that hold figures and texts) and the shared
          strings, collecting the values by cell reference. This is the strict
          floor: the ratios of the group are to it;
  floor+  the same over *every sheet the importer's checks read*: the data
          sheets plus the instructions (labels checked for tampering), the live
          checks (formulas checked) and the hidden metadata sheet (identity).
          Shown for reference: it is what "needed for all checks" costs with
          values only. Neither floor reads styles.xml (lock flags) or
          workbook.xml (sheet names, protection, defined names), which the
          importer must;
  ours    ``importer.read_workbook`` + ``importer.validate_result``: identity,
          every tamper check (labels, formulas, lock flags, protection), values,
          totals and every rule — all checks included;
  peers   openpyxl ``load_workbook`` (full, and read_only reading every value),
          python-calamine (values of every sheet).

Render group: the report draft of one agency, HTML and DOCX (absolute targets).

Collect: ``xlsxgen collect`` (a subprocess, all cores) over N workbooks with a
roster of N agencies and ``--out-dir`` (overview, consolidated workbook, sum in
the official layout, drafts, N canonical JSON files): wall time, the import part
of it (as collect reports it), wall time per file as a ratio to the read floor
of this run (``× floor``: one core's floor against the whole machine's collect;
targets of issue 13: ≤ 1.0× on SQLite, ≤ 1.3× on PostgreSQL), and the peak
resident memory of the whole process tree (parent, pool workers and output children, sampled from
/proc every 50 ms): the sum of RSS (the target's measure; a page a forked child shares with its
parent counts twice) and the sum of PSS (shared pages divided among the processes). On SQLite, and on PostgreSQL when a server is given
(``--pg URL``, or the ``XLSXGEN_TEST_PG`` that ``.ci/with-postgres`` sets): each
run in a fresh schema of that database.

Store: recording N submissions (the seed's canonical JSON as data, in the batches
collect writes) and reading them back (``Store.current(with_data=True)``,
streamed), plus N ``Store.has`` lookups (what each worker asks per file), on
SQLite and PostgreSQL: µs per row, and the peak Python heap of the read-back.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import re
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
from xlsxgen.spec import load_format  # noqa: E402
from xlsxgen.spec.rules import recompute_totals  # noqa: E402
from xlsxgen.workbook.layout import a1  # noqa: E402
from xlsxgen.workbook.personalise import Personaliser  # noqa: E402
from xlsxgen.workbook.plan import build_plan, quote_sheet  # noqa: E402
from xlsxgen.workbook.writer import build_workbook  # noqa: E402

SPEC = load_format("gov-info-2021")
SEED = from_canonical_trusted(SPEC, json.loads((ROOT / "examples" / "xingtai-2023.json").read_text("utf-8")))
PLAN = build_plan(SPEC)
VALUES = recompute_totals(SPEC, dict(SEED.values))

HEADERS = ("group", "contender", "median ms", "min–max ms", "× floor", "peak KiB", "target")
COLLECT_HEADERS = ("db", "collect N", "wall s", "import s", "outputs s", "ms/file", "× floor", "peak RSS MB", "exit",
                   "peak PSS MB")
STORE_HEADERS = ("db", "store N", "record µs/row", "read µs/row", "has µs", "read peak KiB")


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


_PERSONALISER: list = []


def write_ours_roster() -> bytes:
    """Per agency of a roster: the base is built once (outside the loop), then personalised."""
    if not _PERSONALISER:
        _PERSONALISER.append(Personaliser(SPEC, 2024))
        _PERSONALISER.append(0)
    _PERSONALISER[1] += 1
    n = _PERSONALISER[1]
    return _PERSONALISER[0].build(f"某某市第{n}局", f"C{n}")


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
    """Worksheet parts in the workbook's sheet order (xlsxwriter names them sheet1.xml, sheet2.xml...)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
    return sorted(names, key=lambda n: int(re.search(r"\d+", n.rsplit("/", 1)[1]).group()))


PARTS = _sheet_parts(FILLED)
assert len(PARTS) == len(PLAN.sheets), "one worksheet part per planned sheet"
DATA_PARTS = [p for p, sp in zip(PARTS, PLAN.sheets) if sp.kind in ("cover", "table", "narrative", "previous")]
CHECKED_PARTS = list(PARTS)  # every planned sheet: the importer's checks read all of them


def _part_values(xml: bytes, part: str, strings: list[str], values: dict) -> None:
    """The <v> text of every cell of one sheet part, shared strings resolved, into ``values``."""
    ref = typ = None
    text: list[str] = []

    def start(name, attrs):
        nonlocal ref, typ
        if name == "c":
            ref, typ = attrs.get("r"), attrs.get("t")
        elif name == "v":
            text.clear()

    def end(name):
        if name == "v":
            v = "".join(text)
            values[(part, ref)] = strings[int(v)] if typ == "s" else v

    p = expat.ParserCreate()
    p.buffer_text = True
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text.append
    p.Parse(xml, True)


def _read_values(data: bytes, parts: list[str]) -> dict:
    """zipfile + expat: the shared strings, then the values of ``parts`` by (part, cell reference)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        strings: list[str] = []
        buf: list[str] = []

        def s_start(name, attrs):
            if name == "si":
                buf.clear()

        def s_end(name):
            if name == "si":
                strings.append("".join(buf))

        p = expat.ParserCreate()
        p.buffer_text = True
        p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = s_start, s_end, buf.append
        p.Parse(z.read("xl/sharedStrings.xml"), True)
        values: dict = {}
        for part in parts:
            _part_values(z.read(part), part, strings, values)
        return values


def read_floor() -> dict:
    """The floor: values of the data sheets (and shared strings)."""
    return _read_values(FILLED, DATA_PARTS)


def read_floor_checked() -> dict:
    """Values of every sheet the importer's checks read (and shared strings)."""
    return _read_values(FILLED, CHECKED_PARTS)


def read_openpyxl_full():
    return openpyxl.load_workbook(io.BytesIO(FILLED))


def read_openpyxl_readonly():
    wb = openpyxl.load_workbook(io.BytesIO(FILLED), read_only=True)
    out = {}
    for name in wb.sheetnames:
        for row in wb[name].iter_rows():
            for c in row:
                if getattr(c, "value", None) is not None:
                    out[(name, c.coordinate)] = c.value
    wb.close()
    return out


def read_calamine():
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(FILLED))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def read_ours():
    """Import and validate: identity, tampering, values, totals, every rule."""
    import importer

    res = importer.validate_result(importer.read_workbook(FILLED, name="bench.xlsx"))
    assert res.status == "ok" and res.validated, (res.status, [f.message for f in res.findings][:3])
    return res


# --------------------------------------------------------------------------- render contenders
def _render(fmt):
    from xlsxgen.render import render_report

    return render_report(SPEC, SEED, fmt)


# --------------------------------------------------------------------------- harness
def measure(groups: dict[str, list[tuple]], repeat: int) -> list[tuple]:
    """Round-robin timing; rows (group, name, median, min, max, ratio, peak KiB, target)."""
    rows = []
    for group, contenders in groups.items():
        times: dict[str, list[float]] = {c[0]: [] for c in contenders}
        for c in contenders:  # warm-up (imports, caches)
            c[1]()
        for _ in range(repeat):
            for name, fn, _target in contenders:
                gc.collect()
                gc.disable()
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
                gc.enable()
        floor = statistics.median(times[contenders[0][0]])
        for name, fn, target in contenders:
            tracemalloc.start()
            fn()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            ts = times[name]
            med = statistics.median(ts)
            rows.append((group, name, med, min(ts), max(ts), med / floor, peak / 1024, target))
    return rows


def print_table(rows):
    print(f"{HEADERS[0]:<7} {HEADERS[1]:<40} {HEADERS[2]:>9} {HEADERS[3]:>15} {HEADERS[4]:>8} "
          f"{HEADERS[5]:>8}  {HEADERS[6]}")
    for group, name, med, lo, hi, ratio, peak, target in rows:
        print(f"{group:<7} {name:<40} {med * 1000:>9.2f} {f'{lo * 1000:.2f}–{hi * 1000:.2f}':>15} "
              f"{ratio:>7.2f}× {peak:>8.0f}  {target}")


def _pss_kib(pid: int) -> int:
    """Proportional set size of a process (its private pages plus its share of pages shared with others), KiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_rss_kib(root: int, pss: list | None = None) -> int:
    """Resident memory of a process and all its descendants (Linux /proc), in KiB.

    The sum of RSS counts a page shared by forked processes (pool workers, output children) once per
    process; ``pss``: a list that receives the tree's summed PSS as well (shared pages divided among sharers)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parents[int(d)] = int(fields[1])
            rss[int(d)] = int(fields[21]) * page_kib
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    if pss is not None:
        pss.append(sum(_pss_kib(p) for p in tree))
    return sum(rss.get(p, 0) for p in tree)


def _run_measured(cmd, env=None) -> tuple[float, int, int, str, int]:
    """Run ``cmd``; wall seconds, exit code, peak RSS of its whole process tree (KiB), its output and the
    tree's peak PSS (KiB)."""
    out = tempfile.TemporaryFile()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    peak = 0
    pss: list[int] = []
    while proc.poll() is None:
        if sys.platform.startswith("linux"):
            peak = max(peak, _tree_rss_kib(proc.pid, pss))
        time.sleep(0.05)
    wall = time.perf_counter() - t
    out.seek(0)
    return wall, proc.returncode, peak, out.read().decode("utf-8", "replace"), max(pss, default=0)


def _make_pool(folder: Path, n: int) -> list[tuple[str, str, Path]]:
    """N distinct filled workbooks (the seed's figures; each its own agency), built once for every size."""
    pers = Personaliser(SPEC, SEED.year, data=SEED)
    files = []
    for i in range(n):
        code, name = f"B{i:05d}", f"基准测试单位{i:05d}"
        path = folder / f"{code}.xlsx"
        path.write_bytes(pers.build(name, code))
        files.append((code, name, path))
    return files


# --------------------------------------------------------------------------- databases
class _PgSchema:
    """A fresh schema in the PostgreSQL database ``url`` (dropped afterwards); the URL that selects it."""

    def __init__(self, url: str):
        import uuid

        self.url, self.name = url, "bench_" + uuid.uuid4().hex[:12]

    def _libpq(self):
        return self.url.replace("postgresql+psycopg://", "postgresql://", 1)

    def __enter__(self) -> str:
        import psycopg

        with psycopg.connect(self._libpq(), autocommit=True) as c:
            c.execute(f"CREATE SCHEMA {self.name}")
        return self.url + ("&" if "?" in self.url else "?") + f"options=-csearch_path%3D{self.name}"

    def __exit__(self, *exc):
        import psycopg

        with psycopg.connect(self._libpq(), autocommit=True) as c:
            c.execute(f"DROP SCHEMA {self.name} CASCADE")


class _Db:
    """Where a run's store goes: ``sqlite`` (a file in ``folder``) or ``postgresql`` (a fresh schema)."""

    def __init__(self, kind: str, folder: Path, pg_url: str | None):
        self.kind, self.folder, self.pg_url, self._schema = kind, folder, pg_url, None

    def __enter__(self) -> str:
        if self.kind == "sqlite":
            return str(self.folder / "c.sqlite")
        self._schema = _PgSchema(self.pg_url)
        return self._schema.__enter__()

    def __exit__(self, *exc):
        if self._schema is not None:
            self._schema.__exit__(*exc)


def _store_rows(n: int, batch_of: int = 200):
    from xlsxgen.data import to_canonical

    data = json.dumps(to_canonical(SPEC, SEED), ensure_ascii=False, separators=(",", ":"))
    now = "2025-01-10T10:00:00.000000+08:00"
    batch = []
    for i in range(n):
        batch.append(dict(sha256=f"{i:064x}", year=SEED.year, file_name=f"B{i:05d}.xlsx", path=f"B{i:05d}.xlsx",
                          size=30000, file_mtime=now, received_at=now, agency_code=f"B{i:05d}",
                          agency_name=f"基准测试单位{i:05d}", data_year=SEED.year, format_id=SPEC.id,
                          status="accepted", reason_code=None, reason=None, checked_status="accepted", errors=0,
                          warnings=0, findings="[]", data=data, run_id=None))
        if len(batch) == batch_of:
            yield batch
            batch = []
    if batch:
        yield batch


def store_roundtrip(kinds: list[str], n: int, pg_url: str | None) -> list[tuple]:
    """Record N submissions, read them back (streamed, with data), and N has() lookups, per database."""
    from xlsxgen.collection.roster import Agency, Roster
    from xlsxgen.collection.store import Store

    rows = []
    roster = Roster([Agency(f"B{i:05d}", f"基准测试单位{i:05d}") for i in range(n)])
    for kind in kinds:
        tmp = Path(tempfile.mkdtemp(prefix="xlsxgen-bench-store-"))
        try:
            with _Db(kind, tmp, pg_url) as db, Store.open(db) as st:
                st.save_roster(SEED.year, roster)
                t = time.perf_counter()
                for batch in _store_rows(n):
                    st.add_submissions(batch)
                record = time.perf_counter() - t
                t = time.perf_counter()
                got = sum(1 for r in st.current(SEED.year, with_data=True) if r.data_json)
                read = time.perf_counter() - t
                assert got == n, (got, n)
                t = time.perf_counter()
                for i in range(n):
                    st.has(SEED.year, f"{i:064x}")
                has = time.perf_counter() - t
                gc.collect()
                tracemalloc.start()
                sum(1 for _r in st.current(SEED.year, with_data=True))
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            rows.append((kind, n, record / n * 1e6, read / n * 1e6, has / n * 1e6, peak / 1024))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def print_store(rows):
    h = STORE_HEADERS
    print(f"{h[0]:<10} {h[1]:>7} {h[2]:>13} {h[3]:>11} {h[4]:>7} {h[5]:>13}")
    for kind, n, rec, read, has, peak in rows:
        print(f"{kind:<10} {n:>7} {rec:>13.1f} {read:>11.1f} {has:>7.1f} {peak:>13.0f}")


def collect_scaling(sizes: list[int], kinds=("sqlite",), pg_url: str | None = None) -> list[tuple]:
    """Wall time, import time and peak RSS of `xlsxgen collect` (with outputs) over N distinct filled workbooks."""
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="xlsxgen-bench-"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    try:
        pool_dir = tmp / "pool"
        pool_dir.mkdir()
        pool = _make_pool(pool_dir, max(sizes))
        for n in sizes:
            for kind in kinds:
                run = tmp / f"run-{kind}-{n}"
                inbox = run / "inbox"
                inbox.mkdir(parents=True)
                roster = ["代码,名称"]
                for code, name, path in pool[:n]:
                    try:
                        os.link(path, inbox / path.name)
                    except OSError:
                        shutil.copyfile(path, inbox / path.name)
                    roster.append(f"{code},{name}")
                (run / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
                with _Db(kind, run, pg_url) as db:
                    cmd = [sys.executable, "-m", "xlsxgen.cli", "collect", str(inbox), "--db", db,
                           "--year", str(SEED.year), "--roster", str(run / "roster.csv"), "--out-dir",
                           str(run / "out"), "--quiet"]
                    wall, rc, peak, output, pss = _run_measured(cmd, env)
                m = re.search(r"用时 ([\d.]+) 秒", output)
                imported = float(m.group(1)) if m else float("nan")
                if rc:
                    print(output[-2000:], file=sys.stderr)
                rows.append((kind, n, wall, imported, rc, peak, pss))
                print(f"  collect {kind} {n}: {wall:.1f} s, peak RSS {peak / 1024:.0f} MB (PSS {pss / 1024:.0f} MB)",
                      file=sys.stderr, flush=True)
                shutil.rmtree(run, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def print_collect(rows, floor_s: float):
    h = COLLECT_HEADERS
    print(f"{h[0]:<10} {h[1]:>9} {h[2]:>7} {h[3]:>8} {h[4]:>9} {h[5]:>7} {h[6]:>7} {h[7]:>11} {h[8]:>4} {h[9]:>11}")
    for kind, n, wall, imported, rc, peak, pss in rows:
        print(f"{kind:<10} {n:>9} {wall:>7.2f} {imported:>8.1f} {wall - imported:>9.1f} {wall / n * 1000:>7.2f} "
              f"{wall / n / floor_s:>6.2f}× {peak / 1024:>11.0f} {rc:>4} {pss / 1024:>11.0f}")
    print(f"(× floor: wall time per file over the single-core read floor of this run, {floor_s * 1000:.2f} ms)")
    for kind in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == kind]
        if len(mine) > 1:
            first = mine[0]
            growth = "; ".join(f"{n / first[1]:.0f}× files → {wall / first[2]:.1f}× time, "
                              f"{(peak / first[5]) if first[5] else float('nan'):.2f}× peak memory"
                              for _k, n, wall, _i, _rc, peak, _pss in mine[1:])
            print(f"growth from {first[1]} files ({kind}): {growth}")


def print_targets(rows, collect_rows):
    """Issue 6's targets against this run."""
    by = {(g, n): (med, ratio) for g, n, med, _lo, _hi, ratio, _p, _t in rows}
    lines = []

    def check(label, value, limit, unit):
        ok = value <= limit
        lines.append(f"  {'met    ' if ok else 'NOT MET'}  {label}: {value:.2f}{unit} (target ≤ {limit}{unit})")

    if ("write", "xlsxgen roster (personalised)") in by:
        check("roster workbook vs write floor", by[("write", "xlsxgen roster (personalised)")][1], 1.0, "×")
    if ("read", "xlsxgen import+validate, all checks") in by:
        ours = by[("read", "xlsxgen import+validate, all checks")][0]
        check("import+validate vs read floor (data sheets)", by[("read", "xlsxgen import+validate, all checks")][1],
              2.0, "×")
        if ("read", "floor+: every sheet the checks read") in by:
            check("import+validate vs floor+ (every sheet checked)", ours / by[("read",
                  "floor+: every sheet the checks read")][0], 2.0, "×")
        if ("read", "openpyxl read_only (peer)") in by:
            speedup = by[("read", "openpyxl read_only (peer)")][0] / ours
            lines.append(f"  {'met    ' if speedup >= 4 else 'NOT MET'}  faster than openpyxl read_only: "
                         f"{speedup:.1f}× (target ≥ 4×)")
    if ("render", "render html") in by:
        check("render html", by[("render", "render html")][0] * 1000, 10, " ms")
        check("render docx", by[("render", "render docx")][0] * 1000, 100, " ms")
    floor_s = by.get(("read", "zipfile+expat, data sheets (floor)"), (None,))[0]
    for kind, n, wall, _i, _rc, peak, _pss in collect_rows:
        if n >= 10_000:
            check(f"collect {n} wall ({kind})", wall, 30, " s")
            check(f"collect {n} peak RSS (process tree, {kind})", peak / 1024, 200, " MB")
        if n >= 1000 and floor_s:
            check(f"collect {n} per file vs read floor ({kind}, issue 13)", wall / n / floor_s,
                  1.0 if kind == "sqlite" else 1.3, "×")
    if lines:
        print("targets (issue 6, issue 13):")
        print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--sizes", default="100,1000", help="collect sizes, comma separated (e.g. 100,1000,10000)")
    ap.add_argument("--quick", action="store_true", help="3 repeats, collect of 20 files: keeps the script working")
    ap.add_argument("--pg", default=os.environ.get("XLSXGEN_BENCH_PG") or os.environ.get("XLSXGEN_TEST_PG"),
                    help="PostgreSQL database for the store and collect runs (postgresql+psycopg://…; "
                         "default $XLSXGEN_BENCH_PG or $XLSXGEN_TEST_PG; without it, SQLite only)")
    ap.add_argument("--store-n", type=int, default=10_000, help="submissions recorded and read back (store group)")
    args = ap.parse_args()
    repeat = 3 if args.quick else args.repeat
    sizes = [20] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    store_n = 200 if args.quick else args.store_n

    write = [("xlsxwriter values+formulas (floor)", write_floor, ""),
             ("xlsxgen full generation", write_ours_full, ""),
             ("xlsxgen roster (personalised)", write_ours_roster, "≤ 1.0×"),
             ("openpyxl full-featured (peer)", write_openpyxl_peer, "")]
    read = [("zipfile+expat, data sheets (floor)", read_floor, ""),
            ("floor+: every sheet the checks read", read_floor_checked, ""),
            ("xlsxgen import+validate, all checks", read_ours, "≤ 2.0×"),
            ("openpyxl full (peer)", read_openpyxl_full, ""),
            ("openpyxl read_only (peer)", read_openpyxl_readonly, "")]
    try:
        import python_calamine  # noqa: F401

        read.append(("python-calamine (peer)", read_calamine, ""))
    except ImportError:
        pass
    groups = {"write": write, "read": read,
              "render": [("render html", lambda: _render("html"), "≤ 10 ms"),
                         ("render docx", lambda: _render("docx"), "≤ 100 ms")]}
    print(f"xlsxgen benchmark — {repeat} interleaved repeats, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, {sys.platform}")
    rows = measure(groups, repeat)
    print_table(rows)
    print()
    print_store(store_roundtrip(kinds, store_n, args.pg))
    print()
    collect_rows = collect_scaling(sizes, kinds, args.pg)
    floor_s = next(r[2] for r in rows if r[1] == "zipfile+expat, data sheets (floor)")
    print_collect(collect_rows, floor_s)
    print()
    print_targets(rows, collect_rows)
    if any(r[4] for r in collect_rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
