"""Test data generic over any installed format: random submissions that satisfy every rule.

The rules of a format are linear (sums, differences, comparisons), so a random
submission is *repaired* until it passes: for a failing rule, one input that
the rule references directly is moved by exactly the amount that closes the
gap (never below zero). Cross-year rules are included when last year's values
are given.
"""

from __future__ import annotations

import random

from xlsxgen.data import Submission
from xlsxgen.spec import expr
from xlsxgen.spec.rules import compile_spec, recompute_totals

TRICKY_TEXT = [
    "第一行\n第二行 & <b>标记</b> \"双引号\" ‘单引号’",
    "　全角空格开头，含数字１２３和 ASCII 123，结尾有空格 ",
    "包含制表符\t和特殊字符 ©®™ 😀 以及 =SUM(A1) 这样的文字",
    "",
]


def _coefficients(side, inputs: set) -> dict:
    """d(side)/d(ref) for each input reference of a linear side."""
    refs = [r for r in expr.refs_of(side) if not r.previous and (r.table, r.row, r.column) in inputs]
    base = expr.evaluate(side, lambda r: 0)
    out = {}
    for ref in refs:
        out[ref] = expr.evaluate(side, lambda r, ref=ref: 1 if r == ref else 0) - base
    return out


def repair(spec, values: dict, previous: dict | None = None, kinds: dict | None = None, passes: int = 200) -> None:
    """Adjust input ``values`` in place until every rule (cross-year ones when ``previous``) passes."""
    compiled = compile_spec(spec)
    inputs = {k for k in values}
    for _ in range(passes):
        recompute_totals(spec, values)
        failing = 0
        for ru in compiled.rules:
            if ru.cross_year and previous is None:
                continue

            def value_of(r):
                src = previous if r.previous else values
                return src.get((r.table, r.row, r.column), 0)

            ok, left, right = ru.evaluate(value_of)
            if ok:
                continue
            failing += 1
            gap = right - left  # move left by +gap, or right by -gap
            moves = [(ref, gap / c) for ref, c in _coefficients(ru.node.left, inputs).items() if c]
            moves += [(ref, -gap / c) for ref, c in _coefficients(ru.node.right, inputs).items() if c]
            for ref, delta in moves:
                key = (ref.table, ref.row, ref.column)
                new = values[key] + delta
                whole = kinds[key] in ("count", "signed_count")
                if (new >= 0 or kinds[key] == "signed_count") and (not whole or float(new).is_integer()):
                    values[key] = int(new) if whole else round(new, 4)
                    break
            recompute_totals(spec, values)
        if not failing:
            return
    raise AssertionError("could not repair random data to satisfy the rules")


def random_submission(spec, seed: int, *, year: int | None = None, previous: Submission | None = None,
                      agency: str = "测试单位（随机）", code: str = "T-01") -> Submission:
    rnd = random.Random(seed)
    year = year or spec.years[0] + 2
    sub = Submission(spec.id, year=year, agency_name=agency, agency_code=code)
    kinds = {}
    for t in spec.tables:
        for rk, ck in t.input_cells():
            key = (t.key, rk, ck)
            kinds[key] = t.kinds[(rk, ck)]
            if rnd.random() < 0.3:
                sub.values[key] = 0
            elif kinds[key] == "amount":
                sub.values[key] = round(rnd.uniform(0, 500), rnd.choice([0, 1, 2, 4]))
            elif kinds[key] == "signed_count":
                sub.values[key] = rnd.randint(-50, 50)
            else:
                sub.values[key] = rnd.randint(0, 300)
    prev_values = None
    if previous is not None:
        prev_values = recompute_totals(spec, dict(previous.values))
    values = dict(sub.values)
    repair(spec, values, prev_values, kinds)
    sub.values = {k: values[k] for k in kinds}
    for f in spec.narrative_fields:
        if f.kind == "count":
            sub.narrative[f.key] = rnd.randint(0, 20)
        elif f.kind == "amount":
            sub.narrative[f.key] = round(rnd.uniform(0, 1000), 2)
        else:
            sub.narrative[f.key] = rnd.choice(TRICKY_TEXT) + f"（{f.label}，随机 {seed}）"
    for f in spec.cover_fields:
        if f.bind and f.bind.startswith("contact."):
            # the person and phone are always given (empty ones are a warning of their own: contact.empty)
            choices = ["张三", "0319-1234567", "2025-01-15"] + ([""] if f.bind == "contact.date" else [])
            sub.contact[f.bind.partition(".")[2]] = rnd.choice(choices)
    return sub


def filled_workbook(format_id: str, seed: int):
    """(spec, submission, bytes): a generated workbook of ``format_id`` filled with consistent random data."""
    from xlsxgen.spec import load_format
    from xlsxgen.workbook.writer import build_workbook

    spec = load_format(format_id)
    sub = random_submission(spec, seed)
    data = build_workbook(spec, year=sub.year, agency_name=sub.agency_name, agency_code=sub.agency_code, data=sub)
    return spec, sub, data
