"""The portal over HTTP (Starlette's TestClient): every route, refused access, and each upload protection."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import sqlite3
import warnings
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tests.web_support import PASSWORD, ROSTER, YEAR, csrf_of, make_store, text_of, workbook  # noqa: E402
from xlsxgen.collection.store import Store  # noqa: E402
from xlsxgen.web import portal as P  # noqa: E402
from xlsxgen.web.security import Throttle, hash_password, redact, token_hash, verify_password  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def books():
    return {(c, k): workbook(c, n, k) for c, n in ROSTER for k in ("good", "bad", "warn")}


@pytest.fixture
def env(tmp_path):
    from xlsxgen.spec import load_format
    from xlsxgen.web.app import create_app

    db = make_store(tmp_path)
    portal = P.Portal(db=db, year=YEAR, spec=load_format("gov-info-2021"), uploads=tmp_path / "uploads",
                      deadline="2024-01-31", office="测试市政务公开办")
    app = create_app(portal, throttle=Throttle(limit=5, window=60), upload_limit=2 * 1024 * 1024)
    with Store.open(db) as st:
        tokens = {c: P.issue_link(st, YEAR, c) for c, _ in ROSTER}

    class Env:
        pass

    e = Env()
    e.db, e.portal, e.app, e.tokens, e.tmp = db, portal, app, tokens, tmp_path
    e.client = lambda: TestClient(app, follow_redirects=False)
    return e


def upload(c, token, data, name="表.xlsx"):
    """Upload through the agency's page; the answer is the page with the findings."""
    page = c.get(f"/a/{token}")
    return c.post(f"/a/{token}/upload", data={"csrf": csrf_of(page.text)}, files={"file": (name, data, XLSX)})


def sid_of(page) -> int:
    """The id of the submission a page shows (from its own address)."""
    return int(re.search(r'data-canonical-url="/a/[^"?]+\?v=(\d+)"', page.text).group(1))


def login(c, name="审核员", password=PASSWORD):
    page = c.get("/login")
    return c.post("/login", data={"csrf": csrf_of(page.text), "name": name, "password": password})


# ---------------------------------------------------------------------------- the agency's link


def test_agency_page_shows_its_agency_deadline_and_workbook(env):
    c = env.client()
    r = c.get(f"/a/{env.tokens['W01']}")
    assert r.status_code == 200
    t = text_of(r.text)
    assert "测试市甲局" in t and "2023年度" in t and "2024-01-31" in t and "还没有上传" in t
    assert "测试市乙局" not in t
    wb = c.get(f"/a/{env.tokens['W01']}/workbook")
    assert wb.status_code == 200 and wb.headers["content-type"] == XLSX
    assert "attachment" in wb.headers["content-disposition"]
    import importer

    res = importer.read_workbook(wb.content, name="x.xlsx")
    assert res.submission.agency_code == "W01" and res.submission.year == YEAR


def test_workbook_prefilled_from_last_year(env, books):
    """The agency's workbook carries last year's carried-over figures where the store has last year."""
    from xlsxgen.collection.roster import Agency, Roster

    c = env.client()
    with Store.open(env.db) as st:
        st.save_roster(YEAR - 1, Roster([Agency("W01", "测试市甲局")]))
    last = workbook("W01", "测试市甲局", "good", year=YEAR - 1)
    # record last year's submission through the intake (as collect would)
    from xlsxgen.collection import intake
    from xlsxgen.spec import load_format

    with Store.open(env.db) as st:
        out = {"path": "x", "rel": "x", "file_name": "x.xlsx", "size": len(last), "file_mtime": "",
               "sha256": hashlib.sha256(last).hexdigest()}
        res = intake.process_data(last, out, st)
        row = intake.classify(res, year=YEAR - 1, spec=load_format("gov-info-2021"), roster=st.roster(YEAR - 1))
        row.update(received_at="2023-01-01T00:00:00", run_id=None)
        st.add_submissions([row])
        assert st.latest_usable(YEAR - 1, "W01") is not None
    wb = c.get(f"/a/{env.tokens['W01']}/workbook")
    import importer

    assert importer.read_workbook(wb.content, name="x.xlsx").metadata.get("with_previous") in (True, "true", "1", 1)


