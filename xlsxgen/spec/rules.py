"""Expand the spec's totals and rules into concrete instances.

A definition with ``for_each: column`` becomes one instance per column of its
table (``$column`` substituted), and likewise for rows. Each instance holds a
parsed expression (see :mod:`xlsxgen.spec.expr`), which the generator compiles to
an Excel formula and the importer evaluates in Python.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from xlsxgen.errors import SpecError
from xlsxgen.spec import expr


@dataclass(frozen=True)
class TotalInstance:
    id: str
    target: expr.Ref
    node: object  # expression whose value the target must have

    @property
    def cell(self) -> tuple[str, str, str]:
        return (self.target.table, self.target.row, self.target.column)


@dataclass(frozen=True, eq=False)  # hashes by identity: instances are made once per format
class RuleInstance:
    id: str
    table: str
    severity: str
    title: str
    fix: str
    message_template: str
    row: str | None  # the repeated key, when for_each is row
    column: str | None  # the repeated key, when for_each is column
    row_label: str
    column_label: str
    node: expr.Compare
    focus: tuple[str, str] | None = None  # (row, column) the rule is about, from its `cell:` (findings name it)

    @functools.cached_property
    def refs(self) -> list[expr.Ref]:
        return expr.refs_of(self.node)

    @functools.cached_property
    def cross_year(self) -> bool:
        return any(r.previous for r in self.refs)

    @property
    def instance_id(self) -> str:
        return self.id + "".join(f"[{k}]" for k in (self.row, self.column) if k)

    def static_message(self) -> str:
        """The message template with the labels filled in, {left}/{right} kept."""
        return self.message_template.replace("{row_label}", self.row_label).replace(
            "{column_label}", self.column_label
        )

    def message(self, left, right) -> str:
        return self.static_message().replace("{left}", format_number(left)).replace("{right}", format_number(right))

    def evaluate(self, value_of) -> tuple[bool, float, float]:
        left = expr.evaluate(self.node.left, value_of)
        right = expr.evaluate(self.node.right, value_of)
        return expr.compare(self.node.op, left, right), left, right


@dataclass(frozen=True)
class CompiledSpec:
    totals: tuple[TotalInstance, ...]  # in dependency order
    rules: tuple[RuleInstance, ...]

    @functools.cached_property
    def total_by_cell(self) -> dict[tuple[str, str, str], TotalInstance]:
        return {t.cell: t for t in self.totals}

    @functools.cached_property
    def fill_totals(self):
        """``fill(values)``: every total computed into ``values`` in dependency order, in place.

        The same arithmetic as :func:`xlsxgen.spec.expr.evaluate` over each total
        (same operations in the same order, so the same floating-point
        results), compiled once per spec into one Python function: the importer
        recomputes the totals of every file it reads.
        """
        return expr.compile_assignments([(t.cell, t.node) for t in self.totals])


def format_number(v) -> str:
    """``ROUND(v, PRECISION)`` as Excel's General format turns it into text (``&`` concatenation).

    Any value (a 401-digit integer, an infinity) gives text, never an exception.
    """
    try:
        v = expr.excel_round(float(v), expr.PRECISION)
    except (OverflowError, ValueError, TypeError):
        text = str(v)
        return text if len(text) <= 40 else f"{text[:24]}…（共 {len(text)} 位）"
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    if v.is_integer():
        return str(int(v))
    return f"{v:.15g}"


def _instances(spec, d):
    table = spec.table(d.table)
    if d.for_each is None:
        yield None, None, d.text, d.cell
        return
    axis = table.rows if d.for_each == "row" else table.columns
    keys = [a.key for a in axis]
    if d.only is not None:
        for k in d.only:
            if k not in keys:
                raise SpecError(f"{d.id}：{d.for_each}s 中的 {k!r} 不是表 {d.table} 的键")
        keys = [k for k in keys if k in d.only]
    placeholder = "$" + d.for_each
    for k in keys:
        text = d.text.replace(placeholder, k)
        cell = d.cell.replace(placeholder, k) if d.cell else None
        yield (k, None, text, cell) if d.for_each == "row" else (None, k, text, cell)


def _expand_totals(spec) -> list[TotalInstance]:
    found: dict[tuple, TotalInstance] = {}
    for d in spec.totals:
        table = spec.table(d.table)
        for _row, _col, text, cell in _instances(spec, d):
            try:
                parts = cell.split(".")
                rk, ck = parts if len(parts) == 2 else (None, None)
                if rk is None or not table.has_cell(rk, ck):
                    # a repetition whose target does not exist (e.g. a row without a total column)
                    continue
                node = expr.parse(text, spec, d.table)
            except SpecError as e:
                raise SpecError(f"合计 {d.id}：{e}") from None
            target = expr.Ref(d.table, rk, ck)
            key = (d.table, rk, ck)
            if key in found:
                continue  # already defined by an earlier total; both agree when inputs agree
            found[key] = TotalInstance(d.id, target, node)
    # dependency order
    ordered, state = [], {}

    def visit(key, chain):
        if state.get(key) == "done":
            return
        if state.get(key) == "active":
            raise SpecError("合计之间存在循环引用：" + " → ".join(".".join(k) for k in chain + [key]))
        state[key] = "active"
        for ref in expr.refs_of(found[key].node):
            dep = (ref.table, ref.row, ref.column)
            if dep in found and not ref.previous:
                visit(dep, chain + [key])
        state[key] = "done"
        ordered.append(found[key])

    for key in found:
        visit(key, [])
    return ordered


def _expand_rules(spec) -> list[RuleInstance]:
    out = []
    for d in spec.rules:
        table = spec.table(d.table)
        for row, col, text, cell in _instances(spec, d):
            try:
                node = expr.parse(text, spec, d.table)
            except SpecError as e:
                raise SpecError(f"规则 {d.id}：{e}") from None
            focus = None
            if cell is not None:
                parts = cell.split(".")
                if len(parts) != 2 or not table.has_cell(*parts):
                    raise SpecError(f"规则 {d.id}：cell {cell!r} 不是表 {d.table} 的单元格（应写作 行键.列键）")
                focus = (parts[0], parts[1])
            if not isinstance(node, expr.Compare):
                raise SpecError(f"规则 {d.id}：check 必须是比较式（==、<= 等）")
            out.append(
                RuleInstance(
                    id=d.id,
                    table=d.table,
                    severity=d.severity,
                    title=d.title,
                    fix=d.fix,
                    message_template=d.message,
                    row=row,
                    column=col,
                    row_label=table.row(row).label if row else "",
                    column_label=table.column(col).label if col else "",
                    node=node,
                    focus=focus,
                )
            )
    return out


def compile_definitions(spec) -> CompiledSpec:
    """Expand every total and rule of ``spec`` (pure: ``spec`` is not changed).

    The spec loader calls this once and keeps the result in ``FormatSpec.compiled``.
    """
    return CompiledSpec(tuple(_expand_totals(spec)), tuple(_expand_rules(spec)))


def compile_spec(spec) -> CompiledSpec:
    """The expanded totals and rules of ``spec`` (compiled once, when the format was loaded)."""
    return spec.compiled if spec.compiled is not None else compile_definitions(spec)


def recompute_totals(spec, values: dict) -> dict:
    """Fill every total of ``values`` ({(table,row,col): number}) from the inputs, in place."""
    return compile_spec(spec).fill_totals(values)
