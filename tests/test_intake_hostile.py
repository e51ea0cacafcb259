"""Issue 11, the intake's items: what an inbox holds besides workbooks, and files that try to hurt the batch.

Non-UTF-8 names (1), our own outputs (6), per-file time and memory budgets (8),
symlinks, FIFOs, sparse giants and hidden entries (9), escape sequences in names
(10), kill -9 of collect (12); plus .zip attachments (issue 12, item 4).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from xlsxgen.collection import intake
from xlsxgen.collection.intake import collect
from xlsxgen.collection.outputs import write_outputs
from xlsxgen.collection.overview import build_overview
from xlsxgen.collection.store import Store
from xlsxgen.demo import demo_contact, simulate
from xlsxgen.workbook.writer import build_workbook

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2023


@pytest.fixture
def filled(spec2021, seed_submission):
    """filled(code, name) -> the bytes of a correctly filled workbook of that agency."""

    def make(code, name, seed=None):
        sub = simulate(spec2021, seed_submission, year=YEAR, agency_name=name, agency_code=code, seed=seed or code,
                       factor=0.5)
        sub.contact = demo_contact(spec2021)
        return build_workbook(spec2021, year=YEAR, agency_name=name, agency_code=code, data=sub)

    return make


def _roster(tmp_path, rows):
    p = tmp_path / "名单.csv"
    p.write_text("代码,名称\n" + "".join(f"{c},{n}\n" for c, n in rows), encoding="utf-8")
    return p


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *args], capture_output=True, env=env, timeout=300)


# ---------------------------------------------------------------------------- 1, 10: names


def test_gbk_and_escape_names_do_not_abort_the_batch(tmp_path, filled):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    gbk = os.path.join(os.fsencode(inbox), "丰州镇年报.xlsx".encode("gbk"))
    with open(gbk, "wb") as fh:
        fh.write(filled("001", "丰州镇"))
    (inbox / "\x1b[31m红色\x1b[0m.xlsx").write_bytes(filled("002", "城关镇"))
    (inbox / "ok.xlsx").write_bytes(filled("003", "西关镇"))
    roster = _roster(tmp_path, [("001", "丰州镇"), ("002", "城关镇"), ("003", "西关镇")])
    db = tmp_path / "c.sqlite"
    out = run_cli("collect", str(inbox), "--db", str(db), "--year", str(YEAR), "--roster", str(roster),
                  "--out-dir", str(tmp_path / "out"), "--quiet")
    assert out.returncode == 0, out.stderr.decode()
    assert b"\x1b" not in out.stdout and b"Traceback" not in out.stderr
    with Store.open(db) as s:
        recs = list(s.all_records(YEAR))
        assert len(recs) == 3
        names = {r.file_name for r in recs}
        assert "丰州镇年报.xlsx" in names  # GBK decoded: readable
        assert r"\x1b[31m红色\x1b[0m.xlsx" in names  # spelled out, never raw
        assert {r.status for r in recs} == {"accepted"}
    # validate --json and the text report on such names
    out = run_cli("validate", "--json", os.fsdecode(gbk))
    assert out.returncode == 0, out.stderr.decode()
    assert json.loads(out.stdout)["files"][0]["path"].endswith("丰州镇年报.xlsx")


# ---------------------------------------------------------------------------- 6: our own outputs


def test_outputs_inside_the_inbox_are_never_collected(tmp_path, filled, spec2021):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(filled("A1", "甲局"))
    (inbox / "b.xlsx").write_bytes(filled("B1", "乙局"))
    db = tmp_path / "c.sqlite"
    sums = []
    for run in range(3):
        out_dir = inbox / "汇总"
        res = collect(inbox, db=db, year=YEAR, show_progress=False, jobs=1, out_dir=out_dir)
        with Store.open(db) as s:
            ov = build_overview(s, YEAR)
            assert sorted(r.code for r in ov.rows) == ["A1", "B1"], run
            outs = write_outputs(s, ov, spec=spec2021, out_dir=out_dir, sum_name="测试市")
            sums.append(outs.sum_json.read_text(encoding="utf-8"))
        if run == 1:  # a copy of the outputs elsewhere in the inbox: recognised by their metadata
            for p in list(out_dir.glob("*.xlsx")):
                (inbox / ("copy-" + p.name)).write_bytes(p.read_bytes())
    assert sums[0] == sums[1] == sums[2]  # the totals do not grow
    codes = {sk.code for sk in res.skipped}
    assert "own_output" in codes and "out_dir" in codes


# ---------------------------------------------------------------------------- 8: budgets


def _slow_import(data, name, store=None, known=None):
    time.sleep(30)


def test_a_file_over_the_time_budget_is_stopped(tmp_path, filled, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(filled("A1", "甲局"))
    monkeypatch.setattr(intake, "TIME_BUDGET_SECONDS", 0.5)
    monkeypatch.setattr(intake, "_import", _slow_import)
    t0 = time.monotonic()
    res = collect(inbox, db=tmp_path / "c.sqlite", year=YEAR, show_progress=False, jobs=1)
    assert time.monotonic() - t0 < 10
    assert res.by_status["unreadable"] == 1
    with Store.open(tmp_path / "c.sqlite") as s:
        (rec,) = list(s.all_records(YEAR))
        assert "秒内未能读完" in rec.reason


def _greedy_import(data, name, store=None, known=None):
    hog = []
    for _ in range(64):
        hog.append(bytearray(64 * 1024 * 1024))
    return None


def test_a_worker_over_the_memory_budget_is_stopped(tmp_path, filled, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(filled("A1", "甲局"))
    (inbox / "b.xlsx").write_bytes(filled("B1", "乙局"))
    monkeypatch.setattr(intake, "MEMORY_BUDGET_MB", 256)
    monkeypatch.setattr(intake, "_import", _greedy_import)  # workers are forked: they see the patch
    res = collect(inbox, db=tmp_path / "c.sqlite", year=YEAR, show_progress=False, jobs=2)
    assert res.by_status["unreadable"] == 2
    with Store.open(tmp_path / "c.sqlite") as s:
        assert all("内存" in r.reason for r in s.all_records(YEAR))


# ---------------------------------------------------------------------------- 9: what is not a regular file


def test_symlinks_fifos_sparse_and_hidden_entries_are_reported(tmp_path, filled):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outside = tmp_path / "secret.xlsx"
    outside.write_bytes(filled("A1", "甲局"))
    (inbox / "link.xlsx").symlink_to(outside)
    (inbox / "linkdir").symlink_to(tmp_path)
    os.mkfifo(inbox / "pipe.xlsx")
    with open(inbox / "sparse.xlsx", "wb") as fh:
        fh.truncate(8 * 1024**3)
    (inbox / ".hidden.xlsx").write_bytes(filled("A1", "甲局"))
    (inbox / "~$a.xlsx").write_bytes(b"\0" * 165)
    (inbox / "真的.xlsx").write_bytes(filled("B1", "乙局"))
    (inbox / "inside.xlsx").symlink_to(inbox / "真的.xlsx")  # inside the inbox: followed (same file, once)
    t0 = time.monotonic()
    res = collect(inbox, db=tmp_path / "c.sqlite", year=YEAR, show_progress=False, jobs=1)
    assert time.monotonic() - t0 < 20  # the 8 GB sparse file is not read
    by_path = {sk.path: sk.code for sk in res.skipped}
    assert by_path["link.xlsx"] == "symlink_outside"
    assert by_path["linkdir"] == "symlink_outside"
    assert by_path["pipe.xlsx"] == "special"
    assert by_path["sparse.xlsx"] == "sparse"
    assert by_path[".hidden.xlsx"] == "hidden"
    assert by_path["~$a.xlsx"] == "lock_file"
    with Store.open(tmp_path / "c.sqlite") as s:
        recs = list(s.all_records(YEAR))
        assert [r.agency_code for r in recs] == ["B1"]


# ---------------------------------------------------------------------------- zip attachments


class _GBKInfo(zipfile.ZipInfo):
    """A member whose name is stored in GBK without the UTF-8 flag, as Windows' built-in zip writes it."""

    def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's hook
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            if isinstance(name, bytes):  # a GBK member name, as Windows' zip writes it (no UTF-8 flag)
                z.writestr(_GBKInfo(name.decode("gbk")), data)
            else:
                z.writestr(name, data)
    return buf.getvalue()


