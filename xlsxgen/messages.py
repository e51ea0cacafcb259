"""User-facing Chinese text of the tool itself (not of any format).

Format-specific wording (labels, rule messages, instructions) lives in
``templates/<format-id>/``; what is here is the same for every format:
the words of the live checks, input prompts and the status line.
"""

PASS = "通过"
FAIL_SHORT = "未通过"
SEVERITY = {"error": "错误", "warning": "警告", "info": "提示"}  # the words of a finding's severity, everywhere
CHECK_HEADERS = ("序号", "检查项", "工作表", "位置", "不通过时为", "当前结果")  # the level applies only when failing
CHECK_HEADERS_V1 = ("序号", "检查项", "工作表", "位置", "级别", "结果")  # workbooks generated before issue 12
NARRATIVE_HEADERS = ("项目", "内容（请在此列填写）", "填写说明")
CHECK_ROW_LABEL = "校验：{title}"
AGENCY_LINE = "填报单位：{agency}　　报告年度：{year}年"
PREVIOUS_NOTE = "以下为上年度已报送的数据，仅供参考和跨年度校验，不可修改。"

STATUS_OK = "全部通过"
STATUS_PENDING = "待填写"  # nothing entered yet (prefilled figures as distributed)
STATUS_WARNINGS = "无错误，有警告，请查看“{checks}”"  # {checks}: the format's checks sheet
STATUS_ERRORS_PREFIX = "有"
STATUS_ERRORS_SUFFIX = "项错误，请查看“{checks}”"

PROMPTS = {
    "count": {
        "input_title": "请填写件数",
        "input_message": "填写非负整数，没有发生的填 0。",
        "error_title": "输入有误",
        "error_message": "这里只能填写大于或等于 0 的整数（件数），不能填写小数、负数或文字。",
    },
    "amount": {
        "input_title": "请填写金额",
        "input_message": "填写非负数，单位见表头，最多保留6位小数；没有发生的填 0。",
        "error_title": "输入有误",
        "error_message": "这里只能填写大于或等于 0 的数字（金额），不能填写负数或文字。",
    },
    "signed_count": {
        "input_title": "请填写增减数",
        "input_message": "填写整数：增加填正数，减少填负数（如 -8），没有变化填 0。",
        "error_title": "输入有误",
        "error_message": "这里只能填写整数（可以为负数），不能填写小数或文字。",
    },
    "year": {
        "input_title": "报告年度",
        "input_message": "四位数年份。",
        "error_title": "输入有误",
        "error_message": "请填写四位数年份。",
    },
}
FEEDBACK_RECHECK = "修改后请查看工作簿“{cover}”的校验状态和“{checks}”工作表，全部显示“通过”后重新报送。"
FEEDBACK_RECHECK_GENERIC = "修改后请查看工作簿中的校验状态，全部显示“通过”后重新报送。"
PREFILLED_NOTE = "（已按上年度数据预填，如有变化可修改）"
PENDING_NOTE = "封面的校验状态在填写任何数据之前显示“{pending}”；开始填写后实时显示各项校验的情况。"
PREFILL_INSTRUCTION = ("本工作簿已按本单位上年度报送并通过校验的数据预填了 {count} 个单元格（蓝色斜体、带批注）：{cells}。"
                       "这些数应与上年年报一致，请核对；如确有变化（例如上年数据有更正），可以直接修改，并在文字材料中说明。")