@pytest.mark.parametrize("bad", ["nonsense-token-that-is-long", "x", "A" * 40])
def test_wrong_token_is_refused(env, bad):
    r = env.client().get(f"/a/{bad}")
    assert r.status_code == 404 and "链接无效" in r.text


def test_revoked_and_expired_links_are_refused(env):
    c = env.client()
    with Store.open(env.db) as st:
        st.revoke_link(YEAR, "W01")
        old = P.issue_link(st, YEAR, "W02", expires_at="2000-01-01")
    assert c.get(f"/a/{env.tokens['W01']}").status_code == 404
    assert c.get(f"/a/{old}").status_code == 404
    with Store.open(env.db) as st:
        new = P.issue_link(st, YEAR, "W01")
    assert c.get(f"/a/{new}").status_code == 200
    assert c.get(f"/a/{env.tokens['W01']}").status_code == 404  # regenerated: the old token is dead


def test_repeated_bad_tokens_from_one_address_are_slowed_down(env):
    c = env.client()
    for _ in range(5):
        assert c.get("/a/" + "B" * 32).status_code == 404
    r = c.get("/a/" + "B" * 32)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # even a good token waits from that address until the window has passed
    assert c.get(f"/a/{env.tokens['W01']}").status_code == 429


def test_upload_with_errors_then_corrected(env, books):
    c = env.client()
    tok = env.tokens["W01"]
    page = upload(c, tok, books[("W01", "bad")], name="甲局.xlsx")
    t = text_of(page.text)
    assert "有 2 项错误" in t and "三、依申请公开" in t and "D33" in t or "J33" in t
    assert "请核对该列" in t  # the fix, as in the feedback file
    assert page.status_code == 200
    sid = sid_of(page)
    fb = c.get(f"/a/{tok}/feedback/{sid}")
    assert fb.status_code == 200 and fb.headers["content-type"] == XLSX
    page = upload(c, tok, books[("W01", "good")], name="甲局-改.xlsx")
    assert "通过" in text_of(page.text) and "全部通过" in text_of(page.text)
    assert text_of(page.text).count("甲局") >= 2  # both versions in the history
    again = upload(c, tok, books[("W01", "good")], name="甲局-再次.xlsx")
    assert "此前已经上传过" in text_of(again.text)


def test_upload_is_checked_against_last_years_stored_report(env, books):
    """Cross-year rules use the agency's stored data of last year (read with the link): a changed 上年结转
    is an error naming last year's figure; another agency's upload is not checked against it."""
    import json

    from xlsxgen.data import Submission, to_canonical

    spec = env.portal.spec
    forward = {k: 7777 for k in spec.table("applications").input_cells() if k[0] == "carried_forward"}
    last = Submission(spec.id, year=YEAR - 1, agency_name="测试市甲局", agency_code="W01",
                      values={("applications",) + k: v for k, v in forward.items()})
    with Store.open(env.db) as st:
        st.add_submissions([dict(sha256="0" * 64, year=YEAR - 1, file_name="上年.xlsx", path="x", size=1, file_mtime="",
                                 received_at="2023-01-20T10:00:00", agency_code="W01", agency_name="测试市甲局",
                                 data_year=YEAR - 1, format_id=spec.id, status="accepted", errors=0, warnings=0,
                                 findings="[]", data=json.dumps(to_canonical(spec, last), ensure_ascii=False))])
        link, prev = st.link_with_previous(token_hash(env.tokens["W01"]), YEAR)
        assert link["agency_code"] == "W01" and prev["agency"]["code"] == "W01"
        assert st.link_with_previous(token_hash(env.tokens["W02"]), YEAR)[1] is None
        assert st.link_with_previous(token_hash("x" * 32), YEAR) == (None, None)
    c = env.client()
    t = text_of(upload(c, env.tokens["W01"], books[("W01", "good")]).text)
    assert "上年报告的结转下年度继续办理为7777" in t
    assert "7777" not in text_of(upload(c, env.tokens["W02"], books[("W02", "good")]).text)


