"""``xlsxgen links``: each agency's personal link to the portal (for a mail merge)."""

from __future__ import annotations

import click

from xlsxgen.commands._common import friendly_errors


@click.command(name="links")
@click.option("--db", required=True, help="收集库。")
@click.option("--year", type=int, required=True, help="报告年度。")
@click.option("--base-url", required=True, help="报送平台的地址，例如 https://gk.example.gov.cn/ 。")
@click.option("-o", "--output", default=None, help="写入 CSV 文件（代码、名称、联系人、链接）；不给时输出到屏幕。")
@click.option("--regenerate", is_flag=True, help="为已有链接的单位也重新发放（旧链接立即失效）。")
@click.option("--agency", "codes", multiple=True, help="只处理这些单位代码（可重复）。")
@click.option("--revoke", is_flag=True, help="停用 --agency 指定单位的链接。")
@click.option("--expires", default=None, help="链接有效期至（日期，例如 2025-02-01）。")
@friendly_errors
def command(db, year, base_url, output, regenerate, codes, revoke, expires):
    """为名单中的每个单位发放报送平台的专用链接，输出代码、名称、联系人和完整链接。

    \b
    链接中含随机令牌（192 位），收集库中只保存其指纹；链接只在发放时显示一次。
    已有链接的单位默认不重新发放（清单中注明）；--regenerate 重新发放，旧链接立即失效。

    \b
    示例：
      xlsxgen links --db 收集库.sqlite --year 2024 --base-url https://gk.example.gov.cn/ -o 链接.csv
      xlsxgen links --db 收集库.sqlite --year 2024 --base-url https://gk.example.gov.cn/ --agency 001 --regenerate
      xlsxgen links --db 收集库.sqlite --year 2024 --base-url x --agency 001 --revoke
    """
    from xlsxgen.collection.store import Store
    from xlsxgen.errors import UsageError
    from xlsxgen.files import write_atomic
    from xlsxgen.web.portal import LINK_HEADER, PortalError, csv_bytes, issue_links

    if not base_url.startswith(("http://", "https://")) and not revoke:
        raise UsageError("--base-url 应以 http:// 或 https:// 开头，例如 https://gk.example.gov.cn/")
    with Store.open(db, create=False) as store:
        if revoke:
            if not codes:
                raise UsageError("--revoke 需要用 --agency 指定单位代码")
            for c in codes:
                click.echo(f"{c}：" + ("链接已停用" if store.revoke_link(year, c) else "没有有效的链接"))
            return
        try:
            rows = issue_links(store, year, base_url, regenerate=regenerate, codes=codes or None, expires_at=expires)
        except PortalError as e:
            raise UsageError(str(e)) from None
    data = csv_bytes(LINK_HEADER, rows)
    if output:
        write_atomic(output, data)
        issued = sum(1 for r in rows if r[3].startswith("http"))
        click.echo(f"已写入 {output}：{len(rows)} 个单位，其中新发放链接 {issued} 个。")
    else:
        click.echo(data.decode("utf-8-sig"), nl=False)
