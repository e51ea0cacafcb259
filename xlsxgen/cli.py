"""The ``xlsxgen`` command line: one click group, one module per command.

Each command lives in ``xlsxgen/commands/<name>.py`` and exposes ``command``;
they are imported lazily so ``xlsxgen --help`` stays fast. Errors the user can
fix (:class:`xlsxgen.errors.XlsxgenError`) print one Chinese line and exit
with the error's code; no traceback reaches the user.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from xlsxgen import __version__
from xlsxgen.errors import XlsxgenError

# name -> one-line help, in the order of the annual cycle
COMMANDS = {
    "demo": "一键演示：下发→填报→收集→校验→汇总→生成草稿（内置示例）",
    "formats": "列出已安装的报告格式版本",
    "generate": "生成加锁的填报工作簿（单个单位或按名单批量）",
    "fill": "把规范 JSON 数据填入新生成的工作簿",
    "export": "把填好的工作簿导出为规范 JSON",
    "validate": "校验工作簿或 JSON，逐项指出错误位置和改法",
    "extract": "从已公开的年报（网页、Word、PDF、文本）读出统计表数据（规范 JSON）",
    "render": "生成年度报告草稿（md/html/docx/txt）",
    "seed": "把上年已公开的年报导入收集库（第一年即可预填上年结转、做跨年度校验）",
    "collect": "收集一个文件夹中的回执工作簿，入库、校验、汇总",
    "status": "查看收集库中各单位的报送状态",
    "history": "查看某单位的全部报送记录",
    "confirm": "确认“单位不符，待确认”的报送属于哪个单位",
    "remind": "生成催报清单：未交、有错、待确认的单位及可直接发送的提醒文字",
    "review": "审核报送：接受、退回修改、重新打开，说明和决定警告",
    "serve": "启动报送平台（各单位上传、政务公开办审核）",
    "links": "为各单位发放报送平台的专用链接",
    "users": "管理报送平台的政务公开办账号",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [name for name in COMMANDS if importlib.util.find_spec(f"xlsxgen.commands.{name}")]

    def get_command(self, ctx, name):
        if name not in COMMANDS or not importlib.util.find_spec(f"xlsxgen.commands.{name}"):
            return None
        return importlib.import_module(f"xlsxgen.commands.{name}").command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="xlsxgen")
def cli():
    """xlsxgen：政府信息公开工作年度报告的下发、收集、校验和草稿生成工具。

    \b
    典型流程（政务公开办）：
      1. xlsxgen generate --roster 名单.csv --year 2024 --out-dir 下发/    生成各单位填报工作簿
      2. 各单位在 Excel / WPS 中填写后交回
      3. xlsxgen collect 收件箱/ --db 收集库.sqlite --year 2024 --out-dir 汇总/
         入库、校验，生成反馈单、汇总表和年报草稿
      4. xlsxgen render 某单位.xlsx --format docx -o 草稿.docx   生成单个单位的年报草稿

    先试一试：xlsxgen demo
    """


def _safe_streams() -> None:
    """Printing never crashes on a file name that is not UTF-8 (a GBK name from an archive unpacked on
    Windows reaches Python as lone surrogates): such characters are printed as \\xNN escapes."""
    from xlsxgen.files import PATH_ERRORS

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors=PATH_ERRORS)
        except (AttributeError, ValueError, OSError):  # not a text stream we can reconfigure
            pass


def main(argv=None):
    _safe_streams()
    try:
        return cli.main(args=argv, prog_name="xlsxgen", standalone_mode=True)
    except XlsxgenError as e:  # raised outside a command's own handling
        click.echo(f"错误：{e}", err=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
