"""The portal's commands: users add (password from stdin), links (CSV for a mail merge), serve's checks, the demo's portal lines."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import pytest

pytest.importorskip("starlette")

from tests.web_support import ROSTER, YEAR, csrf_of, make_store  # noqa: E402
from xlsxgen.collection.store import Store  # noqa: E402
from xlsxgen.web.security import verify_password  # noqa: E402


def xlsxgen(*args, input_text=None):
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *args], input=input_text, capture_output=True,
                          text=True, timeout=120)


def test_users_add_reads_one_line_when_piped(tmp_path):
    db = make_store(tmp_path)
    r = xlsxgen("users", "add", "张三", "--role", "reviewer", "--db", db, input_text="a long enough pass\n")
    assert r.returncode == 0, r.stderr
    assert "a long enough pass" not in r.stdout + r.stderr
    with Store.open(db) as st:
        u = st.user("张三")
    assert u["role"] == "reviewer" and verify_password("a long enough pass", u["password_hash"])
    r = xlsxgen("users", "add", "李四", "--role", "viewer", "--db", db, input_text="short\n")
    assert r.returncode != 0 and "至少 8 个字符" in r.stderr
    r = xlsxgen("users", "add", "王五", "--role", "boss", "--db", db, input_text="a long enough pass\n")
    assert r.returncode != 0


def test_links_csv_for_a_mail_merge(tmp_path):
    db = make_store(tmp_path)
    out = tmp_path / "links.csv"
    r = xlsxgen("links", "--db", db, "--year", str(YEAR), "--base-url", "https://gk.example.gov.cn/", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "代码,名称,联系人,链接" and len(lines) == 1 + len(ROSTER)
    assert "'=测试市丁局" in text  # a formula-looking cell is neutralised
    urls = re.findall(r"https://gk\.example\.gov\.cn/a/([A-Za-z0-9_-]+)", text)
    assert len(urls) == len(ROSTER) and all(len(u) >= 32 for u in urls)  # 192 bits
    # again: existing links are kept (a token is shown once), unless --regenerate
    r = xlsxgen("links", "--db", db, "--year", str(YEAR), "--base-url", "https://gk.example.gov.cn/")
    assert r.returncode == 0 and "已发放" in r.stdout and "/a/" not in r.stdout
    r = xlsxgen("links", "--db", db, "--year", str(YEAR), "--base-url", "https://x.example/", "--agency", "W01",
                "--regenerate")
    assert r.stdout.count("https://x.example/a/") == 1
    r = xlsxgen("links", "--db", db, "--year", str(YEAR), "--base-url", "x", "--agency", "W01", "--revoke")
    assert r.returncode == 0 and "已停用" in r.stdout
    with Store.open(db) as st:
        assert st.links(YEAR)["W01"]["revoked_at"]
    r = xlsxgen("links", "--db", db, "--year", str(YEAR), "--base-url", "https://x/", "--expires", "next week")
    assert r.returncode == 2 and "不是日期" in r.stderr
    r = xlsxgen("links", "--db", db, "--year", str(YEAR), "--base-url", "ftp://x")
    assert r.returncode == 2 and "http" in r.stderr


def test_serve_refuses_a_store_without_the_roster(tmp_path):
    db = make_store(tmp_path)
    r = xlsxgen("serve", "--db", db, "--year", "2022", "--port", "1")
    assert r.returncode == 2 and "名单" in r.stderr
    r = xlsxgen("serve", "--db", str(tmp_path / "none.sqlite"), "--year", str(YEAR))
    assert r.returncode == 2 and "错误" in r.stderr


def test_demo_prints_how_to_open_it_in_the_portal(tmp_path):
    r = xlsxgen("demo", "--out-dir", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    assert "xlsxgen serve --db" in r.stdout
    token = re.search(r"/a/([A-Za-z0-9_-]{30,})", r.stdout).group(1)
    password = re.search(r"密码 (\S+)", r.stdout).group(1)
    from xlsxgen.web.server import app_from_config, build_config

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    db = str(tmp_path / "demo" / "收集库.sqlite")
    year = int(re.search(r"--year (\d{4})", r.stdout).group(1))
    c = TestClient(app_from_config(build_config(db=db, year=year)), follow_redirects=False)
    page = c.get(f"/a/{token}")
    assert page.status_code == 200 and "有 " in page.text and "项错误" in page.text
    login = c.get("/login")
    r = c.post("/login", data={"csrf": csrf_of(login.text), "name": "演示管理员", "password": password})
    assert r.status_code == 303
    assert "报送情况" in c.get("/office").text
