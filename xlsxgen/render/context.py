"""The variables a report template sees, and the bookkeeping behind them.

Templates read figures through views that record every cell they touch::

    {{ data.applications.new_received.total }}          this year's cell
    {{ derived.disclosure_rate }}                         a derived figure (derived.yaml)
    {{ prev.data.applications.new_received.total }}       last year's (``prev`` is None without --previous)
    {{ narrative.overview_active }}                       an agency text (placeholder when missing)

A ``{% call generated() %}…{% endcall %}`` block is one generated sentence: the
cells read inside it become its data sources (listed by every writer), and when
one of them is missing, or failed an error rule, the sentence is replaced by a
visible placeholder and a warning; numbers never come from unvalidated data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xlsxgen.errors import SpecError
from xlsxgen.numbers import Written, exact
from xlsxgen.render import derived as derived_mod
from xlsxgen.render import markup
from xlsxgen.render.filters import format_number, format_percent
from xlsxgen.spec.rules import recompute_totals
from xlsxgen.spec.runner import run_rules, tainted
from xlsxgen.spec.versions import format_of
from xlsxgen.workbook.plan import build_plan

PLACEHOLDER = "【待补充：{}】"
TABLE_PLACEHOLDER = "【待补充】"


class TemplateDataError(Exception):
    """A template asked for a table, row, column, field or figure that does not exist."""


@dataclass(frozen=True)
class SourceCell:
    ref: str  # applications.new_received.total, previous.…, narrative.fee_amount
    label: str
    value: str
    place: str = ""  # where a person finds it: 「三、依申请公开 D7」, 「上年 三、依申请公开 J9」

    def note(self) -> str:
        """One cell for a person: 「三、依申请公开 D7，一、本年新收…／自然人＝107」 (no keys)."""
        return f"{self.place}，{self.label}＝{self.value}" if self.place else f"{self.label}＝{self.value}"


def provenance(cells) -> str:
    """The provenance note of a generated sentence, in Chinese: 「来源：三、依申请公开 D7，…＝107；…」."""
    return "来源：" + "；".join(c.note() for c in cells)


@dataclass
class Source:
    id: int
    text: str  # the sentence, plain
    cells: list[SourceCell]


class _Recorder:
    __slots__ = ("cells", "missing", "invalid", "todos")

    def __init__(self):
        self.cells: dict[str, SourceCell] = {}
        self.missing: list[str] = []
        self.invalid: list[str] = []
        self.todos: list[str] = []

    def merge(self, other: _Recorder):
        self.cells.update(other.cells)
        self.missing += other.missing
        self.invalid += other.invalid
        self.todos += other.todos


def _num(v):
    return v._v() if isinstance(v, Figure) else v


class Figure:
    """A number as templates see it: formats itself, compares like a number, knows its cells."""

    __slots__ = ("_ctx", "value", "cells", "label", "ratio", "missing", "invalid")

    def __init__(self, ctx, value, cells, label, ratio=False, missing=False, invalid=()):
        self._ctx = ctx
        self.value = value
        self.cells = cells  # tuple[SourceCell]
        self.label = label
        self.ratio = ratio
        self.missing = missing
        self.invalid = tuple(invalid)  # titles of failed error rules

    @property
    def defined(self) -> bool:
        return not self.missing and self.value is not None

    def __str__(self):
        self._ctx._touch(self)
        if not self.defined:
            why = self.label if self.missing else f"{self.label}（分母为0，无法计算）"
            return self._ctx.placeholder(why, warn=f"缺少数据：{why}")
        return format_percent(self.value) if self.ratio else format_number(self.value)

    def __repr__(self):
        return f"<Figure {self.label}={self.value!r}>"

    def _v(self):
        self._ctx._touch(self)  # a figure is recorded where it is used, not only where it is read
        return self.value if self.value is not None else 0

    def __eq__(self, other):
        return self._v() == _num(other)

    def __ne__(self, other):
        return self._v() != _num(other)

    def __lt__(self, other):
        return self._v() < _num(other)

    def __le__(self, other):
        return self._v() <= _num(other)

    def __gt__(self, other):
        return self._v() > _num(other)

    def __ge__(self, other):
        return self._v() >= _num(other)

    def __bool__(self):
        return bool(self._v())

    def __float__(self):
        return float(self._v())

    def __int__(self):
        return int(self._v())

    def __abs__(self):
        return abs(self._v())

    __hash__ = object.__hash__


class Change:
    """Year-over-year change of two figures; wording is the template's (``_macros.j2``)."""

    def __init__(self, current: Figure, previous: Figure):
        self.current, self.previous = current, previous
        cur, prev = current._v(), previous._v()
        self.diff = abs(cur - prev)
        self.up = cur > prev
        self.down = cur < prev
        self.flat = cur == prev
        self.previous_zero = prev == 0
        self.rate = None if prev == 0 else abs(cur - prev) / prev  # as a ratio: 0.125 → 12.5%


