"""Validate a submission's figures: totals, every rule of the spec, cross-year rules.

The rules are those of :func:`xlsxgen.spec.rules.compile_spec` — the very
instances the workbook's live checks are compiled from — evaluated with
:meth:`RuleInstance.evaluate` and worded with :meth:`RuleInstance.message`.
Totals are always recomputed (:func:`xlsxgen.spec.rules.recompute_totals`); totals
a JSON file claims are compared with the recomputation.

Where a finding points is decided by a :class:`Locator`: table/row/column keys
always, and sheet/cell when the data came from a workbook.
"""

from __future__ import annotations

from importer.findings import Finding, make
from importer.values import same
from xlsxgen.spec import expr
from xlsxgen.spec.rules import compile_spec, recompute_totals
from xlsxgen.spec.runner import run_rules, tainted
from xlsxgen.spec.versions import format_of


class Locator:
    """Where a figure or a rule is: spec keys (JSON); subclasses add sheet and cell."""

    def __init__(self, spec):
        self.spec = spec

    def figure(self, key: tuple) -> dict:
        return {}

    def rule(self, ru) -> dict:
        return {}

    def label(self, key: tuple) -> str:
        group = key[0]
        if group in ("narrative", "cover"):
            fields = self.spec.narrative_fields if group == "narrative" else self.spec.cover_fields
            for f in fields:
                if f.key == key[1]:
                    return f.label
            return key[1]
        try:
            t = self.spec.table(group)
        except KeyError:
            return ".".join(key)
        try:
            return t.cell_label(key[1], key[2])
        except (KeyError, IndexError):
            return ".".join(key)

    def place(self, key: tuple) -> str:
        group = key[0]
        if group in ("narrative", "cover"):  # the sheet the field is typed on, named by the format
            return f"{self.spec.sheets.get(group, '')}「{self.label(key)}」"
        try:
            heading = self.spec.table(group).heading
        except KeyError:
            heading = group
        return f"表「{heading}」中「{self.label(key)}」"

    def keys(self, key: tuple) -> dict:
        if key[0] in ("narrative", "cover"):
            return {"table": key[0], "row": key[1]}
        return {"table": key[0], "row": key[1], "column": key[2]}


def value_finding(code: str, key: tuple, reading, locator: Locator) -> Finding:
    """The finding for a figure's reading (see :mod:`importer.values`)."""
    return make(code, place=locator.place(key), label=locator.label(key), actual=_text(reading.text),
                value=_text(reading.value), **locator.keys(key), **locator.figure(key))


def _text(v):
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def validate_submission(spec, submission, previous=None, *, where: Locator | None = None,
                        claimed: dict | None = None, previous_values: dict | None = None,
                        unreliable=(), recomputed: dict | None = None) -> list[Finding]:
    """Findings about ``submission``'s figures.

    ``previous`` is last year's :class:`~xlsxgen.data.Submission` (its totals are
    recomputed with its own format); ``previous_values`` is an already complete
    ``{key: value}`` of last year's figures (e.g. embedded in this year's
    workbook), used when ``previous`` is None. ``claimed`` holds totals as the
    source states them. ``unreliable`` are figure keys whose value could not be
    read (a value error, a shifted or removed sheet): rules and totals that
    depend on them are not checked, since their findings would only be noise
    (decided by :func:`xlsxgen.spec.runner.run_rules`, like everywhere else).
    ``recomputed`` is the submission's figures with every total recomputed, when
    the caller has it already.
    """
    where = where or Locator(spec)
    compiled = compile_spec(spec)
    if recomputed is None:
        recomputed = recompute_totals(spec, {k: v for k, v in submission.values.items() if v is not None})
    values = recomputed
    findings: list[Finding] = []
    bad = tainted(spec, unreliable)

    for key, stated in (claimed or {}).items():
        if key not in compiled.total_by_cell or stated is None or key in bad:
            continue
        rec = values.get(key, 0)
        if not same(stated, rec):
            findings.append(make("total.mismatch", place=where.place(key), expected=rec, actual=stated,
                                 **where.keys(key), **where.figure(key)))

    prev_vals = prev_spec = None
    prev_unreliable: set = set()
    unknown_previous_format = False
    if previous is not None:
        prev_spec = format_of(previous.format_id, spec)
        if prev_spec is None:
            unknown_previous_format = True
        else:
            prev_vals = recompute_totals(prev_spec, {k: v for k, v in previous.values.items() if v is not None})
        if submission.year is not None and previous.year is not None and previous.year != submission.year - 1:
            findings.append(make("crossyear.not_previous_year", year=submission.year, expected=submission.year - 1,
                                 actual=previous.year))
        if _agency_differs(submission, previous):
            findings.append(make("crossyear.other_agency", expected=submission.agency_name,
                                 actual=previous.agency_name))
    elif previous_values is not None:
        # embedded last-year values: a figure that is not there (sheet removed, reported elsewhere) is unreliable
        prev_vals, prev_spec = previous_values, spec
        prev_unreliable = {(t.key, r, c) for t in spec.tables for (r, c) in t.cells} - previous_values.keys()

    run = run_rules(spec, values, previous_values=prev_vals, previous_spec=prev_spec, unreliable=bad,
                    previous_unreliable=prev_unreliable)
    for res in run.failures:
        ru = res.rule
        findings.append(Finding(
            rule=ru.id, severity=ru.severity, message=ru.message(res.left, res.right), table=ru.table,
            row=ru.row or (ru.focus and ru.focus[0]), column=ru.column or (ru.focus and ru.focus[1]), expected=_num(res.right), actual=_num(res.left), fix=ru.fix, **where.rule(ru)))
    skipped = [ru for ru in compiled.rules if ru.cross_year] if unknown_previous_format else run.skipped
    if skipped:
        ran = run.ran_cross_year
        findings.append(make("crossyear.skipped", previous_format=previous.format_id if previous else "",
                             format=spec.id, rules=_rule_list(skipped),
                             ids="、".join(ru.instance_id for ru in skipped),
                             ran=_rule_list(ran) if ran else "无"))
    return findings


def _rule_list(instances) -> str:
    """「title」（the labels of the repeated rows or columns）, once per rule, in spec order."""
    groups: dict[str, tuple[str, list[str]]] = {}
    for ru in instances:
        _, labels = groups.setdefault(ru.id, (ru.title, []))
        label = ru.row_label or ru.column_label
        if label and label not in labels:
            labels.append(label)
    return "；".join(f"「{title}」" + (f"（{'、'.join(labels)}）" if labels else "")
                    for title, labels in groups.values())


def _num(v):
    try:
        v = expr.excel_round(float(v), expr.PRECISION)  # as the workbook's ROUND
    except (OverflowError, ValueError, TypeError):  # beyond any double: kept as it is
        return v
    return int(v) if v.is_integer() else v


def _agency_differs(a, b) -> bool:
    if a.agency_code and b.agency_code:
        return a.agency_code != b.agency_code
    return bool(a.agency_name and b.agency_name and a.agency_name != b.agency_name)
