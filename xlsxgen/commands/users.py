"""``xlsxgen users``: the office's accounts for the portal."""

from __future__ import annotations

import sys

import click

from xlsxgen.commands._common import friendly_errors


@click.group(name="users")
def command():
    """报送平台的政务公开办账号（管理员 admin、审核人 reviewer、查看人 viewer）。"""


@command.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "reviewer", "viewer"]), required=True,
              help="admin：全部操作（含发放链接）；reviewer：审核；viewer：只能查看。")
@click.option("--db", required=True, help="收集库。")
@friendly_errors
def add(name, role, db):
    """创建账号（已有同名账号时更新其角色和密码）。密码从标准输入读取：终端中输入两次，管道中读一行。

    \b
    示例：
      xlsxgen users add 张三 --role reviewer --db 收集库.sqlite
      echo '一个足够长的密码' | xlsxgen users add 李四 --role viewer --db 收集库.sqlite
    """
    import getpass

    from xlsxgen.collection.store import Store
    from xlsxgen.errors import UsageError
    from xlsxgen.web.security import hash_password

    name = name.strip()
    if not name or len(name) > 100:
        raise UsageError("用户名不能为空，最长 100 个字符")
    if sys.stdin.isatty():
        pw = getpass.getpass("密码：")
        if getpass.getpass("再输入一次：") != pw:
            raise UsageError("两次输入的密码不一致")
    else:
        pw = sys.stdin.readline().rstrip("\r\n")
    if len(pw) < 8:
        raise UsageError("密码至少 8 个字符")
    with Store.open(db, create=False) as store:
        store.add_user(name, role, hash_password(pw))
    click.echo(f"账号 {name}（{role}）已保存。")
