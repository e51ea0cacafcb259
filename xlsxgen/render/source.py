"""Load the SOURCE of a report: canonical JSON, or a workbook through the importer.

JSON is read with :func:`xlsxgen.data.from_canonical_trusted` after a shape
check (every figure a number). A workbook (``.xlsx``/``.xlsm``) goes through
``importer.load_source`` when that module is installed; its findings become
warnings, and an unreadable workbook an error.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from xlsxgen.data import Submission, from_canonical_trusted
from xlsxgen.errors import UnreadableError, XlsxgenError
from xlsxgen.numbers import Written
from xlsxgen.spec import FormatSpec, load_format

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass
class LoadedSource:
    spec: FormatSpec
    submission: Submission
    warnings: list[str] = field(default_factory=list)


def _check_shape(doc: dict, spec, path) -> None:
    def fail(where, msg):
        return XlsxgenError(f"{path}：{where} {msg}")

    tables = doc.get("tables")
    if tables is not None and not isinstance(tables, dict):
        raise fail("tables", "应为键值映射")
    for t in spec.tables:
        rows = (tables or {}).get(t.key)
        if rows is None:
            continue
        if not isinstance(rows, dict):
            raise fail(f"tables.{t.key}", "应为键值映射")
        for rk, cols in rows.items():
            if not isinstance(cols, dict):
                raise fail(f"tables.{t.key}.{rk}", "应为键值映射")
            for ck, v in cols.items():
                if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                    raise fail(f"tables.{t.key}.{rk}.{ck}", f"应为数字，实际为 {v!r}")
    for key in ("agency", "narrative", "contact"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise fail(key, "应为键值映射")
    year = doc.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise fail("year", f"应为整数年度，实际为 {year!r}")


def load_json(path: Path) -> LoadedSource:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UnreadableError(f"无法读取 {path}：{e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UnreadableError(f"{path} 不是 UTF-8 编码的 JSON 文件") from None
    try:
        doc = json.loads(text, parse_float=Written)  # amounts print as written (5949.0880)
    except json.JSONDecodeError as e:
        raise UnreadableError(f"{path} 不是有效的 JSON（第{e.lineno}行第{e.colno}列：{e.msg}）") from None
    if not isinstance(doc, dict):
        raise UnreadableError(f"{path} 不是规范 JSON：顶层应为对象")
    fid = doc.get("format")
    if not isinstance(fid, str) or not fid:
        raise XlsxgenError(f"{path} 缺少 format（报告格式，如 gov-info-2021）")
    spec = load_format(fid)
    _check_shape(doc, spec, path)
    return LoadedSource(spec, from_canonical_trusted(spec, doc))


def _finding_text(f) -> str:
    """One line for an importer finding (``where()`` and ``message`` when it has them)."""
    message = getattr(f, "message", None)
    if not isinstance(message, str) or not message:
        return str(f)
    where = getattr(f, "where", None)
    if callable(where):
        where = where()
    return f"{where}：{message}" if isinstance(where, str) and where else message


def load_workbook(path: Path) -> LoadedSource:
    try:
        importer = importlib.import_module("importer")
    except ModuleNotFoundError as e:
        if e.name != "importer":
            raise
        importer = None
    loader = getattr(importer, "load_source", None)
    if loader is None:
        raise XlsxgenError(
            f"暂不能直接读取工作簿 {path.name}（导入模块尚未安装）；请先用 xlsxgen export 导出为 JSON，再生成报告"
        )
    result = loader(path)
    findings = [_finding_text(f) for f in (getattr(result, "findings", None) or [])]
    status = getattr(result, "status", "ok")
    if status == "unreadable" or getattr(result, "submission", None) is None:
        detail = getattr(result, "reason", None) or "；".join(findings) or "文件无法读取"
        raise UnreadableError(f"无法读取工作簿 {path}：{detail}")
    warnings = []
    if status == "invalid":
        warnings.append(f"工作簿 {path.name} 未通过校验，报告中的相关语句以【待补充】占位，请更正后重新生成")
    warnings += findings
    return LoadedSource(result.spec, result.submission, warnings)


def load_source(path) -> LoadedSource:
    """A submission from canonical JSON or a workbook; XlsxgenError with a Chinese message otherwise."""
    path = Path(path)
    if not path.exists():
        raise UnreadableError(f"找不到文件 {path}")
    if path.is_dir():
        raise UnreadableError(f"{path} 是文件夹，请指定一个 JSON 或工作簿文件")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return load_json(path)
    if suffix in WORKBOOK_SUFFIXES:
        return load_workbook(path)
    raise XlsxgenError(f"不支持的文件类型 {path.name}：请提供规范 JSON（.json）或填报工作簿（.xlsx）")
