"""Finding kinds: every problem the importer and validator can report.

Modelled on frictionless-py's error classes: each kind has a stable ``code``
(what scripts and tests match on), a default severity, a short Chinese title,
a Chinese message template with named fields, a fix hint and a description.
A :class:`Finding` is one occurrence, carrying *where* it is: sheet and A1
cell for a workbook, table/row/column spec keys for a figure.

Rules of a format keep the id the spec gives them (``applications.balance``);
their text comes from the spec, not from here. Nothing in this module knows a
label or key of a particular format.

Severities: ``error`` (the submission must be corrected), ``warning``
(accepted, but worth a look) and ``info`` (a note with nothing to fix: it
changes neither the status nor an exit code, and no feedback is sent for it). ``blocking`` kinds make the figures themselves
unreliable: ``export`` refuses to write data while one is present.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from xlsxgen.spec.rules import format_number


@dataclass(frozen=True)
class Kind:
    code: str
    severity: str
    title: str
    message: str  # template, {named} fields
    fix: str = ""
    description: str = ""
    blocking: bool = False


KINDS: dict[str, Kind] = {}


def _kind(code, severity, title, message, fix="", description="", blocking=False) -> Kind:
    if code in KINDS:
        raise ValueError(f"duplicate finding code {code}")
    k = Kind(code, severity, title, message, fix, description, blocking)
    KINDS[code] = k
    return k


# --------------------------------------------------------------------------- the file itself (unreadable)
# Each of these makes the whole file unreadable; the message is the one-line reason.

_REOPEN = "请用下发的 .xlsx 工作簿填写，在 Excel 或 WPS 中正常保存后重新报送"
_kind("file.not_found", "error", "找不到文件", "找不到文件 {path}", "请检查文件路径", "The path does not exist.")
_kind("file.not_a_file", "error", "不是文件", "{path} 不是文件（可能是文件夹）", "请指定一个文件", "A directory or device.")
_kind("file.io_error", "error", "无法读取", "无法读取文件：{detail}", "请检查文件是否存在、是否有读取权限",
      "An operating-system error while reading.")
_kind("file.empty", "error", "空文件", "文件为空（0 字节），可能保存或传输失败", "请重新保存或重新获取原文件后报送",
      "Zero bytes.")
_kind("file.too_large", "error", "文件过大", "文件过大（{size}），超过允许的上限 {limit}，已拒绝读取",
      "填报工作簿通常只有几十 KB；请确认没有插入图片或大量内容", "Larger than the file-size limit.")
_kind("file.xls", "error", "旧版 .xls 文件",
      "这是旧版 Excel 97-2003 工作簿（.xls 格式），不是下发的 .xlsx 填报工作簿",
      _REOPEN + "；如已在旧格式中填写，请把数据抄回下发的 .xlsx 工作簿",
      "An OLE2 compound document holding a BIFF workbook stream.")
_kind("file.encrypted", "error", "文件已加密",
      "工作簿设置了打开密码（文件已加密），无法读取",
      "请在 Excel/WPS 中取消“用密码进行加密”（文件→信息→保护工作簿，或 文件→文档加密）后重新保存再报送",
      "An OLE2 compound document holding an EncryptedPackage stream (encrypted OOXML).")
_kind("file.ole_other", "error", "旧版 Office 文件",
      "这是旧版 Office 复合文档（如 .doc、.et 等），不是 .xlsx 工作簿", _REOPEN,
      "An OLE2 compound document that is neither an .xls nor an encrypted workbook.")
_kind("file.text", "error", "文本文件", "这是{what}，不是 Excel 工作簿（改扩展名不能把文件变成工作簿）", _REOPEN,
      "Plain text (CSV, TSV, HTML, XML, JSON) renamed to .xlsx.")
_kind("file.other_type", "error", "其他类型文件", "这是{what}，不是 Excel 工作簿", _REOPEN,
      "A known non-spreadsheet binary (PDF, image, archive).")
_kind("file.unknown_type", "error", "无法识别的文件", "无法识别的文件类型（开头字节 {magic}），不是 .xlsx 工作簿", _REOPEN,
      "No known signature.")
_kind("file.not_spreadsheet", "error", "不是 Excel 工作簿", "这是{what}，不是 Excel 工作簿（.xlsx）", _REOPEN,
      "A zip package of another kind (.docx, .ods, a plain zip).")
_kind("file.truncated", "error", "文件不完整",
      "文件不完整或已损坏（zip 结构缺失，可能下载、复制或保存时被中断）", "请重新获取原文件，或在 Excel/WPS 中重新保存后报送",
      "The zip end-of-central-directory record is missing or unusable.")
_kind("file.corrupt", "error", "文件已损坏", "文件已损坏，无法解压：{detail}", "请重新获取原文件，或在 Excel/WPS 中重新保存后报送",
      "A zip entry cannot be decompressed (bad CRC, unsupported method...).")
_kind("file.zip_bomb", "error", "疑似压缩炸弹",
      "部件 {part} 的压缩比异常（约 {ratio}:1，上限 {limit}:1），疑似“压缩炸弹”，已拒绝读取",
      "正常的填报工作簿不会出现这种情况；请重新获取原文件", "An entry expands far more than any real workbook part.")
_kind("file.too_big_uncompressed", "error", "解压后过大",
      "部件 {part} 解压后过大（{size}，上限 {limit}），已拒绝读取", "请重新获取原文件",
      "The declared or actual uncompressed size exceeds the limit.")
_kind("file.too_many_parts", "error", "部件过多", "文件包含 {count} 个部件，超过上限 {limit}，已拒绝读取",
      "请重新获取原文件", "Too many zip entries for a workbook.")
_kind("file.too_many_sheets", "error", "工作表过多", "工作簿包含 {count} 个以上工作表，超过上限 {limit}，已拒绝读取",
      "请使用下发的原始工作簿填写", "More sheets than the limit.")
_kind("file.too_many_cells", "error", "单元格过多", "工作表「{sheet}」的单元格超过 {limit} 个，已停止读取",
      "请删除填报范围以外的内容，或使用下发的原始工作簿重新填写", "A sheet holds more cells than the limit.")
_kind("file.too_slow", "error", "读取超时", "文件内容异常复杂，{seconds} 秒内未能读完，已停止读取",
      "正常的填报工作簿不会出现这种情况；请重新获取原文件", "The time budget for one package ran out.")
_kind("file.xml_forbidden", "error", "不安全的 XML",
      "部件 {part} 含有 DTD 或实体声明（XML 实体扩展攻击的常见手法），已拒绝读取",
      "正常的 Excel/WPS 文件不含这些内容；请重新获取原文件", "DOCTYPE, entity declarations or external references.")
_kind("file.xml_malformed", "error", "XML 损坏", "部件 {part} 不是格式正确的 XML（{detail}）",
      "请在 Excel/WPS 中重新保存后报送", "An XML part does not parse.")
_kind("file.missing_part", "error", "缺少部件", "缺少必需的部件 {part}，不是完整的 Excel 工作簿",
      "请在 Excel/WPS 中重新保存后报送", "workbook.xml or a sheet part is missing.")
_kind("file.internal_error", "error", "内部错误", "读取时发生意外错误（{detail}），已跳过该文件",
      "请把该文件发给技术支持人员", "A bug: an exception the importer did not expect. Never raised by a known input.")
_kind("file.json_malformed", "error", "JSON 格式错误", "不是有效的 JSON：{detail}",
      "请检查括号、引号和逗号，或用 xlsxgen export 从工作簿重新导出", "The JSON text does not parse.")
_kind("file.json_not_object", "error", "JSON 结构错误", "JSON 顶层应为对象（{{...}}），实际为{actual}",
      "请参照 docs/canonical-json.md 的格式", "The top level is not an object.")

# --------------------------------------------------------------------------- identity
_kind("identity.no_metadata", "warning", "缺少元数据",
      "工作簿缺少本工具的元数据（隐藏工作表“{meta}”），已按标签文字识别为格式 {format}",
      "请尽量使用下发的原始工作簿填写，不要复制粘贴到新工作簿",
      "The metadata sheet is missing but the labels match an installed format.")
_kind("identity.not_ours", "error", "不是下发的工作簿",
      "不是本工具生成的填报工作簿，标签文字也与已安装的任何格式都不相符，无法读取数据",
      "请使用政务公开办下发的填报工作簿填写", "No metadata and no installed format's labels match.", blocking=True)
_kind("identity.unknown_format", "error", "未知格式",
      "工作簿的格式为 {format}（版本 {version}），本工具未安装该格式，无法读取数据",
      "请使用当前下发的填报工作簿，或安装相应的格式定义", "The metadata names a format that is not installed.",
      blocking=True)
_kind("identity.other_version", "error", "格式版本不同",
      "工作簿按格式 {format} 的 {version} 版生成，当前使用的是 {current} 版",
      "请使用本年度下发的填报工作簿重新填写", "Same format id, another version.")
_kind("identity.fingerprint", "error", "结构指纹不符",
      "工作簿记录的结构指纹与当前格式定义不一致（工作簿生成之后格式定义有变化）",
      "请使用本年度下发的填报工作簿重新填写", "The metadata fingerprint differs from the plan's.")
_kind("identity.bad_metadata", "error", "元数据无效", "工作簿元数据中的 {key} 无效（{value}）",
      "请使用下发的原始工作簿填写", "A metadata value cannot be understood.")

# --------------------------------------------------------------------------- tampering
_kind("tamper.sheet_removed", "error", "工作表被删除", "工作表「{sheet}」被删除",
      "请使用下发的原始工作簿重新填写，不要删除工作表", "A planned sheet is missing.")
_kind("tamper.sheet_added", "warning", "增加了工作表", "工作簿中增加了工作表「{sheet}」",
      "请删除该工作表（不影响数据读取）", "A sheet that is not in the plan.")
_kind("tamper.sheet_renamed", "error", "工作表被改名", "工作表「{expected}」被改名为「{actual}」",
      "请把工作表名改回「{expected}」", "A planned sheet name is missing and another name sits in its place.")
_kind("tamper.structure_unlocked", "info", "工作簿结构保护被取消",
      "工作簿的结构保护（禁止增删工作表）已被取消{detail}",
      "一般是用 LibreOffice/WPS 另存造成的，不影响数据，无需处理",
      "workbookProtection lockStructure is gone (LibreOffice, and possibly WPS, drop it on re-save). An ``info`` "
      "note when no sheet was added, removed or renamed (every cell and formula is checked on its own); "
      "a warning otherwise.")
_kind("tamper.sheet_unprotected", "warning", "工作表保护被取消",
      "「{sheet}」工作表的保护已被取消",
      "标签、公式和数据已逐项核对，保护被取消本身不影响数据；今后请不要取消工作表保护",
      "No sheetProtection. A warning only: what it protects is verified cell by cell, and any actual change "
      "is reported as an error of its own.")
_kind("tamper.label_changed", "error", "标签被修改",
      "「{sheet}」工作表 {cell} 的文字被修改：应为「{expected}」，实际为「{actual}」",
      "请把文字改回原样，或使用下发的原始工作簿重新填写", "A fixed label differs from the format.")
_kind("tamper.formula_replaced", "error", "公式被改为固定值",
      "「{sheet}」工作表 {cell} 的{what}公式被改为{content}{detail}",
      "请使用下发的原始工作簿重新填写（合计会自动计算，不要手工填写）",
      "A planned formula cell holds a typed value.")
_kind("tamper.formula_changed", "error", "公式被修改",
      "「{sheet}」工作表 {cell} 的{what}公式被修改：应为 ={expected}，实际为 ={actual}",
      "请使用下发的原始工作簿重新填写", "A planned formula differs from the format (after normalisation).")
_kind("tamper.stale_total", "warning", "合计未重新计算",
      "「{sheet}」工作表 {cell}（{label}）保存的计算结果为 {actual}，按各项重新计算应为 {expected}",
      "文件保存时可能未重新计算；请在 Excel/WPS 中打开、确认数值后重新保存（导入时已按重新计算的值）",
      "The cached value of an intact total formula differs from the recomputation.")
_kind("tamper.input_locked", "warning", "填写单元格被锁定",
      "「{sheet}」工作表 {cells}应为可填写单元格，现已被锁定，无法填写",
      "请使用下发的原始工作簿填写", "An input cell's style is locked.")
_kind("tamper.cell_unlocked", "warning", "锁定单元格被解锁",
      "「{sheet}」工作表 {cells}应为锁定单元格（{what}），现已被取消锁定",
      "请使用下发的原始工作簿填写；该单元格内容已另行核对", "A label/total/check cell's style is unlocked.")
_kind("tamper.rows_shifted", "error", "疑似插入或删除了行/列",
      "「{sheet}」工作表疑似插入或删除了行/列：{detail}",
      "请不要插入或删除行、列；请使用下发的原始工作簿重新填写",
      "Labels (or defined names) are found displaced by whole rows or columns.", blocking=True)
_kind("tamper.bound_changed", "error", "预填内容被修改",
      "「{sheet}」工作表 {cell}（{label}）应为「{expected}」，实际为「{actual}」",
      "该项由下发单位预填并锁定，请改回原样或使用下发的原始工作簿",
      "A locked, prefilled cover field (agency, year) differs from the metadata.")

# --------------------------------------------------------------------------- values
_kind("value.text_number", "warning", "文本格式的数字",
      "{place}填写的「{actual}」是文本格式的数字，已按 {value} 读取",
      "可忽略；如需更正，请把单元格设为数值格式后重新输入", "A number stored as text.")
_kind("value.full_width", "warning", "全角数字", "{place}填写的「{actual}」含全角字符，已按 {value} 读取",
      "可忽略；如需更正，请在英文（半角）输入状态下重新输入", "Full-width digits or signs.")
_kind("value.thousands_separator", "warning", "千位分隔符",
      "{place}填写的「{actual}」带千位分隔符，已按 {value} 读取", "可忽略；如需更正，请只填写数字",
      "Thousands separators in a number typed as text.")
_kind("value.whitespace", "warning", "多余空格", "{place}填写的「{actual}」含有空格，已按 {value} 读取",
      "可忽略；如需更正，请删除空格", "Leading/trailing spaces around a number.")
_kind("value.blank", "warning", "未填写", "{place}未填写，按 0 计", "没有发生的请填 0",
      "A blank input counts as 0.")
_kind("value.blank_cells", "warning", "未填写的单元格",
      "{place}有 {count} 个填写单元格未填写（{cells}），均已按 0 计",
      "可忽略（按 0 计不影响数据）；今后没有发生的请直接填 0",
      "Blank input cells of one table, reported once per table (count and cell ranges); each counts as 0.")
_kind("value.placeholder", "warning", "用符号代替 0", "{place}填写的是「{actual}」，按 0 计",
      "没有发生的请直接填 0，不要填“无”“-”“/”", "-, /, —, 无 count as 0.")
_kind("value.negative", "error", "负数", "{place}填写了负数 {actual}", "件数和金额不能为负数，请更正",
      "A negative count or amount.", blocking=True)
_kind("value.decimal_in_count", "error", "件数含小数", "{place}是件数，不能有小数，实际为 {actual}",
      "请填写整数", "A count with a fractional part.", blocking=True)
_kind("value.amount_precision", "error", "小数位数过多", "{place}的金额 {actual} 超过 6 位小数",
      "请保留不超过 6 位小数", "An amount with more than six decimal places (outside the numeric domain).",
      blocking=True)
_kind("value.out_of_range", "error", "数值超出范围",
      "{place}填写的「{actual}」超出允许的范围（件数为 0 至 1000000000 之间的整数，增减数可为负；"
      "金额小于 1000000000、最多 6 位小数）",
      "请核对该数字（是否多输入了数字、单位是否正确）", "A number outside the numeric domain "
      "(counts 0…10^9, signed counts ±10^9, amounts < 10^9 with at most 6 decimals).", blocking=True)
_kind("value.unreadable_number", "error", "无法识别的数值",
      "{place}保存的内容「{actual}」不是表格软件能识别的数字（Excel、WPS、LibreOffice 打开后会显示为 0、空白或其他数值）",
      "请清除该单元格，在英文（半角）输入状态下重新输入数字", "A number cell whose stored text is not a plain "
      "number (full-width, Arabic-Indic or superscript digits, underscores), or a cell type no spreadsheet knows: "
      "what a spreadsheet would show differs from what the text seems to say.", blocking=True)
_kind("value.formula", "error", "填写单元格中有公式",
      "{place}是公式 ={formula}，不是直接填写的数字（公式的计算结果以打开文件时重新计算为准，无法核对）",
      "请删除公式，直接填写数字", "An input cell holds a formula: its cached value is not trusted "
      "(the workbook recalculates on load).", blocking=True)
_kind("value.not_a_number", "error", "不是数字", "{place}应填写数字，实际为「{actual}」",
      "请填写数字；没有发生的填 0", "Text that is not a number.", blocking=True)
_kind("value.boolean", "error", "逻辑值", "{place}应填写数字，实际为逻辑值 {actual}", "请填写数字",
      "TRUE/FALSE in a figure cell.", blocking=True)
_kind("value.error_value", "error", "错误值", "{place}是错误值 {actual}，不是数字",
      "请填写数字（不要在填写单元格中输入公式）", "#VALUE!, #REF! ... in a figure cell.", blocking=True)

_kind("value.text_too_long", "error", "文字过长",
      "「{field}」的文字有 {length} 个字符，超过一个单元格能容纳的 {limit} 个字符",
      "请删减文字（可分段概括），不超过 {limit} 个字符", "A text longer than a spreadsheet cell holds (32,767).",
      blocking=True)
# --------------------------------------------------------------------------- the submission as a whole
_kind("submission.untouched", "error", "未填写任何数据",
      "工作簿与下发时相同，未填写任何数据（统计数据{prefill}、文字材料和填报人信息都没有变化）",
      "请填写本单位的数据后重新报送；确实没有发生的事项填 0，并填写文字材料和封面上的联系人信息",
      "No input differs from what was distributed (the figures' digest recorded in the metadata, prefilled "
      "values included; every text field empty). Not counted in totals.")
_kind("narrative.empty", "warning", "文字材料未填写",
      "「{sheet}」工作表的文字材料全部未填写：{items}",
      "年度报告正文需要这些内容，请补充填写；确实没有的填“无”",
      "Every text item of the narrative sheet is empty (one finding naming the items).")
_kind("contact.empty", "warning", "未填写联系人",
      "「{sheet}」工作表未填写{items}",
      "请填写，便于核实数据时联系", "The contact person or phone on the cover is empty (one finding).")

# --------------------------------------------------------------------------- totals and cross-year bookkeeping
_kind("total.mismatch", "error", "合计不符",
      "{place}填写为 {actual}，按各项重新计算应为 {expected}",
      "请核对该合计及其各组成项", "A total given in JSON differs from the recomputation.")
_kind("crossyear.skipped", "warning", "部分跨年度校验未执行",
      "上年数据的格式为 {previous_format}，与本年 {format} 不同，以下跨年度校验在上年格式中没有对应的数据、未执行：{rules}"
      "（编号 {ids}）；已执行的跨年度校验：{ran}",
      "请人工核对未执行的项目",
      "Cross-year rules whose keys are missing from last year's format; the message names them "
      "(title, labels, instance ids) and the cross-year rules that did run.")
_kind("crossyear.not_previous_year", "warning", "上年数据年度不符",
      "作为上年数据的文件是 {actual} 年度，本年报告是 {year} 年度（应为 {expected} 年度）",
      "请确认 --previous 指定的是上一年度的报告", "--previous is not year - 1.")
_kind("crossyear.other_agency", "warning", "上年数据单位不符",
      "作为上年数据的文件属于「{actual}」，本年报告属于「{expected}」",
      "请确认 --previous 指定的是本单位的上年报告", "--previous names another agency.")

# --------------------------------------------------------------------------- canonical JSON
_kind("json.missing_field", "error", "缺少字段", "缺少「{field}」", "请补充该字段（参见 docs/canonical-json.md）",
      "A required top-level field is missing.")
_kind("json.wrong_type", "error", "类型错误", "「{field}」应为{expected}，实际为{actual}",
      "请参照 docs/canonical-json.md 的格式更正", "A value has the wrong JSON type.")
_kind("json.unknown_key", "warning", "未知字段", "「{field}」不是格式 {format} 的字段，已忽略",
      "请检查拼写（参见 docs/canonical-json.md）", "A key the format does not define (ignored).")
_kind("json.unknown_cell", "error", "未知的表格项", "表「{table}」中没有「{field}」这一项，该数据无法读取",
      "请检查行键和列键的拼写（参见 docs/canonical-json.md）", "A table/row/column key the format does not define.",
      blocking=True)
_kind("json.missing_table", "error", "缺少表格", "缺少表「{label}」（{table}）的数据", "请补充该表的全部数据",
      "A whole statutory table is missing.", blocking=True)
_kind("json.missing_row", "warning", "缺少行", "{place}整行未填写，按 0 计", "没有发生的请填 0",
      "A whole row of inputs is missing (counts as 0).")
_kind("json.duplicate_key", "error", "重复的键", "「{field}」出现了不止一次", "每个键只能出现一次",
      "A key repeated in one JSON object.")


# --------------------------------------------------------------------------- published reports (extract)
# A published report is read as printed: what cannot be read with certainty stays null, and is said here.
_kind("extract.unsupported", "error", "不支持的文件类型",
      "不支持读取扩展名为 {suffix} 的文件（可读取 .html .htm .docx .pdf .txt .md）",
      "请提供网页、Word（.docx）、PDF 或文本格式的年度报告", "The file's extension is not a published-report type.")
_kind("extract.bad_file", "error", "文件无法解析", "无法作为{type}读取：{detail}",
      "请确认文件完整、扩展名与内容一致", "The file does not parse as the type its extension says.")
_kind("extract.missing_library", "error", "缺少读取组件", "读取{type}需要 Python 包 {package}，当前没有安装",
      "请安装：pip install 'xlsxgen[published]'", "lxml (HTML) or pdfplumber (PDF) is not installed.")
_kind("extract.no_tables", "error", "没有找到统计表", "{type}中没有找到年度报告的统计表",
      "请确认这是已安装格式的年度报告，且统计表是文字或表格（不是图片）",
      "No statutory table of any installed format was found (no labels, no tables).")
_kind("extract.no_agency", "warning", "未识别单位", "没有从标题中识别出单位名称",
      "可用 --agency 指定单位名称", "The report title naming the agency was not found.")
_kind("extract.no_year", "warning", "未识别年度", "没有从标题或文件名中识别出报告年度",
      "可用 --year 指定年度", "No year in the title or the file name.")
_kind("extract.year_from_name", "warning", "年度取自文件名", "标题中没有年度，按文件名取为 {year} 年度",
      "如不正确请用 --year 指定", "The year was taken from the file name, not from the report's title.")
_kind("extract.table_missing", "warning", "缺少统计表", "没有找到表「{heading}」，该表各项保留为空（不按 0 计）",
      "请核对原文是否有此表（可能是图片）", "A statutory table is not in the source; its cells are null.")
_kind("extract.row_missing", "warning", "缺少行", "没有找到{place}这一行，该行各项保留为空（不按 0 计）",
      "请核对原文", "A row of the format is not in the published table (dropped or unrecognised); null.")
_kind("extract.cell_missing", "warning", "缺少数值", "{place}在原文中没有对应的单元格，保留为空",
      "请核对原文", "A row was found but one of its cells was not (a column not recognised); null.")
_kind("extract.blank", "warning", "原文空白", "{place}在原文中为空白{where}，保留为空（不按 0 计）",
      "请核对原文；如确为 0 请在数据中改正", "A blank published cell: null, never 0.")
_kind("extract.placeholder", "warning", "原文用符号代替数字",
      "{place}在原文中为「{actual}」{where}，保留为空（不按 0 计）", "请核对原文",
      "A published cell holding -, /, — or 无 instead of a number: null.")
_kind("extract.unparseable", "warning", "无法读成数字", "{place}在原文中为「{actual}」{where}，不是数字，保留为空",
      "请核对原文", "A published cell whose text is not a number of its kind: null.")
_kind("extract.unparseable_run", "warning", "数字串无法拆分",
      "{place}的数字串「{run}」{where}无法拆分成 {n} 个数，各项保留为空", "请核对原文",
      "A run of digits that no well-formed split into the row's cells fits: null.")
_kind("extract.ambiguous", "warning", "数字串拆分不唯一",
      "{place}的数字串「{run}」{where}有 {count} 种拆分方式（{candidates}），无法确定，各项保留为空",
      "请核对原文，或在数据中填写正确的数值",
      "A run of glued digits with more than one split that fits the identities; the candidates are listed; null.")
_kind("extract.previous_fits", "warning", "上年数据提示的拆分",
      "{place}的数字串「{run}」的 {count} 种拆分中，只有「{fit}」与上年数据相符（{rule}）；仍保留为空，请核对原文",
      "核对原文后在数据中填写", "With last year's data, one of an ambiguous run's splits fits the cross-year "
      "rules; a hint only, the cells stay null (a cross-year rule is no identity: documents change).")
_kind("extract.spanned", "warning", "数值跨行合并",
      "{place}没有自己的单元格{where}（上一行的数值跨行合并），保留为空", "请核对原文",
      "A value cell covered by a vertical span from the row above: it belongs to that row; this one is null.")
_kind("extract.duplicate", "warning", "重复的数值", "{place}在原文中出现了两次{where}：{actual}，与先前读到的 {expected}（{first}）不同，保留先前的值",
      "请核对原文", "A second, different reading of a cell (a repeated row): the first is kept.")
_kind("extract.label_variant", "warning", "标签写法不同", "{place}在原文中写作「{actual}」{where}，按该行读取",
      "请核对原文", "A row printed under a shorter form of its label, matched because no other row fits.")
_kind("extract.unknown_row", "warning", "未知的行", "表「{heading}」中有一行「{label}」不是本格式的项目，数值 {values}{note}",
      "请核对原文", "A row with numbers whose label is no row of the format (an all-zero extra row is ignored).")
_kind("extract.group_row", "warning", "合并成一行",
      "表「{heading}」中「{label}」在原文中印成一行（数值 {values}），本格式分为 {n} 行（{rows}），无法分到各行，各行保留为空",
      "请核对原文，按各行填写", "A group of rows (e.g. 其他处理 1–3) printed as a single row: its numbers are not "
      "split between the rows, which stay null.")
_kind("extract.columns_unknown", "warning", "无法确定列",
      "{place}{where}的单元格与列对不上（{count} 格，应有 {expected} 格），未读取，各项保留为空",
      "请核对原文", "A row whose cells do not line up with the column headers (or, without headers, whose "
      "number of cells differs from the format's): not read by position.")


# --------------------------------------------------------------------------- one occurrence

JSON_KEYS = ("rule", "severity", "message", "table", "row", "column", "sheet", "cell", "expected", "actual")


@dataclass
class Finding:
    rule: str  # a kind's code, or a spec rule id
    severity: str  # error | warning | info
    message: str
    table: str | None = None
    row: str | None = None
    column: str | None = None
    sheet: str | None = None
    cell: str | None = None
    expected: object = None
    actual: object = None
    fix: str = ""
    blocking: bool = False
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def where(self) -> str:
        """A readable location: 「sheet」J12, or table.row.column keys."""
        if self.sheet:
            return f"「{self.sheet}」{self.cell or ''}".strip()
        keys = [k for k in (self.table, self.row, self.column) if k]
        return ".".join(keys)

    def to_dict(self) -> dict:
        d = {k: _jsonable(getattr(self, k)) for k in JSON_KEYS}
        if self.extra.get("source"):  # where a published report printed the figure (importer.published)
            d["source"] = self.extra["source"]
        return d


def _jsonable(v):
    if v is None or isinstance(v, (str, int, bool)):
        return v
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):  # strict JSON has no NaN/Infinity
            return str(v)
        return int(v) if v.is_integer() else v
    return str(v)


class _Fields(dict):
    """format_map mapping: a missing field becomes an empty string, never a KeyError."""

    def __missing__(self, key):
        return ""


_FORMATTER = string.Formatter()


def make(code: str, *, severity: str | None = None, blocking: bool | None = None, table=None, row=None, column=None,
         sheet=None, cell=None, expected=None, actual=None, **fields) -> Finding:
    """A finding of kind ``code``; message fields are ``fields`` plus the location and values."""
    k = KINDS[code]
    data = _Fields(fields)
    for name, v in (("sheet", sheet), ("cell", cell), ("table", table), ("row", row), ("column", column)):
        data.setdefault(name, v if v is not None else "")
    data.setdefault("expected", _show(expected))
    data.setdefault("actual", _show(actual))
    message = _FORMATTER.vformat(k.message, (), data)
    fix = _FORMATTER.vformat(k.fix, (), data)
    return Finding(code, severity or k.severity, message, table, row, column, sheet, cell, expected, actual,
                   fix, k.blocking if blocking is None else blocking, dict(fields))


def _show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return format_number(v)
    return str(v)


class Unreadable(Exception):
    """A file that cannot be read at all; ``finding`` says why in one line."""

    def __init__(self, code: str, **fields):
        self.finding = make(code, **fields)
        super().__init__(self.finding.message)

    @property
    def code(self) -> str:
        return self.finding.rule


def describe() -> list[dict]:
    """Every finding kind, for docs: code, severity, title, description."""
    return [
        {"code": k.code, "severity": k.severity, "title": k.title, "description": k.description,
         "blocking": k.blocking}
        for k in KINDS.values()
    ]