def test_upload_reuses_the_intake_and_is_recorded(env, books):
    c = env.client()
    upload(c, env.tokens["W02"], books[("W02", "warn")])
    with Store.open(env.db) as st:
        hist = st.history("W02", YEAR)
    assert [h.status for h in hist] == ["warning"] and hist[0].warnings >= 1
    assert hist[0].data_json and hist[0].sha256 == hashlib.sha256(books[("W02", "warn")]).hexdigest()


def test_another_agencys_workbook_is_bound_to_the_link_and_flagged(env, books):
    c = env.client()
    page = upload(c, env.tokens["W01"], books[("W02", "good")], name="乙局的.xlsx")
    t = text_of(page.text)
    assert "测试市乙局" in t and "未计入任何单位" in t
    with Store.open(env.db) as st:
        assert st.history("W02", YEAR) == []  # never filed under the other agency
        [rec] = st.history("W01", YEAR)
        assert rec.status == "rejected" and rec.reason_code == P.MISMATCH
    c2 = env.client()
    login(c2)
    dash = c2.get("/office?f=confirm")
    assert "测试市甲局" in dash.text and "待确认" in dash.text and "测试市乙局" not in text_of(
        dash.text.split("<tbody>")[1])


def test_the_same_bytes_through_another_agencys_link_are_refused_without_saying_whose(env, books):
    c = env.client()
    first = upload(c, env.tokens["W02"], books[("W02", "good")])
    sid = sid_of(first)
    page = upload(c, env.tokens["W01"], books[("W02", "good")], name="同一个文件.xlsx")
    t = text_of(page.text)
    assert "已经由其他单位报送过" in t and "测试市乙局" not in t and f"v={sid}" not in page.text
    with Store.open(env.db) as st:
        assert st.history("W01", YEAR) == []  # nothing filed under the link's agency
        assert [r.id for r in st.history("W02", YEAR)] == [sid]


def test_a_link_cannot_read_another_agencys_submission(env, books):
    c = env.client()
    page = upload(c, env.tokens["W02"], books[("W02", "bad")])
    sid = sid_of(page)
    assert c.get(f"/a/{env.tokens['W01']}/feedback/{sid}").status_code == 404
    other = c.get(f"/a/{env.tokens['W01']}?v={sid}")
    assert other.status_code == 200 and "测试市乙局" not in text_of(other.text) and "有 2 项错误" not in other.text


def test_explanation_of_a_warning(env, books):
    c = env.client()
    tok = env.tokens["W03"]
    page = upload(c, tok, books[("W03", "warn")])
    import re

    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    r = c.post(f"/a/{tok}/explain", data={"csrf": csrf_of(page.text), "key": key, "text": "本年废止规章较多，数字属实"})
    assert r.status_code == 303
    assert "本年废止规章较多" in c.get(f"/a/{tok}").text
    assert c.post(f"/a/{tok}/explain", data={"csrf": csrf_of(page.text), "key": "nokey", "text": "x"}).status_code == 404
    c2 = env.client()
    login(c2)
    assert "本年废止规章较多" in c2.get("/office/agency/W03").text


# ---------------------------------------------------------------------------- never trust an upload


def test_upload_over_the_limit_by_content_length(env):
    c = env.client()
    page = c.get(f"/a/{env.tokens['W01']}")
    big = b"0" * (3 * 1024 * 1024)
    r = c.post(f"/a/{env.tokens['W01']}/upload", data={"csrf": csrf_of(page.text)}, files={"file": ("a.xlsx", big)})
    assert r.status_code == 413


