"""``xlsxgen formats``: the installed format versions."""

from __future__ import annotations

import click

from xlsxgen.commands._common import friendly_errors


@click.command(name="formats")
@friendly_errors
def command():
    """列出已安装的报告格式版本及其适用年度。"""
    from xlsxgen.spec import available_formats

    for spec in available_formats():
        years = f"{spec.years[0]}–{spec.years[1]}" if spec.years[1] < 2100 else f"{spec.years[0]}起"
        click.echo(f"{spec.id}\t{spec.version}\t{years}\t{spec.description}")
