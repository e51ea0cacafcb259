"""The benchmark keeps working: ``bench/bench.py --quick`` runs to the end and prints its tables.

Not a timed test: nothing here asserts a time or a ratio (CI machines are shared and noisy).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_runs_and_prints_the_tables():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "bench.py"), "--quick"], cwd=ROOT,
                       capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    for header in ("group", "contender", "median ms", "min–max ms", "× floor", "peak KiB",
                   "collect N", "wall s", "peak RSS MB", "× floor", "store N", "record µs/row", "targets (issue 6, issue 13):"):
        assert header in out, header
    for contender in ("(floor)", "xlsxgen full generation", "xlsxgen roster (personalised)",
                      "xlsxgen import+validate, all checks", "openpyxl read_only (peer)", "render docx"):
        assert contender in out, contender
