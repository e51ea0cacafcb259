"""``xlsxgen demo``: the coordinating office's whole cycle on the embedded example.

roster → generate → simulated filling (correct ones, a balance error, a total
typed over, a broken file, one agency that does not reply) → collect →
overview, feedback, consolidated workbooks and report drafts → next year's
workbooks prefilled from the store.

The example roster (``examples/roster.csv``) has the seed's real agency
(邢台市人民政府办公室, its published 2023 figures, ``examples/xingtai-2023.json``)
and a few fictitious ones whose figures are simulated from the seed. The
simulation is generic over the spec: figures are scaled, then adjusted until
every equality rule of the format holds (or, on purpose, one does not).
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from xlsxgen.collection.distribute import distribute, workbook_file_name
from xlsxgen.collection.intake import collect
from xlsxgen.collection.outputs import write_outputs
from xlsxgen.collection.overview import build_overview
from xlsxgen.collection.roster import read_roster
from xlsxgen.collection.store import Store
from xlsxgen.data import Submission, from_canonical_trusted
from xlsxgen.errors import UsageError
from xlsxgen.files import os_reason
from xlsxgen.resources import examples_root
from xlsxgen.spec.rules import compile_spec, recompute_totals
from xlsxgen.spec.versions import check_year, resolve_format
from xlsxgen.workbook.plan import build_plan
from xlsxgen.workbook.writer import build_workbook

MARKER = ".xlsxgen-demo"
ROSTER_NAME = "名单.csv"
DB_NAME = "收集库.sqlite"
DIST = "下发"
INBOX = "收件箱"
OUT = "汇总"
SUM_NAME = "演示市（汇总）"

# what each roster agency does, by position in the example roster (the seed's agency is found by code)
SCENARIOS = ("correct", "correct", "balance_error", "typed_over_total", "broken", "silent")
SCENARIO_WORDS = {
    "seed": "按真实年报数据填写，正确",
    "correct": "模拟数据，填写正确",
    "balance_error": "改错一个数，勾稽关系不平衡",
    "typed_over_total": "在合计单元格里直接键入了数字",
    "broken": "文件损坏（传输中断，只剩一半）",
    "silent": "未报送",
}


# ---------------------------------------------------------------------------- simulated figures


def _is_signed(kind: str) -> bool:
    return kind.startswith("signed")


def _input_kinds(spec) -> dict:
    return {(t.key, rk, ck): t.kinds[(rk, ck)] for t in spec.tables for rk, ck in t.input_cells()}


def _repairable_rules(spec):

    return [ru for ru in compile_spec(spec).rules
            if not ru.cross_year and ru.severity == "error" and ru.node.op in ("==", "<=", ">=")]


def repair(spec, values: dict, *, max_passes: int = 8, frozen=()) -> bool:
    """Adjust inputs of ``values`` until every equality/inequality error rule holds; True when all do.

    Keys in ``frozen`` are never changed.
    """

    kinds = _input_kinds(spec)
    rules = _repairable_rules(spec)
    for _ in range(max_passes):
        recompute_totals(spec, values)
        bad = 0
        for ru in rules:
            ok, left, right = ru.evaluate(lambda r: values.get((r.table, r.row, r.column), 0))
            if ok:
                continue
            bad += 1
            diff = left - right
            candidates = []
            for ref in ru.refs:
                key = (ref.table, ref.row, ref.column)
                if ref.previous or key not in kinds or key in frozen:
                    continue
                d = _derivative(spec, ru, values, key)
                if not d:
                    continue
                delta = -diff / d
                new = values.get(key, 0) + delta
                if kinds[key] != "amount":
                    if abs(delta - round(delta)) > 1e-9:
                        continue
                    new = int(round(new))
                else:
                    new = round(new, 4)
                if new < 0 and not _is_signed(kinds[key]):
                    continue
                # prefer raising a figure to lowering one, and the largest figure (the change shows least)
                candidates.append((delta < 0, -abs(values.get(key, 0)), key, new))
            if candidates:
                _, _, key, new = min(candidates)
                values[key] = new
                recompute_totals(spec, values)
        if not bad:
            return True
    recompute_totals(spec, values)
    return all(ru.evaluate(lambda r: values.get((r.table, r.row, r.column), 0))[0] for ru in rules)


def _derivative(spec, ru, values, key) -> float:

    def side_diff(vals):
        _, left, right = ru.evaluate(lambda r: vals.get((r.table, r.row, r.column), 0))
        return left - right

    trial = dict(values)
    trial[key] = trial.get(key, 0) + 1
    recompute_totals(spec, trial)
    return side_diff(trial) - side_diff(values)


def simulate(spec, base, *, year: int, agency_name: str, agency_code: str, seed: str, factor: float):
    """A plausible, rule-abiding Submission derived from ``base`` (scaled and jittered)."""

    rng = random.Random(seed)
    values = {}
    for key, kind in _input_kinds(spec).items():
        v = base.values.get(key, 0) or 0
        scaled = v * factor * rng.uniform(0.5, 1.5)
        if v == 0 and rng.random() < 0.05 and not _is_signed(kind):
            scaled = rng.randint(1, 3) if kind != "amount" else 0
        values[key] = round(scaled, 2) if kind == "amount" else int(round(scaled))
    repair(spec, values)
    sub = Submission(spec.id, year=year, agency_name=agency_name, agency_code=agency_code, values=values)
    for f in spec.narrative_fields:
        if f.kind == "text":
            sub.narrative[f.key] = f"（演示数据，由 xlsxgen demo 模拟填写）{agency_name}{year}年度“{f.label}”的文字材料。"
        elif f.kind in ("count", "amount"):
            sub.narrative[f.key] = 0
    sub.contact = demo_contact(spec)
    return sub


def demo_contact(spec) -> dict:
    out = {}
    for f in spec.cover_fields:
        if f.bind and f.bind.startswith("contact.") and not f.locked:
            example = (f.hint or "").replace("例如", "").strip()
            out[f.bind.split(".", 1)[1]] = example or f"演示{f.label}"
    return out


def break_balance(spec, values: dict) -> tuple:
    """Change one input so that the first equality rule fails; the changed key."""
    kinds = _input_kinds(spec)
    for ru in _repairable_rules(spec):
        if ru.node.op != "==":
            continue
        for ref in ru.refs:
            key = (ref.table, ref.row, ref.column)
            if key in kinds and not ref.previous and _derivative(spec, ru, values, key):
                values[key] = values.get(key, 0) + 5
                return key
    raise RuntimeError("the format has no equality rule on an input")


def type_over_total(spec, blob: bytes, *, add: int = 10) -> tuple[bytes, str]:
    """The workbook with the first total's formula removed and a number typed in its place."""

    plan = build_plan(spec, False)
    cell = next(c for c in plan.cells if c.role == "total")
    sheet_index = [s.name for s in plan.sheets].index(cell.sheet) + 1
    part = f"xl/worksheets/sheet{sheet_index}.xml"
    src = zipfile.ZipFile(_io(blob))
    xml = src.read(part).decode("utf-8")
    pattern = re.compile(r'<c r="' + re.escape(cell.address) + r'"([^>]*)><f>[^<]*</f><v>([^<]*)</v></c>')
    m = pattern.search(xml)
    if not m:
        raise RuntimeError(f"total cell {cell.address} not found in {part}")
    attrs = re.sub(r'\s+t="[^"]*"', "", m.group(1))
    typed = float(m.group(2) or 0) + add
    xml = xml[: m.start()] + f'<c r="{cell.address}"{attrs}><v>{int(typed)}</v></c>' + xml[m.end():]
    xml = re.sub(r"<sheetProtection[^>]*/>", "", xml)  # the clerk unprotected the sheet first
    out = _io()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = xml.encode("utf-8") if info.filename == part else src.read(info.filename)
            dst.writestr(info, data)
    return out.getvalue(), f"{cell.sheet}!{cell.address}"


