"""Distribution: one prefilled, locked workbook per roster agency (prefill from last year's accepted data)."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from xlsxgen.collection.progress import Progress
from xlsxgen.collection.roster import Agency, Roster, RosterError
from xlsxgen.collection.store import Store
from xlsxgen.data import Submission, from_canonical_trusted
from xlsxgen.errors import XlsxgenError
from xlsxgen.files import safe_file_part, write_atomic, write_csv
from xlsxgen.spec import expr, load_format
from xlsxgen.spec.rules import compile_spec, recompute_totals
from xlsxgen.spec.versions import format_of
from xlsxgen.workbook.personalise import Personaliser
from xlsxgen.workbook.writer import build_workbook


def workbook_file_name(year: int, agency: Agency) -> str:
    """The file name of an agency's workbook, recognisable by a person: ``2024-001-某某局.xlsx``."""
    return f"{year}-{safe_file_part(agency.code, 30)}-{safe_file_part(agency.name)}.xlsx"



def prefill_pairs(spec) -> list[tuple[tuple, tuple]]:
    """(this year's input cell, last year's cell) pairs to prefill, derived from the spec's rules.

    An error-severity cross-year rule of the shape ``<this-year cell> == previous.<cell>``
    says the value must be carried over: the workbook is prefilled with it.
    """

    pairs = []
    for ru in compile_spec(spec).rules:
        node = ru.node
        if ru.severity != "error" or node.op != "==":
            continue
        left, right = node.left, node.right
        if isinstance(left, expr.Ref) and left.previous and isinstance(right, expr.Ref) and not right.previous:
            left, right = right, left
        if not (isinstance(left, expr.Ref) and isinstance(right, expr.Ref)):
            continue
        if left.previous or not right.previous:
            continue
        this = (left.table, left.row, left.column)
        if spec.table(left.table).kinds.get((left.row, left.column)) == "total":
            continue  # a total follows from its inputs
        pairs.append((this, (right.table, right.row, right.column)))
    return pairs



def prefill_from_previous(spec, previous, *, year: int, agency_name: str, agency_code: str):
    """(data, prefilled keys) for a workbook prefilled from last year's Submission ``previous``.

    Last year may be in another format version: its totals are its own format's, and only
    the pairs whose last-year cell that format has are prefilled.
    """

    prev_values = recompute_totals(format_of(previous.format_id, spec), dict(previous.values))
    values = {}
    for this, prev in prefill_pairs(spec):
        v = prev_values.get(prev)
        if isinstance(v, (int, float)):
            values[this] = v
    data = Submission(spec.id, year=year, agency_name=agency_name, agency_code=agency_code, values=values)
    return data, frozenset(values)






def _usable_previous(doc: dict, spec) -> bool:
    """Last year's canonical data can prefill ``spec``'s workbook: same format, or another installed version."""
    from xlsxgen.spec.domain import doc_in_domain

    prev_spec = format_of(doc.get("format"), spec)
    # figures outside the numeric domain (stored by an older release) cannot be written into a workbook
    return prev_spec is not None and doc_in_domain(prev_spec, doc)



@dataclass
class Distribution:
    out_dir: Path
    manifest: Path
    files: list = field(default_factory=list)  # (Agency, file name, prefilled?)
    matches: list = field(default_factory=list)  # (Agency, last year's code, how) where not matched by the same code

    def match_lines(self) -> list[str]:
        """What was matched to last year's data other than by the identical code, in a few lines."""
        if not self.matches:
            return []
        by_how: dict[str, list] = {}
        for a, prev, how in self.matches:
            by_how.setdefault(how, []).append(f"{a.code}←{prev}" if how != "名称" else f"{a.name}（{a.code}←{prev}）")
        lines = []
        for how, items in by_how.items():
            shown = "、".join(items[:8]) + (f" 等 {len(items)} 个" if len(items) > 8 else "")
            words = {"代码（忽略前导零）": "代码去掉前导零后相同（名单中的代码可能被 Excel 去掉了前导零）",
                     "名称": "代码不同、名称相同"}.get(how, how)
            lines.append(f"按{how}对应到上年数据的单位 {len(items)} 个（{words}）：{shown}")
        return lines

    @property
    def prefilled(self) -> int:
        return sum(1 for _, _, p in self.files if p)