def test_upload_over_the_limit_while_streaming(env):
    """No Content-Length (chunked): the body is counted as it arrives and refused once over the limit."""
    c = env.client()
    page = c.get(f"/a/{env.tokens['W01']}")
    csrf = csrf_of(page.text)
    sent = []

    def body():
        head = (f"--XB\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--XB\r\n"
                "Content-Disposition: form-data; name=\"file\"; filename=\"a.xlsx\"\r\n\r\n").encode()
        yield head
        for _ in range(64):  # 4 MB in 64 KB chunks, over the 2 MB limit of this app
            sent.append(1)
            yield b"0" * 65536
        yield b"\r\n--XB--\r\n"

    r = c.post(f"/a/{env.tokens['W01']}/upload", content=body(),
               headers={"content-type": "multipart/form-data; boundary=XB"})
    assert r.status_code == 413
    with Store.open(env.db) as st:
        assert st.history("W01", YEAR) == []


def test_hostile_upload_is_unreadable_with_a_reason(env):
    """The importer's protections apply: a zip bomb is refused with a reason, and recorded under the link's agency."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<x/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (80 * 1024 * 1024))
    c = env.client()
    page = upload(c, env.tokens["W01"], buf.getvalue(), name="炸弹.xlsx")
    assert page.status_code == 200 and "无法读取" in text_of(page.text)
    with Store.open(env.db) as st:
        [rec] = st.history("W01", YEAR)
    assert rec.status == "unreadable" and rec.agency_code == "W01"


def test_uploads_are_content_addressed_outside_served_folders(env, books):
    c = env.client()
    data = books[("W01", "good")]
    upload(c, env.tokens["W01"], data, name="../../etc/passwd.xlsx")
    sha = hashlib.sha256(data).hexdigest()
    stored = env.tmp / "uploads" / sha[:2] / sha
    assert stored.read_bytes() == data
    assert not (stored.stat().st_mode & 0o111)
    static = Path(__import__("xlsxgen.web", fromlist=["x"]).__file__).parent / "static"
    assert not str(stored.resolve()).startswith(str(static.resolve()))
    for probe in (f"/static/{sha}", f"/static/../../uploads/{sha[:2]}/{sha}", f"/uploads/{sha[:2]}/{sha}"):
        assert c.get(probe).status_code == 404
    with Store.open(env.db) as st:
        [rec] = st.history("W01", YEAR)
    assert rec.file_name == "passwd.xlsx"  # the last part of the name only


def test_original_name_is_only_displayed_escaped(env, books):
    c = env.client()
    page = upload(c, env.tokens["W01"], books[("W01", "good")], name='<img src=x onerror="alert(1)">.xlsx')
    assert "<img src=x" not in page.text and "&lt;img src=x" in page.text


ROUTES_GET = ["/", "/login", "/office", "/healthz", "/a/{tok}", "/static/portal.js", "/nope"]


@pytest.mark.parametrize("path", ROUTES_GET)
def test_security_headers_everywhere(env, path):
    r = env.client().get(path.format(tok=env.tokens["W01"]))
    h = r.headers
    csp = h["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"


def test_every_answer_says_how_long_the_worker_took(env, books):
    """Server-Timing: the worker's own time (bench/portal_load.py tells it from queueing by it)."""
    c = env.client()
    page = upload(c, env.tokens["W01"], books[("W01", "good")])
    timing = dict(re.findall(r"(\w+);dur=(\d+\.\d)", page.headers["server-timing"]))
    assert timing.keys() == {"app", "read"}  # the worker's time, and the importer's share of it
    assert 0 < float(timing["read"]) <= float(timing["app"]) < 60_000
    assert re.fullmatch(r"app;dur=\d+\.\d", c.get("/nope").headers["server-timing"])