def _io(data: bytes = b""):

    return io.BytesIO(data)


# ---------------------------------------------------------------------------- the whole cycle


@dataclass
class DemoResult:
    root: Path
    roster: Path
    db: Path
    dist: Path
    inbox: Path
    out: Path
    next_dist: Path | None
    scenario: list = field(default_factory=list)  # (agency, what happened, file or "")
    collect: object = None
    overview: object = None
    outputs: object = None
    next_prefilled: int = 0
    spec: object = None


def prepare_dir(root: Path) -> None:
    """Use ``root`` for the demo: create it, or clear an earlier demo's files in it."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} 是文件，不是文件夹；请用 --out-dir 指定一个文件夹")
    if root.is_dir() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise UsageError(f"文件夹 {root} 不是空的，也不是之前演示生成的；请用 --out-dir 指定一个新文件夹")
        for name in (DIST, INBOX, OUT, f"{DIST}-next"):
            shutil.rmtree(root / name, ignore_errors=True)
        for p in root.glob(f"{DIST}-*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in root.glob(DB_NAME + "*"):
            p.unlink()
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / MARKER).write_text("xlsxgen demo\n", encoding="utf-8")
    except OSError as e:
        raise UsageError(f"无法使用文件夹 {root}：{os_reason(e)}") from None


def run_demo(root, *, show_progress: bool = False) -> DemoResult:

    root = Path(root).resolve()
    prepare_dir(root)
    ex = examples_root()
    seed_doc = json.loads((ex / "xingtai-2023.json").read_text(encoding="utf-8"))
    year = int(seed_doc["year"])
    spec = resolve_format(seed_doc.get("format"), year)
    seed = from_canonical_trusted(spec, seed_doc)

    roster_path = root / ROSTER_NAME
    shutil.copyfile(ex / "roster.csv", roster_path)
    roster = read_roster(roster_path)
    db = root / DB_NAME
    res = DemoResult(root, roster_path, db, root / DIST, root / INBOX, root / OUT, None, spec=spec)

    # 1. distribute
    distribute(spec, year, roster, res.dist, db=db, show_progress=show_progress)

    # 2. the agencies fill in (simulated)
    res.inbox.mkdir()
    others = iter(SCENARIOS)
    for i, agency in enumerate(roster):
        name = workbook_file_name(year, agency)
        what = "seed" if agency.code == seed.agency_code else next(others, "correct")
        if what == "seed":
            data = seed
            data.contact = data.contact if any(data.contact.values()) else demo_contact(spec)
        else:
            data = simulate(spec, seed, year=year, agency_name=agency.name, agency_code=agency.code,
                            seed=agency.code, factor=0.15 + 0.1 * (i % 4))
        detail = ""
        if what == "balance_error":
            key = break_balance(spec, data.values)
            detail = "（" + spec.table(key[0]).cell_label(key[1], key[2]) + " 多填了 5）"
        blob = build_workbook(spec, year=year, agency_name=agency.name, agency_code=agency.code, data=data)
        if what == "typed_over_total":
            blob, where = type_over_total(spec, blob)
            detail = f"（{where}）"
        elif what == "broken":
            blob = blob[: len(blob) // 2]
        if what == "silent":
            res.scenario.append((agency, SCENARIO_WORDS[what], ""))
            continue
        (res.inbox / name).write_bytes(blob)
        res.scenario.append((agency, SCENARIO_WORDS[what] + detail, name))
        if what == "seed":  # the same file sent twice (by e-mail and on a USB stick): stored once
            (res.inbox / "邮件附件").mkdir()
            (res.inbox / "邮件附件" / name).write_bytes(blob)
    (res.inbox / "请查收.txt").write_text("各单位报送的年报统计表，请查收。\n", encoding="utf-8")

    # 3. collect
    res.collect = collect(res.inbox, db=db, year=year, spec=spec, show_progress=show_progress)
    with Store.open(db, create=False) as store:
        res.overview = build_overview(store, year)
        res.outputs = write_outputs(store, res.overview, spec=spec, out_dir=res.out, sum_name=SUM_NAME)

    # 4. next year: the workbooks prefilled from the store

    try:
        next_spec = resolve_format(None, year + 1)
        check_year(next_spec, year + 1)
    except UsageError:
        next_spec = None
    if next_spec is not None:
        res.next_dist = root / f"{DIST}-{year + 1}"
        dist = distribute(next_spec, year + 1, roster, res.next_dist, db=db, show_progress=show_progress)
        res.next_prefilled = dist.prefilled
    return res
