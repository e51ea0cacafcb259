"""Validate a submission's figures: totals, every rule of the spec, cross-year rules.

The rules are those of :func:`xlsxgen.rules.compile_spec` — the very
instances the workbook's live checks are compiled from — evaluated with
:meth:`RuleInstance.evaluate` and worded with :meth:`RuleInstance.message`.
Totals are always recomputed (:func:`xlsxgen.rules.recompute_totals`); totals
a JSON file claims are compared with the recomputation.

Where a finding points is decided by a :class:`Locator`: table/row/column keys
always, and sheet/cell when the data came from a workbook.
"""

from __future__ import annotations

from importer.findings import Finding, make
from importer.values import same
from xlsxgen import expr
from xlsxgen.errors import SpecError
from xlsxgen.rules import compile_spec, recompute_totals


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


_RULE_INFO: dict[int, tuple] = {}


def _rule_info(compiled):
    """Per rule instance, computed once: (rule, this year's keys, last year's refs)."""
    hit = _RULE_INFO.get(id(compiled))
    if hit is None or hit[0] is not compiled:
        info = []
        for ru in compiled.rules:
            refs = expr.refs_of(ru.node)
            info.append((ru, [(r.table, r.row, r.column) for r in refs if not r.previous],
                         [r for r in refs if r.previous]))
        hit = _RULE_INFO[id(compiled)] = (compiled, info)
    return hit[1]


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
    depend on them are not checked, since their findings would only be noise.
    ``recomputed`` is the submission's figures with every total recomputed, when
    the caller has it already.
    """
    where = where or Locator(spec)
    compiled = compile_spec(spec)
    if recomputed is None:
        recomputed = recompute_totals(spec, {k: v for k, v in submission.values.items() if v is not None})
    values = recomputed
    findings: list[Finding] = []
    tainted = set(unreliable)
    if tainted:
        for tot in compiled.totals:  # dependency order: a total of a tainted figure is tainted
            if any((r.table, r.row, r.column) in tainted for r in expr.refs_of(tot.node) if not r.previous):
                tainted.add(tot.cell)

    for key, stated in (claimed or {}).items():
        if key not in compiled.total_by_cell or stated is None or key in tainted:
            continue
        rec = values.get(key, 0)
        if not same(stated, rec):
            findings.append(make("total.mismatch", place=where.place(key), expected=rec, actual=stated,
                                 **where.keys(key), **where.figure(key)))

    prev_vals = None
    prev_spec = spec
    if previous is not None:
        if previous.format_id != spec.id:
            try:
                from xlsxgen.spec import load_format

                prev_spec = load_format(previous.format_id)
            except SpecError:
                prev_spec = None
        if prev_spec is not None:
            prev_vals = recompute_totals(prev_spec, {k: v for k, v in previous.values.items() if v is not None})
        if submission.year is not None and previous.year is not None and previous.year != submission.year - 1:
            findings.append(make("crossyear.not_previous_year", year=submission.year, expected=submission.year - 1,
                                 actual=previous.year))
        if _agency_differs(submission, previous):
            findings.append(make("crossyear.other_agency", expected=submission.agency_name,
                                 actual=previous.agency_name))
    elif previous_values is not None:
        prev_vals = previous_values

    skipped: list = []  # cross-year rule instances that cannot run on last year's format
    ran: list = []  # cross-year rule instances that did run (named when the formats differ)
    for ru, current, needed in _rule_info(compiled):
        if tainted and any(k in tainted for k in current):
            continue
        if needed:
            if previous is None and prev_vals is None:
                continue
            if prev_spec is None or (prev_spec is not spec and not all(_has_cell(prev_spec, r) for r in needed)):
                skipped.append(ru)
                continue
            if previous is None and not all((r.table, r.row, r.column) in prev_vals for r in needed):
                continue  # embedded last-year values incomplete (sheet removed: reported elsewhere)

        def value_of(ref: expr.Ref, _prev=prev_vals):
            src = _prev if ref.previous else values
            return src.get((ref.table, ref.row, ref.column), 0) or 0

        ok, left, right = ru.evaluate(value_of)
        if needed:
            ran.append(ru)
        if not ok:
            findings.append(Finding(
                rule=ru.id, severity=ru.severity, message=ru.message(left, right), table=ru.table,
                row=ru.row or (ru.focus and ru.focus[0]), column=ru.column or (ru.focus and ru.focus[1]), expected=_num(right), actual=_num(left), fix=ru.fix, **where.rule(ru)))
    if skipped:
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
    v = round(float(v), expr.PRECISION)
    return int(v) if v.is_integer() else v


def _has_cell(spec, ref) -> bool:
    try:
        return spec.table(ref.table).has_cell(ref.row, ref.column)
    except KeyError:
        return False


def _agency_differs(a, b) -> bool:
    if a.agency_code and b.agency_code:
        return a.agency_code != b.agency_code
    return bool(a.agency_name and b.agency_name and a.agency_name != b.agency_name)
