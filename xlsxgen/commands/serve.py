"""``xlsxgen serve``: the web portal (agencies upload through their links; the office reviews)."""

from __future__ import annotations

import click

from xlsxgen.commands._common import friendly_errors


@click.command(name="serve")
@click.option("--db", required=True, help="收集库（SQLite 文件路径，或数据库地址）。")
@click.option("--year", type=int, required=True, help="报告年度，例如 2024。")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址；对外服务请放在 HTTPS 反向代理之后。")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="端口。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="工作进程数（多个进程同时服务；SQLite 也可以，PostgreSQL 更适合）。")
@click.option("--format", "format_id", default=None, help="报告格式版本；默认按年度选择。")
@click.option("--uploads", default=None,
              help="保存上传文件的文件夹（按内容指纹存放，不对外提供）；默认为收集库旁的“收集库名.uploads”。")
@click.option("--deadline", default="", help="报送截止日期，显示在各单位页面上，例如 2025-01-20。")
@click.option("--office", default="政务公开办", show_default=True, help="本办名称，显示在页面和反馈单上。")
@click.option("--https", "https_only", is_flag=True, help="只通过 HTTPS 发送登录 Cookie（在 HTTPS 反向代理之后使用）。")
@friendly_errors
def command(db, year, host, port, workers, format_id, uploads, deadline, office, https_only):
    """启动报送平台：各单位通过专用链接下载、上传并立即看到校验结果；政务公开办登录后审核。

    \b
    各单位的链接：xlsxgen links --db 收集库.sqlite --year 2024 --base-url https://…/ -o 链接.csv
    政务公开办账号：xlsxgen users add 张三 --role reviewer --db 收集库.sqlite

    \b
    示例：
      xlsxgen serve --db 收集库.sqlite --year 2024 --deadline 2025-01-20
      xlsxgen serve --db 收集库.sqlite --year 2024 --host 0.0.0.0 --port 8080 --workers 4
    """
    import os

    import uvicorn

    from xlsxgen.web.server import build_config, config_env

    cfg = build_config(db=db, year=year, format_id=format_id, uploads=uploads, deadline=deadline, office=office,
                       https_only=https_only)
    os.environ.update(config_env(cfg))
    click.echo(f"报送平台：http://{host}:{port}/ （政务公开办登录）；按 Ctrl-C 停止。", err=True)
    uvicorn.run("xlsxgen.web.server:app_from_env", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, server_header=False, date_header=True, log_level="info",
                timeout_graceful_shutdown=5)