class NarrativeText(str):
    """An agency's text (already cleaned for the markup); ``.label`` is its field label."""

    missing = False

    def __new__(cls, text, label):
        obj = super().__new__(cls, text)
        obj.label = label
        return obj


class MissingText:
    """A narrative text that was not filled in: prints as a placeholder and warns."""

    missing = True

    def __init__(self, ctx, field):
        self._ctx = ctx
        self.label = field.label
        self._what = f"{field.label}（{field.hint}）" if field.hint else field.label

    def __str__(self):
        return self._ctx.placeholder(
            self._what,
            warn=f"{self._ctx.narrative_sheet}「{self.label}」未填写，报告中已用【待补充】占位，请补充后重新生成",
        )

    def __bool__(self):
        return False

    def __contains__(self, item):
        return False

    def __len__(self):
        return 0


# ---------------------------------------------------------------------- views


class _View:
    __slots__ = ()

    def __getitem__(self, key):
        return self.__getattr__(key)


class _DataView(_View):
    __slots__ = ("_ctx", "_previous")

    def __init__(self, ctx, previous):
        self._ctx, self._previous = ctx, previous

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            table = self._ctx.spec.table(key)
        except KeyError:
            known = "、".join(t.key for t in self._ctx.spec.tables)
            raise TemplateDataError(f"没有表 {key!r}（可用：{known}）") from None
        return _TableView(self._ctx, table, self._previous)


class _TableView(_View):
    __slots__ = ("_ctx", "_table", "_previous")

    def __init__(self, ctx, table, previous):
        self._ctx, self._table, self._previous = ctx, table, previous

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        if not any(a.key == key for a in self._table.rows):
            raise TemplateDataError(f"表 {self._table.key} 没有行 {key!r}")
        return _RowView(self._ctx, self._table, key, self._previous)


class _RowView(_View):
    __slots__ = ("_ctx", "_table", "_row", "_previous")

    def __init__(self, ctx, table, row, previous):
        self._ctx, self._table, self._row, self._previous = ctx, table, row, previous

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        if not self._table.has_cell(self._row, key):
            raise TemplateDataError(f"表 {self._table.key} 的行 {self._row} 没有列 {key!r}")
        return self._ctx.cell_figure(self._table.key, self._row, key, self._previous)


class _DerivedView(_View):
    __slots__ = ("_ctx", "_previous")

    def __init__(self, ctx, previous):
        self._ctx, self._previous = ctx, previous

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        return self._ctx.derived_figure(key, self._previous)


class _NarrativeView(_View):
    __slots__ = ("_ctx",)

    def __init__(self, ctx):
        self._ctx = ctx

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        return self._ctx.narrative_value(key)


@dataclass
class PreviousYear:
    year: object
    data: _DataView
    derived: _DerivedView


class FieldInfo:
    """A narrative field of a section; ``value`` is read (and recorded) only when used."""

    def __init__(self, view, field):
        self._view = view
        self.key, self.label, self.kind, self.hint = field.key, field.label, field.kind, field.hint

    @property
    def value(self):
        return getattr(self._view, self.key)


@dataclass
class SectionInfo:
    key: str
    heading: str
    table: str | None
    fields: list[FieldInfo]


# ---------------------------------------------------------------------- the context


def _missing_cells(spec, values: dict) -> set:
    """Input cells without a value, plus every total computed from one of them.

    Totals need not be in ``values`` (an imported workbook carries its inputs only):
    they are recomputed (:func:`_figures`); only a missing input makes them missing.
    """
    return tainted(spec, {(t.key, r, c) for t in spec.tables for (r, c) in t.input_cells()
                          if values.get((t.key, r, c)) is None})