def distribute(spec, year: int, roster: Roster, out_dir, *, db=None, show_progress: bool = True) -> Distribution:
    """Write one workbook per roster agency and a manifest into ``out_dir``.

    With ``db`` (a store path), the roster is recorded for ``year`` and each
    workbook is prefilled from the agency's accepted submission of ``year - 1``.
    """


    out = Path(out_dir)
    seen: dict[str, Agency] = {}
    for a in roster:
        n = workbook_file_name(year, a).lower()
        if n in seen:
            raise RosterError(f"名单中第{seen[n].line}行和第{a.line}行的单位生成的文件名相同（{n}），请修改代码或名称")
        seen[n] = a
    if out.exists() and not out.is_dir():
        raise XlsxgenError(f"{out} 是文件，不是文件夹；请用 --out-dir 指定一个文件夹")
    store = None
    if db is not None:
        store = Store.open(db)
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            from xlsxgen.files import os_reason

            raise XlsxgenError(f"无法创建文件夹 {out}：{os_reason(e)}") from None
        from xlsxgen.files import clean_stale_temporaries

        clean_stale_temporaries(out)  # left by a generate that was killed
        if store is not None:
            store.save_roster(year, roster)
        names = [workbook_file_name(year, a) for a in roster]
        files = []

        matches: list = []

        def tasks():
            prev_roster = store.roster(year - 1) if store is not None else None
            for agency, name in zip(roster, names):
                prev_json = None
                if store is not None:
                    prev_code, how = _previous_code(store, prev_roster, year - 1, agency)
                    if how:
                        matches.append((agency, prev_code, how))
                    rec = store.latest_usable(year - 1, prev_code)
                    if rec is not None and rec.data_json and _usable_previous(json.loads(rec.data_json), spec):
                        prev_json = rec.data_json
                yield (agency.name, agency.code, name, prev_json)

        with Progress("生成", len(roster), quiet=not show_progress) as progress:
            for (agency, name), (blob, prefilled) in zip(zip(roster, names), _build_all(spec, year, tasks(),
                                                                                        len(roster))):
                write_atomic(out / name, blob)
                files.append((agency, name, prefilled))
                progress.advance()
        manifest = out / f"下发清单-{year}.csv"
        write_csv(manifest, [["序号", "单位代码", "单位名称", "上级", "类型", "文件名", "已按上年数据预填"]] + [
            [i, a.code, a.name, a.parent, a.kind, name, "是" if pre else "否"] for i, (a, name, pre) in enumerate(files, 1)])
        return Distribution(out, manifest, files, [m for m in matches if m[2]])
    finally:
        if store is not None:
            store.close()



def _previous_code(store, prev_roster, prev_year: int, agency: Agency) -> tuple[str, str]:
    """(code of ``agency`` in ``prev_year``, how it was matched: "" for the same code).

    The same code first; then the same code after normalising (leading zeros
    that Excel stripped, spaces, case); then the same name (unique).
    """
    if store.latest_usable(prev_year, agency.code) is not None:
        return agency.code, ""
    if prev_roster is not None:
        hit = prev_roster.match_code(agency.code)
        if hit is not None and hit.code != agency.code:
            return hit.code, "代码（忽略前导零）"
        hit = prev_roster.match_name(agency.name)
        if hit is not None and hit.code != agency.code:
            return hit.code, "名称"
    codes = [c for c in store.codes_named(agency.name) if c != agency.code]
    if len(codes) == 1:
        return codes[0], "名称"
    return agency.code, ""


POOL_FROM = 40  # agencies: fewer are built in-process



def _build_one(task) -> tuple[bytes, bool]:
    """The workbook of one agency (with last year's data when given, else personalised)."""


    spec, year = _B["spec"], _B["year"]
    agency_name, agency_code, _name, prev_json = task
    if prev_json:
        doc = json.loads(prev_json)
        prev_spec = format_of(doc.get("format"), spec)
        previous = from_canonical_trusted(prev_spec, doc)
        data, keys = prefill_from_previous(spec, previous, year=year, agency_name=agency_name,
                                           agency_code=agency_code)
        # the last-year sheet and its live checks need last year's figures in this year's format;
        # from another version only the carried-over values are prefilled (collect checks the rest)
        return build_workbook(spec, year=year, agency_name=agency_name, agency_code=agency_code, data=data,
                              previous=previous if prev_spec is spec else None, prefilled=keys), True
    if "personaliser" not in _B:
        _B["personaliser"] = Personaliser(spec, year)
    return _B["personaliser"].build(agency_name, agency_code), False



def _init_builder(format_id: str, year: int) -> None:


    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _B.clear()
    _B.update(spec=load_format(format_id), year=year)



def _build_all(spec, year: int, tasks, total: int):
    """Yield (bytes, prefilled) per task, in order; on a process pool for large rosters."""

    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if jobs <= 1 or total < POOL_FROM:
        _B.clear()
        _B.update(spec=spec, year=year)
        for t in tasks:
            yield _build_one(t)
        return
    window: deque = deque()
    with cf.ProcessPoolExecutor(max_workers=jobs, initializer=_init_builder, initargs=(spec.id, year)) as ex:
        try:
            for t in tasks:
                window.append(ex.submit(_build_one, t))
                if len(window) >= jobs * 8:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for f in window:
                f.cancel()


_B: dict = {}
