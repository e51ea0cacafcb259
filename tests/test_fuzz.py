"""Fuzz: seeded mutants of real filled workbooks through ``validate`` (issue 11).

In the suite: a few hundred mutants, time-boxed; ``XLSXGEN_SLOW=1``: thousands.
``XLSXGEN_FUZZ_SEED`` picks another seed (the default is fixed: the suite is
reproducible). The test fails on

* a traceback (``validate`` raising instead of reporting),
* an exit code outside 0/1/2,
* a mutant taking longer than the per-file budget (a hang),
* a mutant reported ok with **no finding** whose figures differ from what a
  spreadsheet shows for it — a silently changed number, the worst outcome
  (see :mod:`tests.hostile.fuzz` for what each mutation must give).

A failure message names the mutant (its mutation and the random state to
replay it).
"""

from __future__ import annotations

import json
import os
import time

import pytest
from click.testing import CliRunner

from importer import read_workbook
from tests.hostile.data import filled_workbook
from tests.hostile.fuzz import Base, mutants
from xlsxgen.commands.validate import command as validate_command

SLOW = os.environ.get("XLSXGEN_SLOW") == "1"
COUNT = 5000 if SLOW else 300
SEED = int(os.environ.get("XLSXGEN_FUZZ_SEED", "20261111"))
PER_FILE_SECONDS = 12.0  # the importer's own budget is 10 s
SUITE_SECONDS = 20.0  # the in-suite run is time-boxed: stop early rather than slow CI down


def _no_constant(name):
    raise ValueError(f"{name} in JSON")


def _figures(res) -> dict:
    doc = res.canonical()
    out = {}
    for t, rows in doc["tables"].items():
        for r, cols in rows.items():
            for c, v in cols.items():
                out[(t, r, c)] = v
    for f in res.spec.narrative_fields:
        if f.kind in ("count", "amount"):
            out[("narrative", f.key)] = doc["narrative"].get(f.key)
    return out


@pytest.fixture(scope="module")
def bases():
    out = []
    for fid, seed in (("gov-info-2021", 1), ("gov-info-2021", 2), ("gov-info-2019", 3)):
        spec, _sub, data = filled_workbook(fid, seed)
        res = read_workbook(data)
        assert res.status == "ok" and not res.findings, [f.rule for f in res.findings]
        out.append(Base(spec, data, _figures(res)))
    return out


def test_fuzz_validate(bases, tmp_path):
    runner = CliRunner()
    problems = []
    started = time.monotonic()
    done = 0
    path = tmp_path / "m.xlsx"
    for label, data, expect, base, _state in mutants(bases, COUNT, SEED):
        if not SLOW and time.monotonic() - started > SUITE_SECONDS:
            break
        path.write_bytes(data)
        t0 = time.monotonic()
        r = runner.invoke(validate_command, [str(path), "--json"])
        elapsed = time.monotonic() - t0
        done += 1
        where = f"{label} (seed {SEED})"
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            problems.append(f"{where}: traceback {type(r.exception).__name__}: {r.exception}")
            continue
        if r.exit_code not in (0, 1, 2):
            problems.append(f"{where}: exit code {r.exit_code}")
            continue
        if elapsed > PER_FILE_SECONDS:
            problems.append(f"{where}: {elapsed:.1f} s")
        try:  # strict JSON: no NaN/Infinity
            out = json.loads(r.stdout_bytes.decode("utf-8"), parse_constant=_no_constant)["files"][0]
        except ValueError as e:
            problems.append(f"{where}: --json output is not strict JSON: {e}")
            continue
        if any(f["rule"] == "file.internal_error" for f in out["findings"]):
            problems.append(f"{where}: internal error {out['findings'][0]['message']}")
            continue
        if out["status"] != "ok" or out["findings"]:
            continue
        # reported ok with no finding: the figures must be what a spreadsheet shows
        if expect == "finding":
            problems.append(f"{where}: accepted with no finding")
            continue
        want = dict(base.figures)
        if isinstance(expect, dict):
            res = read_workbook(data)
            from xlsxgen.spec.rules import recompute_totals

            inputs = {k: v for k, v in want.items() if k[0] != "narrative"}
            inputs.update({k: v for k, v in expect.items() if k[0] != "narrative"})
            for tot in [k for k in inputs if base.spec.table(k[0]).kinds[(k[1], k[2])] == "total"]:
                del inputs[tot]
            want.update(recompute_totals(base.spec, inputs))
            want.update({k: v for k, v in expect.items() if k[0] == "narrative"})
        else:
            res = read_workbook(data)
        got = _figures(res)
        diff = {k: (want.get(k), got.get(k)) for k in set(want) | set(got) if want.get(k) != got.get(k)}
        if diff:
            problems.append(f"{where}: figures changed silently {dict(list(diff.items())[:3])}")
    assert done >= min(COUNT, 100), f"only {done} mutants in {SUITE_SECONDS} s"
    assert not problems, f"{len(problems)} of {done} mutants:\n" + "\n".join(problems[:30])
