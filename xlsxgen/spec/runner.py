"""The one rule runner: which rules run on a set of figures, on what, and with what result.

Every place that checks figures — the importer's validation, the draft's
warnings, the workbook's cached check values and cover status — asks this
module, so that they decide alike:

- a **cross-year** rule (one that reads ``previous.…``) runs only when last
  year's figures are given; when last year is in another format version that
  lacks a cell the rule reads, the rule is *skipped* (and the caller says so);
- a rule that reads a figure which could not be read (``unreliable``: a value
  error, a removed sheet, a blank input in a draft) does not run: its finding
  would only repeat the reading problem. A total computed from such a figure is
  unreliable too (:func:`tainted`);
- the rule itself is evaluated by :meth:`~xlsxgen.spec.rules.RuleInstance.evaluate`,
  the same expression the workbook's live check is compiled from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xlsxgen.spec import expr
from xlsxgen.spec.rules import RuleInstance, compile_spec


@dataclass(frozen=True)
class RuleResult:
    rule: RuleInstance
    ok: bool
    left: float
    right: float


@dataclass
class RuleRun:
    """What :func:`run_rules` did: results of the rules that ran, and the cross-year rules it skipped."""

    results: list[RuleResult] = field(default_factory=list)
    skipped: list[RuleInstance] = field(default_factory=list)  # cross-year, last year's format lacks a cell

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ran_cross_year(self) -> list[RuleInstance]:
        return [r.rule for r in self.results if r.rule.cross_year]


def rules_for(spec, *, with_previous: bool) -> list[tuple[int, RuleInstance]]:
    """(index, rule) of the rules that apply when last year's figures are (not) at hand."""
    return [(i, ru) for i, ru in enumerate(compile_spec(spec).rules) if with_previous or not ru.cross_year]


def tainted(spec, unreliable) -> set:
    """``unreliable`` figure keys plus every total computed (directly or not) from one of them."""
    out = set(unreliable)
    if out:
        for tot in compile_spec(spec).totals:  # dependency order
            if any((r.table, r.row, r.column) in out for r in expr.refs_of(tot.node) if not r.previous):
                out.add(tot.cell)
    return out


def _has_cell(spec, ref) -> bool:
    try:
        return spec.table(ref.table).has_cell(ref.row, ref.column)
    except KeyError:
        return False


def run_rules(spec, values: dict, *, previous_values: dict | None = None, previous_spec=None,
              unreliable=(), previous_unreliable=()) -> RuleRun:
    """Run every applicable rule of ``spec`` on ``values`` (``{(table,row,col): number}``, totals included).

    ``previous_values`` are last year's figures (totals included) in format
    ``previous_spec`` (default: ``spec``); None means last year is not known, and
    cross-year rules do not run. ``unreliable``/``previous_unreliable`` are figure
    keys (this year's / last year's) whose value could not be read: rules reading
    them do not run; this year's taint spreads to the totals computed from them
    (:func:`tainted`), last year's is taken as given. A missing figure counts as 0.
    """
    run = RuleRun()
    bad = tainted(spec, unreliable)
    prev_spec = previous_spec if previous_spec is not None else spec
    prev_bad = set(previous_unreliable)  # last year's totals are given, not recomputed here: no propagation
    prev = previous_values or {}

    def value_of(ref: expr.Ref):
        return (prev if ref.previous else values).get((ref.table, ref.row, ref.column), 0) or 0

    for ru in compile_spec(spec).rules:
        refs = ru.refs
        if bad and any((r.table, r.row, r.column) in bad for r in refs if not r.previous):
            continue
        if ru.cross_year:
            if previous_values is None:
                continue
            if prev_spec is not spec and not all(_has_cell(prev_spec, r) for r in refs if r.previous):
                run.skipped.append(ru)
                continue
            if prev_bad and any((r.table, r.row, r.column) in prev_bad for r in refs if r.previous):
                continue
        ok, left, right = ru.evaluate(value_of)
        run.results.append(RuleResult(ru, ok, left, right))
    return run
