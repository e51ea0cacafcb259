"""The ground truth of the published-report corpus, compared with what the lint finds (tests and bench/published.py).

The corpus's JSON lists each published inconsistency as text ("table3 column 商业企业: …", "table3
total_processed: …"); these helpers turn both sides into (rule, key) pairs.
"""

from __future__ import annotations

GT_ALIASES = {"unavailable_not_held": "unable_not_held"}  # a row key the ground truth spells differently


def truth_inconsistencies(truth: dict) -> set | None:
    items = truth.get("published_inconsistencies")
    if items is None:
        return None
    from xlsxgen.spec import load_format

    spec = load_format(truth["format"])
    cols = {c.label: c.key for c in spec.table("applications").columns}
    out = set()
    for s in items:
        head = s.split(":")[0].split()
        if len(head) >= 3 and head[1] == "column":
            out.add(("applications.balance", cols.get(head[2], head[2])))
        elif len(head) >= 2:
            out.add(("applications.row_total", GT_ALIASES.get(head[1], head[1])))
    return out


def lint_pairs(result) -> set:
    out = set()
    for f in result.findings:
        if f.rule == "total.mismatch":
            out.add((f.extra.get("identity"), f.row if f.column == "total" else f.column))
        elif f.rule.startswith(("applications.", "review_litigation.", "active_disclosure.")):
            out.add((f.rule, f.column or f.row))
    return out
