"""Derived figures (办结率, 公开率, 复议纠错率, …): defined once, as data, beside the format.

They live in ``derived:`` of the format folder's ``derived.yaml`` (or, when a
format carries it, in ``derived:`` of ``format.yaml``)::

    derived:
      - key: disclosure_rate
        label: 公开率
        table: applications                 # context of the expressions
        expr: granted.total + partially_granted.total
        per: total_processed.total          # optional: makes the figure a ratio expr/per

``expr`` and ``per`` use the expression language of the totals and rules
(:mod:`xlsxgen.spec.expr`), so ranges (``sum(denied_state_secret..denied_query_matter.total)``)
and cross-table references work; ``previous.`` references are not allowed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from xlsxgen.errors import SpecError
from xlsxgen.spec import expr
from xlsxgen.spec.model import read_yaml

FILE_NAME = "derived.yaml"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Derived:
    key: str
    label: str
    table: str
    node: object
    per: object | None  # denominator node, None for a plain figure
    refs: tuple[expr.Ref, ...]

    @property
    def is_ratio(self) -> bool:
        return self.per is not None

    def evaluate(self, value_of):
        """The figure's value, or None for a ratio whose denominator is 0."""
        top = expr.evaluate(self.node, value_of)
        if self.per is None:
            return top
        bottom = expr.evaluate(self.per, value_of)
        if round(bottom, expr.PRECISION) == 0:
            return None
        return top / bottom


@functools.cache  # specs and tables hash by identity: computed once per object
def derived_of(spec) -> tuple[Derived, ...]:
    """The derived figures of ``spec`` (parsed once per spec object)."""
    return _load(spec)


def _load(spec) -> tuple[Derived, ...]:
    if "derived" in spec.raw:
        source, doc = Path(spec.folder) / "format.yaml", spec.raw
    else:
        source = Path(spec.folder) / FILE_NAME
        if not source.is_file():
            return ()
        try:
            doc = read_yaml(source.read_text(encoding="utf-8")) or {}
        except OSError as e:
            raise SpecError(f"无法读取派生指标定义 {source}：{e.strerror or e}") from None
        except yaml.YAMLError as e:
            raise SpecError(f"派生指标定义 {source} 不是有效的 YAML：{e}") from None
    items = doc.get("derived") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise SpecError(f"派生指标定义 {source}：derived 应为列表")
    out: list[Derived] = []
    seen: set[str] = set()
    for i, d in enumerate(items):
        path = f"derived[{i}]"

        def fail(msg, path=path):
            return SpecError(f"派生指标定义 {source}：{path}：{msg}")

        if not isinstance(d, dict):
            raise fail("应为键值映射")
        key, label, table, text = d.get("key"), d.get("label"), d.get("table"), d.get("expr")
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise fail(f"键名 {key!r} 只能由小写字母、数字和下划线组成，并以字母开头")
        if key in seen:
            raise fail(f"键名 {key!r} 重复")
        seen.add(key)
        if not isinstance(label, str) or not label:
            raise fail("缺少 label")
        if not isinstance(text, str) or not text:
            raise fail("缺少 expr")
        try:
            spec.table(table)
        except (KeyError, TypeError):
            raise fail(f"未知的表 {table!r}") from None
        per_text = d.get("per")
        try:
            node = expr.parse(str(text), spec, table)
            per = expr.parse(str(per_text), spec, table) if per_text is not None else None
        except SpecError as e:
            raise fail(str(e)) from None
        refs = tuple(
            expr.refs_of(node) + [r for r in (expr.refs_of(per) if per else []) if r not in expr.refs_of(node)]
        )
        if isinstance(node, expr.Compare) or isinstance(per, expr.Compare):
            raise fail("expr 和 per 应为算式，不能是比较式")
        if any(r.previous for r in refs):
            raise fail("不能引用上年数据（previous.）；同比在模板中用 change() 计算")
        out.append(Derived(key, label, table, node, per, refs))
    return tuple(out)
