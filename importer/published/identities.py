"""The spec's arithmetic identities as linear equations over published cells.

Every total of the format (``cell == expr``; a cell defined by two totals, like a
grand total that is both a row sum and a column sum, gives both equations) and
every equality rule that does not look at last year (``a + b == c + d``) becomes
``sum(coef * cell) + const == 0``. The published totals are variables like any
other cell: a published report is checked as printed, nothing is recomputed.

Used twice: to choose the one split of a run of glued digits that satisfies the
identities (:mod:`importer.published.split`), and to lint a published report
(:func:`importer.published.lint`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from xlsxgen.errors import SpecError
from xlsxgen.spec import expr
from xlsxgen.spec.rules import compile_spec


@dataclass(frozen=True)
class Identity:
    id: str  # the total's or rule's id in the format
    kind: str  # "total" | "rule"
    terms: tuple[tuple[tuple[str, str, str], float], ...]  # (cell key, coefficient)
    const: float
    target: tuple[str, str, str] | None = None  # a total's cell
    rule: object = None  # the RuleInstance, for a rule

    @functools.cached_property
    def cells(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(k for k, _ in self.terms)

    def residual(self, value_of) -> float | None:
        """sum(coef * value) + const, or None when a cell has no value."""
        s = self.const
        for k, c in self.terms:
            v = value_of(k)
            if v is None:
                return None
            s += c * v
        return s


def _linear(node, sign: float, acc: dict, const: list):
    if isinstance(node, expr.Ref):
        if node.previous:
            raise ValueError("cross-year")
        k = (node.table, node.row, node.column)
        acc[k] = acc.get(k, 0.0) + sign
    elif isinstance(node, expr.Num):
        const[0] += sign * node.value
    elif isinstance(node, expr.Sum):
        for r in node.refs:
            _linear(r, sign, acc, const)
    elif isinstance(node, expr.Neg):
        _linear(node.operand, -sign, acc, const)
    elif isinstance(node, expr.BinOp):
        _linear(node.left, sign, acc, const)
        _linear(node.right, sign if node.op == "+" else -sign, acc, const)
    else:
        raise ValueError(type(node).__name__)


def _equation(left, right) -> tuple[tuple, float]:
    acc: dict = {}
    const = [0.0]
    _linear(left, 1.0, acc, const)
    _linear(right, -1.0, acc, const)
    return tuple((k, c) for k, c in acc.items() if c), const[0]


def _instances(spec, d):
    """(text, cell) of each repetition of a total definition (as :mod:`xlsxgen.spec.rules` expands them)."""
    table = spec.table(d.table)
    if d.for_each is None:
        yield d.text, d.cell
        return
    axis = table.rows if d.for_each == "row" else table.columns
    keys = [a.key for a in axis if d.only is None or a.key in d.only]
    placeholder = "$" + d.for_each
    for k in keys:
        yield d.text.replace(placeholder, k), (d.cell.replace(placeholder, k) if d.cell else None)


@functools.lru_cache(maxsize=16)
def identities_of(spec) -> tuple[Identity, ...]:
    out: list[Identity] = []
    for d in spec.totals:
        table = spec.table(d.table)
        for text, cell in _instances(spec, d):
            parts = (cell or "").split(".")
            if len(parts) != 2 or not table.has_cell(*parts):
                continue
            try:
                node = expr.parse(text, spec, d.table)
                target = (d.table, parts[0], parts[1])
                terms, const = _equation(expr.Ref(*target), node)
            except (SpecError, ValueError):
                continue
            out.append(Identity(d.id, "total", terms, const, target=target))
    for ru in compile_spec(spec).rules:
        if ru.cross_year or ru.node.op != "==":
            continue
        try:
            terms, const = _equation(ru.node.left, ru.node.right)
        except ValueError:
            continue
        out.append(Identity(ru.instance_id, "rule", terms, const, rule=ru))
    return tuple(out)