def test_no_inline_script_in_any_page(env, books):
    c = env.client()
    pages = [c.get(f"/a/{env.tokens['W01']}").text, upload(c, env.tokens["W01"], books[("W01", "bad")]).text,
             c.get("/login").text]
    login(c)
    pages += [c.get("/office").text, c.get("/office/agency/W01").text]
    import re

    for html in pages:
        for tag in re.findall(r"<script[^>]*>", html):
            assert 'src="/static/' in tag
        assert "<script>" not in html and " onclick=" not in html and "javascript:" not in html


def test_no_token_or_password_in_logs(env, caplog):
    tok = env.tokens["W01"]
    assert tok not in redact(f'127.0.0.1:5 - "GET /a/{tok}/upload HTTP/1.1" 200')
    assert "hunter2" not in redact("POST /login?password=hunter2")
    with caplog.at_level(logging.DEBUG):
        c = env.client()
        c.get(f"/a/{tok}")
        c.get("/a/" + "Z" * 30)
        login(c, password="wrong-password-1")
    joined = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))  # server side only
    assert tok not in joined and "Z" * 30 not in joined and "wrong-password-1" not in joined


def test_store_keeps_no_token_and_no_password(env):
    raw = Path(env.db).read_bytes() + (Path(env.db + "-wal").read_bytes() if Path(env.db + "-wal").exists() else b"")
    for tok in env.tokens.values():
        assert tok.encode() not in raw
    assert PASSWORD.encode() not in raw
    with sqlite3.connect(env.db) as conn:
        hashes = {r[0] for r in conn.execute("SELECT token_hash FROM portal_links")}
    assert {token_hash(t) for t in env.tokens.values()} <= hashes


def test_password_hash_is_scrypt():
    h = hash_password("s3cret-pass")
    assert h.startswith("scrypt$16384$8$1$") and "s3cret" not in h
    assert verify_password("s3cret-pass", h) and not verify_password("s3cret-pasS", h)
    assert hash_password("s3cret-pass") != h  # salted


# ---------------------------------------------------------------------------- the office


