"""Fill a generated workbook with canonical JSON data, as if the agency had typed it.

The workbook given is read for its identity (format, agency, code, year) and
last year's figures (when it carries the last-year sheet); the output is
:func:`xlsxgen.workbook.writer.build_workbook` of the same arguments with ``data``,
so labels, formulas, protection and the cached totals and checks are exactly
what the generator produces. The result is read back and compared with the
data before it is returned.
"""

from __future__ import annotations

from importer import read_json, read_workbook, validate_result
from importer.result import ImportResult
from xlsxgen.data import Submission
from xlsxgen.workbook.plan import GENERATOR
from xlsxgen.workbook.writer import build_workbook


class FillRefused(Exception):
    """Filling is refused: ``exit_code`` 2 (unreadable, not ours, mismatch) or 1 (data errors)."""

    def __init__(self, message: str, exit_code: int = 2, report: ImportResult | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.report = report


def fill_workbook(workbook, data_json, *, json_name: str | None = None) -> tuple[bytes, ImportResult]:
    """(bytes of the filled workbook, the JSON's import result). Raises :class:`FillRefused`."""

    wb = read_workbook(workbook)
    if wb.status == "unreadable":
        raise FillRefused(f"{workbook} 无法读取：{wb.reason}")
    if wb.spec is None or wb.metadata.get("generator") != GENERATOR:
        raise FillRefused(f"{workbook} 不是本工具生成的填报工作簿（缺少元数据），无法填入数据；请使用 xlsxgen generate 生成的工作簿")
    spec = wb.spec
    meta = wb.metadata
    try:
        year = int(meta.get("year", ""))
    except ValueError:
        raise FillRefused(f"{workbook} 的元数据中年度无效（{meta.get('year')!r}）") from None

    js = read_json(data_json, name=json_name)
    if js.status == "unreadable":
        raise FillRefused(f"{js.path} 无法读取：{js.reason}")
    if js.spec is None:
        raise FillRefused(f"{js.path} 无法识别格式", report=js)
    problems = []
    if js.spec.id != spec.id:
        problems.append(f"JSON 的格式为 {js.spec.id}，工作簿为 {spec.id}")
    sub = js.submission
    if sub is not None:
        if sub.year is not None and sub.year != year:
            problems.append(f"JSON 的年度为 {sub.year}，工作簿为 {year}")
        name, code = meta.get("agency_name", ""), meta.get("agency_code", "")
        if sub.agency_name and name and sub.agency_name not in (name, name.strip()):  # JSON names are stripped
            problems.append(f"JSON 的单位为「{sub.agency_name}」，工作簿为「{name}」")
        if sub.agency_code and code and sub.agency_code != code:
            problems.append(f"JSON 的单位代码为 {sub.agency_code}，工作簿为 {code}")
    if problems:
        raise FillRefused("数据与工作簿不对应：" + "；".join(problems))

    previous = None
    if wb.previous_values is not None:
        previous = Submission(spec.id, year=year - 1, agency_name=meta.get("agency_name", ""),
                              agency_code=meta.get("agency_code", ""), values=dict(wb.previous_values))
    validate_result(js, previous)
    if js.blocking:
        raise FillRefused(f"{js.path} 的数据有错误，未填入；请按上表改正后重试", exit_code=1, report=js)

    data = Submission(spec.id, year=year, agency_name=meta.get("agency_name", ""),
                      agency_code=meta.get("agency_code", ""), values=dict(sub.values),
                      narrative=dict(sub.narrative), contact=dict(sub.contact))
    out = build_workbook(spec, year=year, agency_name=data.agency_name, agency_code=data.agency_code, data=data,
                         previous=previous)

    # read our own output back: the figures and last year's values must be exactly what was given
    back = read_workbook(out, name="（生成结果）")
    if back.status == "unreadable" or back.blocking or back.canonical() != js.canonical() | {
            "agency": back.canonical()["agency"], "year": year}:
        raise FillRefused("内部错误：生成的工作簿读回后与数据不一致，已放弃输出")
    if previous is not None and back.previous_values != wb.previous_values:
        raise FillRefused("工作簿的上年数据无法按原样保留（上年数据表只含部分合计），已放弃输出")
    return out, js