def test_zip_attachments_are_opened_within_the_limits(tmp_path, filled):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    inner = _zip({"丙局.xlsx": filled("C1", "丙局")})
    deeper = _zip({"x.zip": _zip({"丁局.xlsx": filled("D1", "丁局")})})
    bomb = b"\0" * (30 * 1024 * 1024)
    (inbox / "附件.zip").write_bytes(_zip({
        "甲局.xlsx": filled("A1", "甲局"),
        "乙局年报.xlsx".encode("gbk"): filled("B1", "乙局"),
        "../../escape.xlsx": b"not a workbook",
        "说明.doc": b"\xd0\xcf\x11\xe0",
        "inner.zip": inner,
        "deeper.zip": deeper,
        "bomb.xlsx": bomb,
    }))
    (inbox / "坏.zip").write_bytes(b"PK\x03\x04 truncated")
    roster = _roster(tmp_path, [("A1", "甲局"), ("B1", "乙局"), ("C1", "丙局"), ("D1", "丁局")])
    db = tmp_path / "c.sqlite"
    res = collect(inbox, db=db, year=YEAR, roster_path=roster, show_progress=False, jobs=1)
    with Store.open(db) as s:
        paths = {r.path: r for r in s.all_records(YEAR)}
    assert paths["附件.zip!甲局.xlsx"].status == "accepted"
    assert paths["附件.zip!乙局年报.xlsx"].status == "accepted"
    assert paths["附件.zip!inner.zip!丙局.xlsx"].status == "accepted"
    assert paths["附件.zip!../../escape.xlsx"].status == "unreadable"  # a label only: nothing is written to disk
    assert not (tmp_path / "escape.xlsx").exists()
    skipped = {sk.path: sk for sk in res.skipped}
    assert skipped["附件.zip!说明.doc"].code == "other_type"
    assert skipped["附件.zip!deeper.zip!x.zip"].code == "archive"  # two levels deep: not opened
    assert skipped["附件.zip!bomb.xlsx"].code == "archive"  # ratio or size
    assert skipped["坏.zip"].code == "archive"