def _figures(spec, values: dict) -> dict:
    """The inputs of ``values`` and every total of ``spec`` recomputed from them (a new dict)."""
    return recompute_totals(spec, {k: v for k, v in values.items() if v is not None})


def _absent_cells(spec, other) -> set:
    """Cells of ``spec`` that format ``other`` does not have (last year in another format version)."""
    if other is spec:
        return set()
    out = set()
    for t in spec.tables:
        try:
            ot = other.table(t.key)
        except KeyError:
            ot = None
        out |= {(t.key, r, c) for (r, c) in t.cells if ot is None or not ot.has_cell(r, c)}
    return out


_NUMBER_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])\s*(\S?)")


def _figures_stated(text: str) -> list[tuple[str, str]]:
    """(number, the character after it — its unit: 件, %, 万…) of every number in ``text``."""
    return [(exact(float(m.group(1))), m.group(2)) for m in _NUMBER_RE.finditer(text.replace(",", ""))]


def _already_told(sentence: str, told) -> bool:
    """True when the agency's text states every non-zero figure of the generated sentence, with its unit."""
    if told is None or getattr(told, "missing", False):
        return False
    wanted = [f for f in _figures_stated(sentence) if float(f[0]) != 0]
    if not wanted:
        return False
    have = set(_figures_stated(str(told)))
    return all(f in have for f in wanted)


def spec_of(submission, default):
    """The format of ``submission``: ``default`` when the ids agree, else the installed format of its id."""
    found = format_of(submission.format_id, default)
    if found is None:
        raise SpecError(f"未知的报告格式 {submission.format_id!r}（上年数据的格式版本未安装）")
    return found