def test_office_pages_need_a_login(env):
    c = env.client()
    for path in ("/office", "/office/agency/W01", "/office/download/status", "/office/agency/W01/diff?a=1&b=2",
                 "/office/agency/W01/feedback/1"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    page = c.get("/login")
    for path in ("/office/accept", "/office/links", "/office/agency/W01/review", "/office/agency/W01/link"):
        r = c.post(path, data={"csrf": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/login", path


def test_login_wrong_password_and_throttle(env):
    c = env.client()
    assert login(c, password="not the password").status_code == 401
    assert login(c, name="nobody").status_code == 401
    for _ in range(3):
        login(c, password="still wrong!")
    r = login(c)  # the right password, but this address has failed too often
    assert r.status_code == 429


def test_session_cookie_cannot_be_forged(env):
    c = env.client()
    r = login(c)
    assert r.status_code == 303
    cookie_header = r.headers["set-cookie"].lower()
    assert "httponly" in cookie_header and "samesite=lax" in cookie_header
    assert c.get("/office").status_code == 200
    cookie = c.cookies.get("xlsxgen_session")
    c.cookies.clear()
    c.cookies.set("xlsxgen_session", cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB"))
    assert c.get("/office").status_code == 303


def test_missing_or_wrong_csrf_is_refused(env, books):
    c = env.client()
    tok = env.tokens["W01"]
    c.get(f"/a/{tok}")
    r = c.post(f"/a/{tok}/upload", files={"file": ("a.xlsx", books[("W01", "good")], XLSX)})
    assert r.status_code == 403
    r = c.post(f"/a/{tok}/upload", data={"csrf": "forged"}, files={"file": ("a.xlsx", books[("W01", "good")], XLSX)})
    assert r.status_code == 403
    assert c.post("/login", data={"name": "审核员", "password": PASSWORD}).status_code == 403
    login(c)
    assert c.post("/office/accept", data={"code": "W01"}).status_code == 403
    assert c.post("/office/agency/W01/review", data={"action": "accept"}).status_code == 403
    assert c.post("/logout").status_code == 403
    with Store.open(env.db) as st:
        assert st.history("W01", YEAR) == []


def test_review_accept_return_and_comment_reaches_the_agency(env, books):
    a = env.client()
    upload(a, env.tokens["W01"], books[("W01", "good")])
    upload(a, env.tokens["W02"], books[("W02", "bad")])
    upload(a, env.tokens["W03"], books[("W03", "warn")])
    c = env.client()
    login(c)
    dash = c.get("/office")
    t = text_of(dash.text)
    assert "共 4 个单位" in t and "已提交 3" in t and "未提交 1" in t
    page = c.get("/office/agency/W03")
    csrf = csrf_of(page.text)
    r = c.post("/office/agency/W03/review", data={"csrf": csrf, "action": "return", "comment": ""})
    assert r.status_code == 409 and "必须写明意见" in r.text
    r = c.post("/office/agency/W03/review", data={"csrf": csrf, "action": "return", "comment": "请核对现行有效件数"})
    assert r.status_code == 303
    assert "请核对现行有效件数" in a.get(f"/a/{env.tokens['W03']}").text
    assert "退回修改" in text_of(a.get(f"/a/{env.tokens['W03']}").text)
    r = c.post("/office/agency/W02/review", data={"csrf": csrf, "action": "accept"})
    assert r.status_code == 409 and "不能接受" in r.text
    r = c.post("/office/agency/W01/review", data={"csrf": csrf, "action": "accept", "comment": ""})
    assert r.status_code == 303
    detail = c.get("/office/agency/W01")
    assert "已接受" in text_of(detail.text) and "审核员" in detail.text  # the audit log
    assert "已接受" in text_of(a.get(f"/a/{env.tokens['W01']}").text)
    assert "测试市丙局" in c.get("/office?f=returned").text
    assert "测试市甲局" in c.get("/office?f=accepted").text
    assert "测试市乙局" in c.get("/office?f=errors").text and "测试市甲局" not in text_of(
        c.get("/office?f=errors").text.split("<tbody>")[1])
    assert "丁局" in c.get("/office?f=missing").text


def test_bulk_accept(env, books):
    a = env.client()
    for code, kind in (("W01", "good"), ("W02", "bad"), ("W03", "warn")):
        upload(a, env.tokens[code], books[(code, kind)])
    c = env.client()
    login(c)
    dash = c.get("/office?f=to_review")
    assert "测试市甲局" in dash.text and "测试市丙局" in dash.text
    r = c.post("/office/accept", data={"csrf": csrf_of(dash.text), "code": ["W01", "W02", "W03", "W04"]})
    assert r.status_code == 303
    done = c.get(r.headers["location"])
    assert "已接受 1 个单位" in text_of(done.text) and "尚未决定" in text_of(done.text)  # W03's warnings
    r = c.post("/office/accept", data={"csrf": csrf_of(dash.text), "code": ["W03"], "accept_warnings": "1"})
    assert "已接受 1 个单位" in text_of(c.get(r.headers["location"]).text)
    with Store.open(env.db) as st:
        rows = st.review_rows(YEAR)
    assert rows["W01"].state == "accepted" and rows["W03"].state == "accepted"
    assert "W02" not in rows or rows["W02"].state != "accepted"


def test_viewer_cannot_accept_return_or_issue_links(env, books):
    upload(env.client(), env.tokens["W01"], books[("W01", "good")])
    c = env.client()
    login(c, name="查看员")
    page = c.get("/office")
    assert page.status_code == 200 and 'id="bulk-accept"' not in page.text
    csrf = csrf_of(page.text)
    assert c.post("/office/accept", data={"csrf": csrf, "code": "W01"}).status_code == 403
    assert c.post("/office/agency/W01/review", data={"csrf": csrf, "action": "accept"}).status_code == 403
    assert c.post("/office/agency/W01/link", data={"csrf": csrf, "action": "issue"}).status_code == 403
    assert c.post("/office/links", data={"csrf": csrf}).status_code == 403
    with Store.open(env.db) as st:
        assert "W01" not in st.review_rows(YEAR)
    r = login(env.client(), name="审核员")
    assert r.status_code == 303
    rc = env.client()
    login(rc)
    assert rc.post("/office/links", data={"csrf": csrf_of(rc.get("/office").text)}).status_code == 403


def test_versions_diff_cell_by_cell(env, books):
    a = env.client()
    upload(a, env.tokens["W01"], books[("W01", "bad")])
    upload(a, env.tokens["W01"], books[("W01", "good")])
    with Store.open(env.db) as st:
        old, new = st.history("W01", YEAR)
    c = env.client()
    login(c)
    r = c.get(f"/office/agency/W01/diff?a={old.id}&b={new.id}")
    assert r.status_code == 200
    t = text_of(r.text)
    assert "三、依申请公开" in t and "自然人" in t
    import re

    rows = re.findall(r'<td class="cell">([A-Z]+\d+)</td>', r.text)
    assert rows and all(re.match(r"^[A-Z]+\d+$", x) for x in rows)
    assert c.get(f"/office/agency/W02/diff?a={old.id}&b={new.id}").status_code == 404


def test_admin_issues_and_revokes_a_link(env):
    c = env.client()
    login(c, name="管理员")
    page = c.get("/office/agency/W01")
    r = c.post("/office/agency/W01/link", data={"csrf": csrf_of(page.text), "action": "issue"})
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    import re

    url = re.search(r'id="issued-link">([^<]+)<', page.text).group(1)
    tok = url.rsplit("/", 1)[1]
    assert env.client().get(f"/a/{tok}").status_code == 200
    assert env.client().get(f"/a/{env.tokens['W01']}").status_code == 404
    assert 'id="issued-link"' not in c.get("/office/agency/W01").text  # shown once
    r = c.post("/office/agency/W01/link", data={"csrf": csrf_of(page.text), "action": "revoke"})
    assert env.client().get(f"/a/{tok}").status_code == 404


def test_links_csv_from_the_office_neutralises_formulas(env):
    c = env.client()
    login(c, name="管理员")
    r = c.post("/office/links", data={"csrf": csrf_of(c.get("/office").text), "regenerate": "1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert "'=测试市丁局" in text and ",=测试市丁局" not in text
    assert text.count("http://testserver/a/") == 4


@pytest.mark.parametrize("kind", ["status", "consolidated", "draft", "chasing"])
def test_downloads(env, books, kind):
    a = env.client()
    upload(a, env.tokens["W01"], books[("W01", "good")])
    upload(a, env.tokens["W02"], books[("W02", "bad")])
    c = env.client()
    login(c, name="查看员")
    r = c.get(f"/office/download/{kind}")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    if kind == "chasing":
        text = r.content.decode("utf-8-sig")
        assert "测试市乙局" in text and "'=测试市丁局" in text and "测试市甲局" not in text
    else:
        assert r.content[:2] == b"PK"
    if kind == "draft":  # the draft collect writes: the agencies' texts under each item, not only the figures
        body = zipfile.ZipFile(io.BytesIO(r.content)).read("word/document.xml").decode("utf-8")
        assert "测试市甲局：" in body and "测试市乙局：" not in body  # the usable submission's agency only
    if kind == "consolidated":  # with the sheet of every agency's texts, as collect's
        names = zipfile.ZipFile(io.BytesIO(r.content)).read("xl/workbook.xml").decode("utf-8")
        assert env.portal.spec.sheets.get("narrative") in names
    assert c.get("/office/download/nothing").status_code == 404


def test_office_feedback_download_and_unknown_agency(env, books):
    a = env.client()
    page = upload(a, env.tokens["W02"], books[("W02", "bad")])
    sid = sid_of(page)
    c = env.client()
    login(c)
    assert c.get(f"/office/agency/W02/feedback/{sid}").status_code == 200
    assert c.get(f"/office/agency/W01/feedback/{sid}").status_code == 404
    assert c.get("/office/agency/NOPE").status_code == 404


def test_logout(env):
    c = env.client()
    login(c)
    page = c.get("/office")
    assert c.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    assert c.get("/office").status_code == 303


def test_decide_warnings_and_reopen(env, books):
    a = env.client()
    upload(a, env.tokens["W03"], books[("W03", "warn")])
    c = env.client()
    login(c)
    page = c.get("/office/agency/W03")
    import re

    keys = re.findall(r'action="/office/agency/W03/decide".*?name="key" value="([0-9a-f]+)"', page.text, re.S)
    assert len(keys) == 2
    csrf = csrf_of(page.text)
    r = c.post("/office/agency/W03/decide", data={"csrf": csrf, "key": keys[0], "decision": "reject", "comment": ""})
    assert r.status_code == 409 and "必须写明原因" in r.text
    r = c.post("/office/agency/W03/decide", data={"csrf": csrf, "key": keys[0], "decision": "reject",
                                                  "comment": "数字与上年不衔接"})
    assert r.status_code == 303
    assert "不接受" in text_of(a.get(f"/a/{env.tokens['W03']}").text)  # the agency sees the decision
    r = c.post("/office/agency/W03/review", data={"csrf": csrf, "action": "accept", "accept_warnings": "1"})
    assert r.status_code == 409 and "已决定不接受" in r.text
    for k in keys:
        c.post("/office/agency/W03/decide", data={"csrf": csrf, "key": k, "decision": "accept", "comment": "属实"})
    assert c.post("/office/agency/W03/review", data={"csrf": csrf, "action": "accept"}).status_code == 303
    assert "已接受" in text_of(c.get("/office/agency/W03").text)
    r = c.post("/office/agency/W03/review", data={"csrf": csrf, "action": "reopen", "comment": ""})
    assert r.status_code == 409
    r = c.post("/office/agency/W03/review", data={"csrf": csrf, "action": "reopen", "comment": "需补充说明"})
    assert r.status_code == 303 and "待审核" in text_of(c.get("/office/agency/W03").text)
    viewer = env.client()
    login(viewer, name="查看员")
    assert viewer.post("/office/agency/W03/decide", data={"csrf": csrf_of(viewer.get("/office").text), "key": keys[0],
                                                          "decision": "accept"}).status_code == 403


def test_small_routes(env):
    c = env.client()
    assert c.get("/healthz").text == "ok"
    assert c.get("/favicon.ico").headers["location"] == "/static/favicon.svg"
    assert c.get("/static/portal.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    login(c, name="管理员")
    assert c.get("/").headers["location"] == "/office"  # logged in: the login form leads to the dashboard
    page = c.get("/office/agency/W02")
    r = c.post("/office/agency/W02/link", data={"csrf": csrf_of(page.text), "action": "contact",
                                               "contact": "<b>王科长</b> 0319-1234567"})
    assert r.status_code == 303
    dash = c.get("/office").text
    assert "&lt;b&gt;王科长&lt;/b&gt; 0319-1234567" in dash and "<b>王科长" not in dash
    r = c.post("/office/agency/NOPE/link", data={"csrf": csrf_of(page.text), "action": "issue"})
    assert r.status_code == 404


def test_a_new_password_ends_old_sessions(env):
    c = env.client()
    login(c)
    assert c.get("/office").status_code == 200
    with Store.open(env.db) as st:
        old = st.user("审核员")["password_hash"]
        st.add_user("审核员", "reviewer", hash_password("another long password"))
    cookie = c.cookies.get("xlsxgen_session")
    import base64
    import json

    payload = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))
    assert old[-12:] not in json.dumps(payload) and "scrypt" not in json.dumps(payload)
    assert c.get("/office").status_code == 303