# ---------------------------------------------------------------------------- 12: kill -9


_SLOW_COLLECT = """
import sys, time
from xlsxgen.collection import intake
def slow(data, name, store=None, known=None):
    time.sleep(60)
intake._import = slow
intake.collect(sys.argv[1], db=sys.argv[2], year=2023, show_progress=False, jobs=2)
"""


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc (Linux)")
def test_workers_die_with_a_killed_collect_and_temporaries_are_cleaned(tmp_path, filled):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(6):
        (inbox / f"{i}.xlsx").write_bytes(filled(f"A{i}", f"{i}局"))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", _SLOW_COLLECT, str(inbox), str(tmp_path / "c.sqlite")], env=env)
    try:
        workers: list[int] = []
        for _ in range(100):
            time.sleep(0.2)
            workers = [c for c in _children(p.pid) if _alive(c)]
            if len(workers) >= 2:
                break
        assert workers, "no worker processes started"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        for _ in range(50):
            if not any(_alive(w) for w in workers):
                break
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "workers outlived their parent"
    finally:
        if p.poll() is None:
            p.kill()
    # a temporary of the dead run is removed by the next run's output preparation; a live one stays
    from xlsxgen.collection.outputs import prepare_out_dir
    from xlsxgen.files import temp_prefix

    out = tmp_path / "out"
    out.mkdir()
    dead = out / f".报送情况-2023.xlsx.~{p.pid}~.abc.tmp"
    dead.write_bytes(b"x")
    mine = out / f"{temp_prefix('x.xlsx')}def.tmp"
    mine.write_bytes(b"x")
    prepare_out_dir(out)
    assert not dead.exists() and mine.exists()