class RenderContext:
    """Everything one rendering needs; collects warnings and the sources of generated sentences."""

    def __init__(self, spec, submission, previous=None, options=None, compilation=None):
        self.spec = spec
        self.options = dict(options or {})
        self.compilation = compilation  # the agencies' texts (the office's consolidated report), or None
        self.sub = submission
        self.previous = previous
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self.sources: list[Source] = []
        self._stack: list[_Recorder] = []
        self._figures: dict = {}
        self.values = _figures(spec, submission.values)
        self.missing = _missing_cells(spec, submission.values)
        # last year may be in another format version: its own totals; cells it lacks are missing
        self.prev_spec = spec_of(previous, spec) if previous is not None else spec
        self.prev_values = _figures(self.prev_spec, previous.values) if previous is not None else {}
        self.prev_missing = set()
        if previous is not None:
            self.prev_missing = _missing_cells(self.prev_spec, previous.values) | _absent_cells(spec, self.prev_spec)
        self.invalid: dict[tuple, list[str]] = {}
        self._fields = {f.key: f for f in spec.narrative_fields}
        self.narrative_sheet = spec.sheets.get("narrative", "")  # where agencies type their texts
        self._check_rules()
        self._check_tables()

    # ------------------------------------------------------------ checks

    def warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.warnings.append(message)

    def _check_rules(self):
        run = run_rules(self.spec, self.values,
                        previous_values=self.prev_values if self.previous is not None else None,
                        previous_spec=self.prev_spec, unreliable=self.missing,
                        previous_unreliable=self.prev_missing)  # a rule over missing data: reported as missing
        for res in run.failures:
            inst = res.rule
            level = "错误" if inst.severity == "error" else "提醒"
            self.warn(f"校验{level}：{inst.title}：{inst.message(res.left, res.right)}")
            if inst.severity == "error":
                for r in inst.refs:
                    if not r.previous:
                        self.invalid.setdefault((r.table, r.row, r.column), []).append(inst.title)
        skipped = dict.fromkeys(inst.title for inst in run.skipped)
        if skipped:
            self.warn(
                f"上年数据的格式为 {self.prev_spec.id}，与本年 {self.spec.id} 不同，以下跨年度校验在上年格式中"
                f"没有对应的数据、未执行：{'；'.join(f'「{t}」' for t in skipped)}"
            )

    def _check_tables(self):
        for t in self.spec.tables:
            gaps = [t.cell_label(r, c) for (r, c) in t.cells if (t.key, r, c) in self.missing]
            if gaps:
                shown = "、".join(gaps[:3]) + ("等" if len(gaps) > 3 else "")
                self.warn(f"表「{t.heading}」有{len(gaps)}个单元格没有数据（{shown}），表中已用{TABLE_PLACEHOLDER}占位")

    # ------------------------------------------------------------ placeholders and recording

    def placeholder(self, what: str, warn: str | None = None) -> str:
        """A visible 【待补充：…】; warns, unless inside a generated sentence (which handles it)."""
        if self._stack:
            self._stack[-1].todos.append(what)
        elif warn:
            self.warn(warn)
        return markup.mark("P", PLACEHOLDER.format(what))

    def todo(self, what) -> str:
        """Template helper: an explicit placeholder, e.g. ``{{ todo("联系电话") }}``."""
        return self.placeholder(str(what), warn=f"报告中有待补充的内容：{what}")

    def _touch(self, fig: Figure) -> Figure:
        for rec in self._stack:
            for c in fig.cells:
                rec.cells.setdefault(c.ref, c)
            if fig.missing:
                rec.missing.append(fig.label)
            rec.invalid.extend(fig.invalid)
        return fig

    def generated(self, caller, told=None) -> str:
        """``{% call generated() %}…{% endcall %}``: one sentence built from data.

        ``told``: the agency's text the sentence belongs to; when that text already states
        every (non-zero) figure of the sentence, the sentence is left out, so that a fact
        is not told twice (``{% call generated(told=narrative.overview_application) %}``).
        """
        rec = _Recorder()
        self._stack.append(rec)
        try:
            body = caller()
        finally:
            self._stack.pop()
        if self._stack:
            self._stack[-1].merge(rec)
        text = markup.join_lines([line.strip() for line in str(body).split("\n") if line.strip()])
        if rec.missing:  # even when the sentence came out empty: its condition used a missing value
            labels = list(dict.fromkeys(rec.missing))
            shown = "、".join(labels[:3]) + ("等" if len(labels) > 3 else "")
            self.warn(f"生成语句缺少数据（{shown}），报告中已用【待补充】占位")
            return self.placeholder(f"缺少数据（{shown}），本句未生成")
        if rec.invalid:
            titles = "；".join(dict.fromkeys(rec.invalid))
            self.warn(f"生成语句引用的数据未通过校验（{titles}），报告中已用【待补充】占位，请更正数据后重新生成")
            return self.placeholder(f"相关数据未通过校验（{titles}），请核实后补充")
        if not text:
            return ""
        if told is not None and not rec.todos and _already_told(markup.plain(text), told):
            return ""
        for what in dict.fromkeys(rec.todos):
            self.warn(f"生成语句中有待补充的内容：{what}")
        plain = "".join(r.text for r in markup.parse_runs(text))
        src = Source(len(self.sources) + 1, plain, list(rec.cells.values()))
        self.sources.append(src)
        return markup.mark(f"G{src.id}", text)

    # ------------------------------------------------------------ figures

    @staticmethod
    def _place(key, spec) -> str:
        """「sheet A1」 of a figure or narrative field in the format's workbook ('' when it has none)."""
        try:
            plan = build_plan(spec)
        except Exception:  # noqa: BLE001 - a place is a courtesy; never fail a rendering for it
            return ""
        c = plan.figure_cells.get(key) or plan.field_cells.get(key)
        return f"{c.sheet} {c.address}" if c is not None else ""

    def cell_text(self, table_key, row, column) -> str:
        """The text of a statutory table cell (writers)."""
        key = (table_key, row, column)
        if key in self.missing:
            return TABLE_PLACEHOLDER
        return format_number(self.values.get(key, 0))

    def cell_figure(self, table_key, row, column, previous=False) -> Figure:
        fkey = ("cell", table_key, row, column, previous)
        fig = self._figures.get(fkey)
        if fig is None:
            key = (table_key, row, column)
            values = self.prev_values if previous else self.values
            missing = key in (self.prev_missing if previous else self.missing)
            value = None if missing else values.get(key, 0)
            label = ("上年" if previous else "") + self.spec.table(table_key).cell_label(row, column)
            ref = ("previous." if previous else "") + f"{table_key}.{row}.{column}"
            place = self._place(key, self.prev_spec if previous else self.spec)
            if previous and place:
                place = "上年 " + place
            cell = SourceCell(ref, label, format_number(value) if value is not None else TABLE_PLACEHOLDER,
                              place or ("上年数据" if previous else ""))
            invalid = () if previous else self.invalid.get(key, ())
            fig = Figure(self, value, (cell,), label, missing=missing, invalid=invalid)
            self._figures[fkey] = fig
        return self._touch(fig)

    def derived_figure(self, key, previous=False) -> Figure:
        fkey = ("derived", key, previous)
        fig = self._figures.get(fkey)
        if fig is None:
            d = next((d for d in derived_mod.derived_of(self.spec) if d.key == key), None)
            if d is None:
                known = "、".join(x.key for x in derived_mod.derived_of(self.spec)) or "（无）"
                raise TemplateDataError(f"没有派生指标 {key!r}（见 {derived_mod.FILE_NAME}；可用：{known}）")
            cells = [self.cell_figure(r.table, r.row, r.column, previous) for r in d.refs]
            missing = any(c.missing for c in cells)
            values = self.prev_values if previous else self.values
            value = None if missing else d.evaluate(lambda r: values.get((r.table, r.row, r.column), 0))
            label = ("上年" if previous else "") + d.label
            invalid = [t for c in cells for t in c.invalid]
            fig = Figure(self, value, tuple(c.cells[0] for c in cells), label, d.is_ratio, missing, invalid)
            self._figures[fkey] = fig
        return self._touch(fig)

    def narrative_value(self, key):
        f = self._fields.get(key)
        if f is None:
            known = "、".join(self._fields)
            raise TemplateDataError(f"文字材料中没有字段 {key!r}（可用：{known}）")
        raw = self.sub.narrative.get(key)
        if f.kind == "text":
            if raw is None or not str(raw).strip():
                return MissingText(self, f)
            return NarrativeText(markup.clean(str(raw)), f.label)
        fkey = ("narrative", key)
        fig = self._figures.get(fkey)
        if fig is None:
            missing = raw is None or (isinstance(raw, str) and not raw.strip())
            value = None
            if not missing:
                try:
                    value = Written(str(raw).strip()) if not isinstance(raw, (int, float)) else raw
                except (TypeError, ValueError):
                    missing = True
            label = f"{self.narrative_sheet}「{f.label}」"
            cell = SourceCell(
                f"narrative.{key}", f.label, format_number(value) if value is not None else TABLE_PLACEHOLDER,
                self._place(("narrative", key), self.spec) or self.narrative_sheet,
            )
            fig = Figure(self, value, (cell,), label, missing=missing)
            self._figures[fkey] = fig
        return self._touch(fig)

    # ------------------------------------------------------------ template variables

    def title(self) -> str:
        agency = self.sub.agency_name or self.placeholder("单位名称", warn="缺少填报单位名称")
        year = self.sub.year if self.sub.year is not None else self.placeholder("报告年度", warn="缺少报告年度")
        return self.spec.report_title_for(agency, year)

    def variables(self) -> dict:
        spec, sub = self.spec, self.sub
        narrative = _NarrativeView(self)
        sections = []
        for s in spec.sections:
            fields = [FieldInfo(narrative, f) for f in spec.narrative_fields if f.section == s.key]
            sections.append(SectionInfo(s.key, s.heading, s.table, fields))
        prev = None
        if self.previous is not None:
            prev = PreviousYear(self.previous.year, _DataView(self, True), _DerivedView(self, True))
        return {
            "title": self.title(),
            "agency": sub.agency_name or self.placeholder("单位名称", warn="缺少填报单位名称"),
            "year": sub.year if sub.year is not None else self.placeholder("报告年度", warn="缺少报告年度"),
            "format": {"id": spec.id, "title": spec.title, "basis": spec.basis, "version": spec.version},
            "sections": sections,
            "contact": dict(sub.contact),
            "data": _DataView(self, False),
            "derived": _DerivedView(self, False),
            "narrative": narrative,
            "prev": prev,
            "generated": self.generated,
            "todo": self.todo,
            "change": Change,
            # derived figures the national format does not ask for (纠错率, 占比): off unless an option
            # (render --extra-figures) or the template ({% set extra_figures = true %}) turns them on
            "extra_figures": bool(self.options.get("extra_figures", False)),
            # the office's consolidated report: the agencies' texts per narrative item (None for one agency)
            "compilation": self.compilation,
        }
