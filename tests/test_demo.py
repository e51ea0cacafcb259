"""``xlsxgen demo``: the whole cycle with no arguments, in seconds, ending with where everything is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("importer.validate")

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_the_whole_cycle(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "xlsxgen.cli", "demo"], cwd=tmp_path, capture_output=True, text=True,
                       env=env, timeout=300)
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert elapsed < 60
    root = tmp_path / "xlsxgen-demo"  # the default folder
    out = r.stdout
    for word in ("已提交且通过", "有错误", "无法读取", "未提交", "反馈单", "汇总表", "汇总报告草稿", "演示完成"):
        assert word in out, word
    # every path the demo prints exists
    printed = [line.split()[-1] for line in out.splitlines() if str(root) in line]
    assert printed
    outs = root / "汇总"
    assert len(list((outs / "反馈单").glob("*.xlsx"))) == 3
    assert list(outs.glob("汇总表-*.xlsx")) and list(outs.glob("报送情况-*.xlsx"))
    assert list(outs.glob("年报草稿-*.docx"))
    data = list((outs / "数据").glob("*.json"))
    assert len(data) == 3
    assert any(json.loads(p.read_text(encoding="utf-8"))["agency"]["name"] == "邢台市人民政府办公室" for p in data)
    # the next year's workbooks are prefilled from the store
    assert "已按收集库中" in out
    # a second run reuses its own folder
    r2 = subprocess.run([sys.executable, "-m", "xlsxgen.cli", "demo"], cwd=tmp_path, capture_output=True, text=True,
                        env=env, timeout=300)
    assert r2.returncode == 0, r2.stderr
    assert "新入库 6 个" in r2.stdout


def test_demo_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "xlsxgen.cli", "demo", "--out-dir", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0
    assert r.stderr.startswith("错误：") and "不是空的" in r.stderr
    assert (tmp_path / "mine.txt").exists()


def test_demo_figures_follow_the_rules(spec2021, seed_submission):
    """The simulated agencies' figures satisfy every non-cross-year error rule (generic repair)."""
    from xlsxgen.demo import simulate
    from xlsxgen.spec.rules import compile_spec

    for i in range(10):
        sub = simulate(spec2021, seed_submission, year=2023, agency_name="某局", agency_code=str(i), seed=str(i),
                       factor=0.1 + i / 10)
        for ru in compile_spec(spec2021).rules:
            if ru.cross_year or ru.severity != "error":
                continue
            ok, left, right = ru.evaluate(lambda r, v=sub.values: v.get((r.table, r.row, r.column), 0))
            assert ok, (i, ru.instance_id, left, right)
