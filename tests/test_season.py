"""Issue 12: a collection season end to end, through the real commands, as a county office lives it.

A GBK roster with contacts → generate → agencies fill (some through LibreOffice) → an inbox as e-mail
makes it: a neighbour's workbook under the wrong name, an untouched template, deleted zeros, a zip,
an .xls and a .doc → collect → confirm → remind → resubmissions → next year's roster with the codes'
leading zeros stripped by Excel → prefilled templates whose cover reads 待填写.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlsxgen import messages
from xlsxgen.collection.store import Store
from xlsxgen.data import to_canonical
from xlsxgen.demo import demo_contact, simulate
from xlsxgen.workbook.plan import build_plan

ROOT = Path(__file__).resolve().parent.parent
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
YEAR = 2024
AGENCIES = [("001", "丰州镇"), ("002", "城关镇"), ("003", "西关镇"), ("004", "东关镇"), ("005", "南关镇"), ("006", "北关镇")]


def xlsxgen(*args, ok=True, fresh=False):
    """Run a command: in-process through the click CLI, or (``fresh``) in a new interpreter as a user would."""
    if fresh:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        r = subprocess.run([sys.executable, "-m", "xlsxgen.cli", *map(str, args)], capture_output=True, text=True,
                           env=env, timeout=600)
        if ok:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr
        return r
    from click.testing import CliRunner

    from xlsxgen.cli import cli

    res = CliRunner().invoke(cli, list(map(str, args)))
    if ok:
        assert res.exit_code == 0, (args, res.output, res.exception)
    return res


def libreoffice_resave(tmp: Path, files: list[Path]) -> None:
    """Open and save each workbook with LibreOffice, in place (one headless run)."""
    out = tmp / "lo-out"
    subprocess.run([SOFFICE, f"-env:UserInstallation={(tmp / 'lo-profile').as_uri()}", "--headless", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), *map(str, files)],
                   check=True, capture_output=True, timeout=300)
    for f in files:
        shutil.copy(out / f.name, f)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_a_collection_season(tmp_path, spec2021, seed_submission):
    spec = spec2021
    db = tmp_path / "收集库.sqlite"
    # ---------------------------------------------------------------- roster (GBK, contacts in any order)
    roster = tmp_path / "名单.csv"
    lines = ["电话,单位代码,单位名称,联系人,邮箱"]
    lines += [f"0319782123{i},{code},{name},联系人{i},u{i}@example.cn" for i, (code, name) in enumerate(AGENCIES)]
    roster.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    dist = tmp_path / "下发"
    xlsxgen("generate", "--roster", roster, "--year", YEAR, "--out-dir", dist, "--db", db)
    template = {code: dist / f"{YEAR}-{code}-{name}.xlsx" for code, name in AGENCIES}
    assert all(p.exists() for p in template.values())

    # ---------------------------------------------------------------- the agencies fill in
    filled = tmp_path / "filled"
    filled.mkdir()

    def fill(code, name, seed="", factor=0.5):
        sub = simulate(spec, seed_submission, year=YEAR, agency_name=name, agency_code=code, seed=code + seed,
                       factor=factor)
        sub.contact = demo_contact(spec)
        data = filled / f"{code}{seed}.json"
        data.write_text(json.dumps(to_canonical(spec, sub), ensure_ascii=False), encoding="utf-8")
        out = filled / f"{code}{seed}.xlsx"
        xlsxgen("fill", template[code], data, "-o", out)
        return out

    f002, f004, f005 = fill("002", "城关镇"), fill("004", "东关镇"), fill("005", "南关镇")
    libreoffice_resave(tmp_path, [f002, f005])  # two agencies work in LibreOffice
    # 东关镇 deletes every zero
    plan = build_plan(spec, False)
    wb = openpyxl.load_workbook(f004)
    zeros = 0
    for c in plan.cells:
        if c.role == "input" and wb[c.sheet][c.address].value == 0:
            wb[c.sheet][c.address].value = None
            zeros += 1
    wb.save(f004)
    assert zeros > 10

    # ---------------------------------------------------------------- the inbox, as e-mail makes it
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    shutil.copy(f002, inbox / "丰州镇政府信息公开年报2024.xlsx")  # 城关镇's numbers under 丰州镇's name
    shutil.copy(template["003"], inbox / "西关镇年报.xlsx")  # untouched
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(f004, "东关镇/2024年报.xlsx")
    (inbox / "东关镇材料.zip").write_bytes(buf.getvalue())
    shutil.copy(f005, inbox / "南关镇.xlsx")  # saved by LibreOffice, correct
    (inbox / "北关镇年报.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    (inbox / "北关镇情况说明.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)

    out = tmp_path / "汇总"
    r = xlsxgen("collect", inbox, "--db", db, "--year", YEAR, "--out-dir", out, "--name", "某某县", "--quiet", fresh=True)
    text = r.stdout
    assert "单位不符" in text and "未收集" in text
    with Store.open(db) as s:
        from xlsxgen.collection.overview import build_overview

        ov = build_overview(s, YEAR)
        got = {row.code: row.state for row in ov.rows}
        assert got == {"001": "held", "002": "held", "003": "invalid", "004": "warning", "005": "ok",
                       "006": "other_file"}, got
        assert len(ov.held) == 1 and ov.held[0].named_code == "001" and ov.held[0].workbook_code == "002"
        rec003 = s.current_of(YEAR, "003")
        assert [f["rule"] for f in rec003.findings] == ["submission.untouched"]
        rec004 = s.current_of(YEAR, "004")
        assert rec004.path == "东关镇材料.zip!东关镇/2024年报.xlsx"
        blanks = [f for f in rec004.findings if f["rule"].startswith("value.blank")]
        assert 1 <= len(blanks) <= len(spec.tables) + 1  # one per table, not one per cell
        rec005 = s.current_of(YEAR, "005")
        assert rec005.status == "accepted" and rec005.warnings == 0
        assert [f["severity"] for f in rec005.findings] == ["info"]  # the structure lock LibreOffice dropped
        other = {sk["path"]: sk for sk in s.skipped_files(YEAR)}
        assert other["北关镇年报.xls"]["agency_code"] == "006" and "另存为 .xlsx" in other["北关镇年报.xls"]["ask"]
        assert other["北关镇情况说明.doc"]["agency_code"] == "006"
    # feedback only where something is to fix; never "无需修改"
    fb = sorted(p.name for p in (out / "反馈单").glob("*.xlsx"))
    assert [n.split("-")[2] for n in fb] == ["003", "004"], fb
    for p in (out / "反馈单").glob("*.xlsx"):
        cells = [str(c.value) for ws in openpyxl.load_workbook(p).worksheets for row in ws.iter_rows() for c in row
                 if c.value is not None]
        assert not any("无需修改" in c for c in cells)
    # the status workbook: held first, contacts as text, files not collected listed with their agency
    st = openpyxl.load_workbook(out / f"报送情况-{YEAR}.xlsx")
    first = [str(c.value) for row in st["报送情况"].iter_rows(max_row=6) for c in row if c.value]
    assert any("单位不符" in v for v in first) and any("丰州镇" in v and "城关镇" in v and "confirm" in v for v in first)
    all_cells = [c.value for row in st["报送情况"].iter_rows() for c in row]
    assert "03197821230" in all_cells  # the phone keeps its leading zero
    nc = [[c.value for c in row] for row in st["未接收的文件"].iter_rows()]
    assert any(r[1] == "北关镇年报.xls" and "北关镇" in str(r[3]) and "另存为" in str(r[6]) for r in nc)
    # the held numbers are not in the total
    total = json.loads((out / f"汇总数据-{YEAR}.json").read_text(encoding="utf-8"))
    assert total["agency"]["name"] == "某某县"

    # ---------------------------------------------------------------- confirm: the numbers are 城关镇's
    r = xlsxgen("confirm", "--db", db, "--year", YEAR, inbox / "丰州镇政府信息公开年报2024.xlsx", "--agency", "2",
                "--by", "张科长", "--note", "已电话核实")
    assert "城关镇" in r.stdout
    with Store.open(db) as s:
        ov = build_overview(s, YEAR)
        got = {row.code: row.state for row in ov.rows}
        assert got["002"] == "ok" and got["001"] == "missing" and not ov.held
        log = s.audit_log(YEAR, "002")
        assert any(a.action == "confirm" and a.actor == "张科长" for a in log)

    # ---------------------------------------------------------------- remind
    r = xlsxgen("remind", "--db", db, "--year", YEAR, "-o", tmp_path / "催报" / "清单.xlsx", "--office", "县政务公开办",
                "--deadline", "1月20日")
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(tmp_path / "催报" / "清单.xlsx").active.iter_rows(
        min_row=4)]
    chased = {row[1]: row for row in rows}
    assert set(chased) == {"001", "003", "006"}
    assert "联系人0" == chased["001"][5] and "县政务公开办" in chased["001"][8] and "1月20日" in chased["001"][8]
    assert "北关镇年报.xls" in chased["006"][8] or "北关镇情况说明.doc" in chased["006"][8]

    # ---------------------------------------------------------------- resubmissions
    inbox2 = tmp_path / "收件箱2"
    inbox2.mkdir()
    shutil.copy(fill("003", "西关镇", seed="b"), inbox2 / "西关镇年报（修改）.xlsx")
    shutil.copy(fill("006", "北关镇"), inbox2 / "北关镇.xlsx")
    shutil.copy(fill("001", "丰州镇"), inbox2 / "丰州镇.xlsx")
    xlsxgen("collect", inbox2, "--db", db, "--year", YEAR, "--out-dir", out, "--name", "某某县", "--quiet")
    with Store.open(db) as s:
        got = {row.code: row.state for row in build_overview(s, YEAR).rows}
    assert got == {"001": "ok", "002": "ok", "003": "ok", "004": "warning", "005": "ok", "006": "ok"}, got
    assert sorted(p.name.split("-")[2] for p in (out / "反馈单").glob("*.xlsx")) == ["004"]

    # ---------------------------------------------------------------- next year: Excel stripped the zeros
    roster2 = tmp_path / "名单2025.csv"
    roster2.write_bytes(("代码,名称\r\n" + "".join(f"{int(c)},{n}\r\n" for c, n in AGENCIES)).encode("gbk"))
    r = xlsxgen("generate", "--roster", roster2, "--year", YEAR + 1, "--out-dir", tmp_path / "下发2025", "--db", db)
    assert f"其中 {len(AGENCIES)} 个已按上年度通过的数据预填" in r.stdout
    assert "忽略前导零" in r.stdout
    p = tmp_path / "下发2025" / f"{YEAR + 1}-1-丰州镇.xlsx"
    status = next(c for c in build_plan(spec, True).cells if c.role == "status")
    assert openpyxl.load_workbook(p, data_only=True)[status.sheet][status.address].value == messages.STATUS_PENDING
    libreoffice_resave(tmp_path, [p])  # recalculated by LibreOffice: still 待填写
    assert openpyxl.load_workbook(p, data_only=True)[status.sheet][status.address].value == messages.STATUS_PENDING
