"""Load the SOURCE of a report: canonical JSON or a workbook, both through the importer.

There is one reader of untrusted files (:func:`importer.load_source`): the
report is drawn from exactly what ``validate`` and ``export`` read. The
importer's findings become warnings of the draft; a file that cannot be read is
an error; a file with errors is drafted with 【待补充】 where its figures cannot be
trusted, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import importer
from xlsxgen.data import Submission
from xlsxgen.errors import UnreadableError, XlsxgenError
from xlsxgen.spec import FormatSpec

SUFFIXES = (".json", ".xlsx", ".xlsm")


@dataclass
class LoadedSource:
    spec: FormatSpec
    submission: Submission
    warnings: list[str] = field(default_factory=list)


def load_source(path) -> LoadedSource:
    """A submission from canonical JSON or a workbook; XlsxgenError with a Chinese message otherwise."""
    path = Path(path)
    if not path.exists():
        raise UnreadableError(f"找不到文件 {path}")
    if path.is_dir():
        raise UnreadableError(f"{path} 是文件夹，请指定一个 JSON 或工作簿文件")
    if path.suffix.lower() not in SUFFIXES:
        raise XlsxgenError(f"不支持的文件类型 {path.name}：请提供规范 JSON（.json）或填报工作簿（.xlsx）")
    result = importer.load_source(path)
    kind = "JSON 文件" if result.source == "json" else "工作簿"
    if result.status == "unreadable" or result.submission is None or result.spec is None:
        detail = result.reason or "；".join(f.message for f in result.findings) or "文件无法读取"
        raise UnreadableError(f"无法读取{kind} {path}：{detail}")
    warnings = []
    if result.status == "invalid":
        warnings.append(f"{kind} {path.name} 未通过校验，报告中的相关语句以【待补充】占位，请更正后重新生成")
    warnings += [f"{w}：{f.message}" if (w := f.where()) else f.message for f in result.findings]
    return LoadedSource(result.spec, result.submission, warnings)
