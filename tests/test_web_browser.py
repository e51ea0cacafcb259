"""The portal in a real browser: Playwright driving Debian's Chromium against a real uvicorn process.

Scenario: an agency uploads a workbook with a balance error, sees the cell and the fix, uploads the
corrected one (by drag and drop) and sees 通过; a reviewer logs in, sees the counts on the dashboard,
returns one agency with a comment (which that agency then sees on its page) and accepts another.
Screenshots of the agency page and the dashboard are saved (``XLSXGEN_SCREENSHOTS=DIR`` also copies
them there; the README's are ``docs/portal-agency.png`` and ``docs/portal-dashboard.png``).

Runs on SQLite, and on PostgreSQL too when ``XLSXGEN_TEST_PG`` gives a server (``.ci/run`` does).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("playwright")
httpx = pytest.importorskip("httpx")

from tests.web_support import PASSWORD, ROSTER, YEAR, make_store, workbook  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent

if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_target() -> str | None:
    """A fresh PostgreSQL schema for one test (None when the store has no PostgreSQL support)."""
    url = os.environ.get("XLSXGEN_TEST_PG")
    if not url:
        return None
    sa = pytest.importorskip("sqlalchemy")
    schema = "web_" + uuid.uuid4().hex[:10]
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    eng.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


DBS = ["sqlite", "postgresql"]


@pytest.fixture(params=DBS)
def server(request, tmp_path):
    """A real ``xlsxgen serve`` (uvicorn) on a free port of 127.0.0.1; its log is checked for secrets at the end."""
    if request.param == "postgresql":
        db = _pg_target()
        if db is None:
            pytest.skip("XLSXGEN_TEST_PG is not set (.ci/run sets it)")
        make_store(tmp_path, db=db)
    else:
        db = make_store(tmp_path)
    from xlsxgen.collection.store import Store
    from xlsxgen.web import portal as P

    with Store.open(db) as st:
        tokens = {c: P.issue_link(st, YEAR, c) for c, _ in ROSTER}
    port = _free_port()
    log_path = tmp_path / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "xlsxgen.cli", "serve", "--db", db, "--year", str(YEAR), "--port", str(port),
         "--deadline", "2024-01-31", "--office", "测试市政务公开办", "--uploads", str(tmp_path / "uploads"),
         "--workers", "2"],
        stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # wait for the condition "answers /healthz" (or the process died)
        if proc.poll() is not None:
            log.close()
            pytest.fail("server exited: " + log_path.read_text(errors="replace")[-2000:])
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("server did not start in 60 s")
        time.sleep(0.05)

    class S:
        pass

    s = S()
    s.base, s.tokens, s.db, s.tmp, s.kind = base, tokens, db, tmp_path, request.param
    yield s
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    text = log_path.read_text(errors="replace")
    assert "GET /a/***" in text  # the access log is on, and redacted
    for tok in tokens.values():
        assert tok not in text, "an agency token reached the server log"
    assert PASSWORD not in text


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _shot(page, tmp: Path, name: str, kind: str) -> Path:
    path = tmp / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    out = os.environ.get("XLSXGEN_SCREENSHOTS")
    if out and kind == "sqlite":
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(out) / f"{name}.png")
    return path


def _drop_file(page, data: bytes, name: str) -> None:
    """Drag and drop a file onto the upload area (the page's own script sends the form)."""
    page.evaluate(
        """([b64, name]) => {
            const bin = atob(b64); const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'}));
            const drop = document.getElementById('drop');
            drop.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
            drop.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""", [base64.b64encode(data).decode(), name])


def test_agency_and_reviewer_in_a_browser(server, chromium, tmp_path):
    from playwright.sync_api import expect

    ctx = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors = []
    page = ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    link = f"{server.base}/a/{server.tokens['W01']}"

    # --- the agency: its page, its workbook, an upload with a balance error
    page.goto(link)
    expect(page.locator("h1")).to_have_text("测试市甲局")
    expect(page.locator(".facts")).to_contain_text("2024-01-31")
    with page.expect_download() as dl:
        page.click("#download-workbook")
    assert dl.value.suggested_filename.endswith(".xlsx")
    assert Path(dl.value.path()).read_bytes()[:2] == b"PK"
    page.set_input_files("#file", files=[{"name": "甲局年报.xlsx", "mimeType": "application/octet-stream",
                                          "buffer": workbook("W01", "测试市甲局", "bad")}])
    page.click("#upload-button")
    expect(page.locator("#verdict")).to_contain_text("有 2 项错误")
    table = page.locator("table.findings")
    expect(table).to_contain_text("三、依申请公开")
    expect(table).to_contain_text("D33")
    expect(table).to_contain_text("请核对该列")  # how to fix
    expect(page.locator("#download-feedback")).to_be_visible()
    _shot(page, tmp_path, "portal-agency", server.kind)

    # --- the corrected workbook, dropped onto the upload area
    _drop_file(page, workbook("W01", "测试市甲局", "good"), "甲局年报-修改后.xlsx")
    expect(page.locator("#verdict")).to_contain_text("通过")
    expect(page.locator("#verdict")).to_contain_text("全部通过")
    expect(page.locator("table.findings")).to_have_count(0)

    # two more agencies report (one with a warning, one with errors), one does not
    for code, kind in (("W02", "bad"), ("W03", "warn")):
        p2 = ctx.new_page()
        p2.goto(f"{server.base}/a/{server.tokens[code]}")
        p2.set_input_files("#file", files=[{"name": f"{code}.xlsx", "mimeType": "application/octet-stream",
                                            "buffer": workbook(code, dict(ROSTER)[code], kind)}])
        p2.click("#upload-button")
        expect(p2.locator("#verdict")).to_be_visible()
        p2.close()

    # --- the reviewer
    office = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    office.on("pageerror", lambda e: errors.append(str(e)))
    office.goto(server.base + "/")
    office.fill("input[name=name]", "审核员")
    office.fill("input[name=password]", PASSWORD)
    office.click("button[type=submit]")
    expect(office.locator("#n-submitted")).to_have_text("3")
    expect(office.locator("#n-missing")).to_have_text("1")
    expect(office.locator("#n-ok")).to_have_text("1")
    expect(office.locator("#n-invalid")).to_have_text("1")
    expect(office.locator("#agencies tbody tr")).to_have_count(4)
    _shot(office, tmp_path, "portal-dashboard", server.kind)

    # return 丙局 with a comment
    office.click("text=测试市丙局")
    office.fill("#comment", "现行有效件数与上年不衔接，请核对后重新上传")
    office.click("#return")
    expect(office.locator("#review-state")).to_have_text("退回修改")
    expect(office.locator("#audit")).to_contain_text("审核员")

    # the agency sees the comment
    agency3 = ctx.new_page()
    agency3.goto(f"{server.base}/a/{server.tokens['W03']}")
    expect(agency3.locator("#comments")).to_contain_text("现行有效件数与上年不衔接")
    expect(agency3.locator("#review-state")).to_have_text("退回修改")

    # accept 甲局
    office.goto(server.base + "/office")
    office.click("text=测试市甲局")
    office.click("#accept")
    expect(office.locator("#review-state")).to_have_text("已接受")
    page.reload()
    expect(page.locator("#review-state")).to_have_text("已接受")

    # the dashboard filters agree
    office.goto(server.base + "/office?f=returned")
    expect(office.locator("#agencies tbody tr")).to_have_count(1)
    expect(office.locator("#agencies tbody")).to_contain_text("测试市丙局")
    assert not errors, errors  # no script error and no CSP violation on any page
    ctx.close()
