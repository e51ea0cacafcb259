"""The portal's HTTP side: Starlette routes, server-rendered Jinja pages, sessions, CSRF.

Routes (``{token}`` is an agency's link token, ``{code}`` an agency code):

=========================================  =====================================================
``GET  /``, ``GET /login``                 the office's login form (the dashboard when logged in)
``POST /login``, ``POST /logout``          sign in / out (signed session cookie)
``GET  /office``                           dashboard: counts, bar, one row per agency, filters
``POST /office/accept``                    bulk accept of the selected rows (reviewer, admin)
``GET  /office/agency/{code}``             an agency: findings, explanations, decisions, versions, audit
``GET  /office/agency/{code}/diff``        what changed between two versions, cell by cell
``POST /office/agency/{code}/review``      accept / return / reopen with a comment (reviewer, admin)
``POST /office/agency/{code}/decide``      accept or not one warning (reviewer, admin)
``POST /office/agency/{code}/link``        issue a new link / revoke it / set the contact (admin)
``GET  /office/agency/{code}/feedback/N``  the feedback file of a submission
``GET  /office/download/{kind}``           status, consolidated, draft, chasing list
``POST /office/links``                     links for agencies without one (CSV; admin)
``GET  /a/{token}``                        the agency's page
``GET  /a/{token}/workbook``               its workbook (prefilled from last year where possible)
``POST /a/{token}/upload``                 upload → findings at once
``GET  /a/{token}/feedback/N``             the feedback file of its own submission
``POST /a/{token}/explain``                an explanation of a warning
``GET  /static/…``, ``GET /healthz``
=========================================  =====================================================
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from xlsxgen.collection import review
from xlsxgen.errors import XlsxgenError
from xlsxgen.web import portal as P
from xlsxgen.web.security import (
    MAX_UPLOAD_BYTES,
    BodyTooLarge,
    SecurityMiddleware,
    Throttle,
    dummy_hash,
    install_log_redaction,
    plausible_token,
    verify_password,
)

HERE = Path(__file__).resolve().parent
ROLES = {"admin": "管理员", "reviewer": "审核人", "viewer": "查看人"}
CAN_REVIEW = ("admin", "reviewer")
SESSION_HOURS = 12
THREADS = 12  # store work in parallel per worker process (each thread keeps one store connection)
SECRET_ENV = "XLSXGEN_SESSION_SECRET"  # signs the session cookies; default: a random one kept in the store
log = logging.getLogger("xlsxgen.web")


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["ROLES"] = ROLES
    env.globals["FILTERS"] = P.FILTERS
    return env


def create_app(portal: P.Portal, *, secret: str | None = None, throttle: Throttle | None = None,
               https_only: bool = False, upload_limit: int = MAX_UPLOAD_BYTES) -> Starlette:
    """The ASGI app of ``portal``. ``secret`` signs sessions (default: the store's, created on first start)."""
    install_log_redaction()
    if secret is None:
        secret = os.environ.get(SECRET_ENV) or portal.store().set_setting(
            "session_secret", secrets.token_urlsafe(32), keep_existing=True)
    env = _env()
    tokens = throttle or Throttle()
    logins = Throttle(limit=tokens.limit, window=tokens.window)

    # ------------------------------------------------------------------ helpers
    def csrf_token(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = request.session["csrf"] = secrets.token_urlsafe(24)
        return tok

    def page(request: Request, template: str, status: int = 200, **ctx) -> HTMLResponse:
        ctx.setdefault("user", None)
        html = env.get_template(template).render(csrf=csrf_token(request), request=request, office=portal.office,
                                                 year=portal.year, **ctx)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    def message(request: Request, text: str, status: int, title: str = "无法完成") -> HTMLResponse:
        return page(request, "message.html", status=status, title=title, text=text)

    async def form_of(request: Request):
        try:
            form = await request.form(max_files=1, max_fields=200)
        except BodyTooLarge:
            return None, message(request, f"上传的内容超过 {upload_limit // (1024 * 1024)} MB 上限，已拒绝。"
                                          "填报工作簿通常只有几十 KB，请确认选择的是下发的 .xlsx 工作簿。", 413)
        except Exception:  # noqa: BLE001 - a malformed body is the client's problem
            return None, message(request, "提交的内容无法解析，请刷新页面后重试。", 400)
        sent = form.get("csrf")
        want = request.session.get("csrf")
        if not isinstance(sent, str) or not want or not hmac.compare_digest(sent, want):
            await form.close()
            return None, message(request, "页面已过期或请求来源不明（缺少有效的表单令牌），请刷新页面后重试。", 403)
        return form, None

    def current_user(request: Request) -> dict | None:
        name = request.session.get("user")
        if not name:
            return None
        return getattr(request.state, "user_row", None) or _load_user(request, name)

    def _load_user(request: Request, name: str):
        row = portal.store().user(name)
        if row is None or row["disabled"] or request.session.get("pw") != _pw_mark(row["password_hash"]):
            request.session.pop("user", None)
            return None
        request.state.user_row = row
        return row

    async def office_user(request: Request, *roles):
        user = await run_in_threadpool(current_user, request)
        if user is None:
            return None, RedirectResponse("/login", status_code=303)
        if roles and user["role"] not in roles:
            return None, page(request, "message.html", status=403, title="没有权限", user=user,
                              text=f"您的账号（{ROLES[user['role']]}）没有这项操作的权限。")
        return user, None

    async def office_form(request: Request, *roles):
        """The signed-in user (with one of ``roles``) and the posted form (CSRF checked), or an error response."""
        user, err = await office_user(request, *roles)
        if err:
            return None, None, err
        form, err = await form_of(request)
        return user, form, err

    def client(request: Request) -> str:
        return request.client.host if request.client else "?"

    async def agency_link(request: Request, upload: bool = False):
        """The live link of the token in the path, or an error response (bad tokens are throttled).

        ``upload``: with last year's data of its agency, for the upload's cross-year checks (same round trip)."""
        addr = client(request)
        wait = tokens.blocked(addr)
        if wait:
            return None, _slow_down(request, wait)
        token = request.path_params["token"]
        link = None
        if plausible_token(token):
            link = await run_store(P.resolve_link, token, previous_of_year=portal.year if upload else None)
        if link is None or link["year"] != portal.year:
            tokens.fail(addr)
            log.info("bad agency link from %s", addr)
            return None, message(request, "链接无效或已停用。请使用政务公开办最新发给您的专用链接；如有疑问请联系政务公开办。",
                                 404, title="链接无效")
        return link, None

    def _slow_down(request: Request, wait: float) -> Response:
        resp = message(request, "尝试次数过多，请稍后再试。", 429, title="请稍后再试")
        resp.headers["retry-after"] = str(int(wait) + 1)
        return resp

    def attachment(name: str, data: bytes, media: str) -> Response:
        ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
        return Response(data, media_type=media, headers={
            "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
            "cache-control": "no-store"})

    def run(fn, *args, **kw):
        """``fn(portal, store, …)`` on the thread pool, with that thread's store."""
        return run_in_threadpool(lambda: fn(portal, portal.store(), *args, **kw))

    def run_store(fn, *args, **kw):
        """``fn(store, …)`` on the thread pool, with that thread's store."""
        return run_in_threadpool(lambda: fn(portal.store(), *args, **kw))

    # ------------------------------------------------------------------ office: sign in
    async def home(request: Request):
        if await run_in_threadpool(current_user, request):
            return RedirectResponse("/office", status_code=303)
        return page(request, "login.html", error="")

    async def login(request: Request):
        if request.method == "GET":
            return await home(request)
        addr = client(request)
        wait = logins.blocked(addr)
        if wait:
            return _slow_down(request, wait)
        form, err = await form_of(request)
        if err:
            return err
        name = str(form.get("name") or "").strip()[:100]
        password = str(form.get("password") or "")[:1000]
        row = await run_store(lambda st: st.user(name)) if name else None
        ok = await run_in_threadpool(verify_password, password, row["password_hash"] if row else dummy_hash())
        if not row or row["disabled"] or not ok:
            logins.fail(addr)
            log.info("failed login from %s", addr)
            return page(request, "login.html", status=401, error="用户名或密码不正确。", user=None)
        request.session.clear()  # a new session: no fixation
        request.session.update(user=row["name"], pw=_pw_mark(row["password_hash"]), csrf=secrets.token_urlsafe(24))
        return RedirectResponse("/office", status_code=303)

    async def logout(request: Request):
        form, err = await form_of(request)
        if err:
            return err
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # ------------------------------------------------------------------ office: pages
    async def office(request: Request):
        user, err = await office_user(request)
        if err:
            return err
        f = request.query_params.get("f") or ""
        f = f if f in P.FILTERS else ""
        rows, counts = await run(P.dashboard)
        shown = [r for r in rows if r.matches(f)] if f else rows
        return page(request, "dashboard.html", user=user, rows=shown, counts=counts, filter=f,
                    can_review=user["role"] in CAN_REVIEW, notice=request.query_params.get("done") or "")

    async def bulk_accept(request: Request):
        user, form, err = await office_form(request, *CAN_REVIEW)
        if err:
            return err
        codes = [str(c) for c in form.getlist("code")][:20000]
        with_warnings = form.get("accept_warnings") == "1"

        def go(portal, store):
            return review.bulk_accept(store, portal.year, by=user["name"], codes=codes, accept_warnings=with_warnings)

        res = await run(go)
        note = f"已接受 {len(res.accepted)} 个单位"
        if res.refused:
            note += f"；{len(res.refused)} 个未接受：" + "；".join(why for _c, why in res.refused[:5])
            note += "……" if len(res.refused) > 5 else ""
        return RedirectResponse(f"/office?done={quote(note)}", status_code=303)

    async def office_agency(request: Request):
        user, err = await office_user(request)
        if err:
            return err
        code = request.path_params["code"]
        show = _int(request.query_params.get("v"))
        st = await run(P.agency_state, code, show=show)
        if st.current is None and not st.history and st.name == code:
            return message(request, "找不到这个单位。", 404)
        issued = request.session.pop("issued_link", None)
        issued = issued if issued and issued.get("code") == code else None
        return page(request, "office_agency.html", user=user, a=st, can_review=user["role"] in CAN_REVIEW,
                    is_admin=user["role"] == "admin", issued=issued, notice=request.query_params.get("done") or "")

    async def office_diff(request: Request):
        user, err = await office_user(request)
        if err:
            return err
        code = request.path_params["code"]
        a, b = _int(request.query_params.get("a")), _int(request.query_params.get("b"))

        def go(portal, store):
            ra, rb = store.get(a) if a else None, store.get(b) if b else None
            for r in (ra, rb):
                if r is None or r.agency_code != code or r.year != portal.year:
                    raise P.PortalError("请选择本单位的两个版本进行比较", 404)
            return ra, rb, P.diff_versions(portal.spec, ra, rb)

        try:
            ra, rb, changes = await run(go)
        except P.PortalError as e:
            return message(request, str(e), e.status)
        st = await run(P.agency_state, code)
        return page(request, "diff.html", user=user, a=st, va=P.record_view(ra), vb=P.record_view(rb),
                    changes=changes)

    async def office_review(request: Request):
        user, form, err = await office_form(request, *CAN_REVIEW)
        if err:
            return err
        code = request.path_params["code"]
        action = form.get("action")
        comment = str(form.get("comment") or "")[:2000]

        with_warnings = form.get("accept_warnings") == "1"

        def go(portal, store):
            if action == "accept":
                review.accept(store, portal.year, code, by=user["name"], comment=comment,
                              accept_warnings=with_warnings)
                return "已接受"
            if action == "return":
                review.return_(store, portal.year, code, by=user["name"], comment=comment)
                return "已退回修改"
            if action == "reopen":
                review.reopen(store, portal.year, code, by=user["name"], comment=comment)
                return "已重新打开，待审核"
            raise P.PortalError("未知操作")

        try:
            note = await run(go)
        except (XlsxgenError, P.PortalError) as e:
            return message(request, str(e), getattr(e, "status", 409))
        return RedirectResponse(f"/office/agency/{quote(code)}?done={quote(note)}", status_code=303)

    async def office_decide(request: Request):
        user, form, err = await office_form(request, *CAN_REVIEW)
        if err:
            return err
        code = request.path_params["code"]
        key = str(form.get("key") or "")[:40]
        accept_it = form.get("decision") == "accept"
        comment = str(form.get("comment") or "")[:2000]

        def go(portal, store):
            review.decide(store, portal.year, code, key, by=user["name"], accept_it=accept_it, comment=comment)

        try:
            await run(go)
        except XlsxgenError as e:
            return message(request, str(e), 409)
        return RedirectResponse(f"/office/agency/{quote(code)}?done={quote('已记录对警告的决定')}#result",
                                status_code=303)

    async def office_link(request: Request):
        user, form, err = await office_form(request, "admin")
        if err:
            return err
        code = request.path_params["code"]
        action = form.get("action")
        base = str(request.base_url)

        def go(portal, store):
            if store.agency(portal.year, code) is None:
                raise P.PortalError("该单位不在本年度名单中", 404)
            if action == "issue":
                expires = str(form.get("expires") or "").strip() or None
                token = P.issue_link(store, portal.year, code, expires_at=expires)
                store.log_action(portal.year, code, by=user["name"], action="link",
                                 comment=f"有效期至 {expires}" if expires else None)
                return "已发放新链接（旧链接已失效）", P.link_url(base, token)
            if action == "revoke":
                store.revoke_link(portal.year, code)
                store.log_action(portal.year, code, by=user["name"], action="revoke")
                return "链接已停用", None
            if action == "contact":
                store.set_contact(portal.year, code, str(form.get("contact") or "").strip()[:200])
                return "联系人已保存", None
            raise P.PortalError("未知操作")

        try:
            note, url = await run(go)
        except P.PortalError as e:
            return message(request, str(e), e.status)
        if url:
            request.session["issued_link"] = {"code": code, "url": url}
        return RedirectResponse(f"/office/agency/{quote(code)}?done={quote(note)}", status_code=303)

    async def office_links(request: Request):
        user, form, err = await office_form(request, "admin")
        if err:
            return err
        regenerate = form.get("regenerate") == "1"
        base = str(request.base_url)
        try:
            rows = await run_store(P.issue_links, portal.year, base, regenerate=regenerate)
        except P.PortalError as e:
            return message(request, str(e), e.status)
        return attachment(f"链接-{portal.year}.csv", P.csv_bytes(P.LINK_HEADER, rows), "text/csv; charset=utf-8")

    async def office_feedback(request: Request):
        user, err = await office_user(request)
        if err:
            return err
        try:
            name, data = await run(P.feedback_file, request.path_params["code"], request.path_params["sid"])
        except P.PortalError as e:
            return message(request, str(e), e.status)
        return attachment(name, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    async def office_download(request: Request):
        user, err = await office_user(request)
        if err:
            return err
        try:
            name, data, media = await run(P.download, request.path_params["kind"])
        except P.PortalError as e:
            return message(request, str(e), e.status)
        return attachment(name, data, media)

    # ------------------------------------------------------------------ the agency's link
    async def agency(request: Request):
        link, err = await agency_link(request)
        if err:
            return err
        show = _int(request.query_params.get("v"))
        return await agency_page(request, link, show)

    async def agency_page(request: Request, link: dict, show: int | None, notice: str = "", flagged: bool = False,
                          st: dict | None = None):
        if st is None:
            st = await run(P.agency_state, link["agency_code"], show=show, link=link, office=False)
        token = request.path_params["token"]
        # the page's own address (the upload answers with the page; the script puts this address in the bar,
        # so that reloading shows the page again instead of sending the file again)
        canonical = f"/a/{token}" + (f"?v={st.shown.id}" if st.shown else "")
        return page(request, "agency.html", a=st, token=token, notice=notice, flagged=flagged, user=None,
                    limit_mb=upload_limit // (1024 * 1024), canonical=canonical)

    async def agency_upload(request: Request):
        link, err = await agency_link(request, upload=True)
        if err:
            return err
        form, err = await form_of(request)
        if err:
            return err
        up = form.get("file")
        if up is None or isinstance(up, str) or not getattr(up, "filename", None):
            await form.close()
            return message(request, "请选择要上传的 .xlsx 工作簿。", 400)
        data = await up.read(upload_limit + 1)
        name = up.filename
        await form.close()
        if len(data) > upload_limit:
            return message(request, f"文件超过 {upload_limit // (1024 * 1024)} MB 上限，已拒绝。", 413)
        if not data:
            return message(request, "上传的文件是空的。", 400)
        code = link["agency_code"]

        def receive(portal, store):  # one trip to the thread pool: the upload, then the page's state
            out = P.receive_upload(portal, store, code=code, data=data, file_name=name, link=link)
            return out, P.agency_state(portal, store, code, show=out.record_id, link=link, office=False, view=out.view)

        try:
            out, st = await run(receive)
        except P.PortalError as e:
            return message(request, str(e), e.status)
        # the findings at once: the answer to the upload is the agency's page showing them (one round trip)
        resp = await agency_page(request, link, out.record_id, notice=out.notice, flagged=out.flagged, st=st)
        if out.read_seconds is not None:  # the importer's share of the worker's time (Server-Timing, with app;dur)
            resp.headers["server-timing"] = f"read;dur={out.read_seconds * 1000:.1f}"
        return resp

    async def agency_workbook(request: Request):
        link, err = await agency_link(request)
        if err:
            return err
        name, data = await run(P.agency_workbook, link["agency_code"])
        return attachment(name, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    async def agency_feedback(request: Request):
        link, err = await agency_link(request)
        if err:
            return err
        try:
            name, data = await run(P.feedback_file, link["agency_code"], request.path_params["sid"])
        except P.PortalError as e:
            return message(request, str(e), e.status)
        return attachment(name, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    async def agency_explain(request: Request):
        link, err = await agency_link(request)
        if err:
            return err
        form, err = await form_of(request)
        if err:
            return err
        code = link["agency_code"]
        key = str(form.get("key") or "")[:40]
        text = str(form.get("text") or "")

        def go(portal, store):
            if not key or not all(c in "0123456789abcdef" for c in key):
                raise P.PortalError("只能对本单位当前报送中的警告填写说明", 404)
            review.explain(store, portal.year, code, key, by=P.AGENCY_ACTOR, text=text[:2000])

        try:
            await run(go)
        except (XlsxgenError, P.PortalError) as e:
            return message(request, str(e), getattr(e, "status", 400))
        return RedirectResponse(f"/a/{request.path_params['token']}#result", status_code=303)

    async def healthz(request: Request):
        return PlainTextResponse("ok")

    async def favicon(request: Request):
        return RedirectResponse("/static/favicon.svg", status_code=301)

    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/office", office),
        Route("/office/accept", bulk_accept, methods=["POST"]),
        Route("/office/links", office_links, methods=["POST"]),
        Route("/office/download/{kind}", office_download),
        Route("/office/agency/{code}", office_agency),
        Route("/office/agency/{code}/diff", office_diff),
        Route("/office/agency/{code}/review", office_review, methods=["POST"]),
        Route("/office/agency/{code}/link", office_link, methods=["POST"]),
        Route("/office/agency/{code}/decide", office_decide, methods=["POST"]),
        Route("/office/agency/{code}/feedback/{sid:int}", office_feedback),
        Route("/a/{token}", agency),
        Route("/a/{token}/workbook", agency_workbook),
        Route("/a/{token}/upload", agency_upload, methods=["POST"]),
        Route("/a/{token}/feedback/{sid:int}", agency_feedback),
        Route("/a/{token}/explain", agency_explain, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/favicon.ico", favicon),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityMiddleware, upload_limit=upload_limit),
        Middleware(SessionMiddleware, secret_key=secret, session_cookie="xlsxgen_session",
                   max_age=SESSION_HOURS * 3600, same_site="lax", https_only=https_only),
    ]

    async def not_found(request, exc):
        return message(request, "页面不存在。", 404, title="页面不存在")

    async def server_error(request, exc):
        log.exception("error on %s", request.url.path)
        return HTMLResponse("<!doctype html><meta charset=utf-8><title>出错了</title><p>服务器出错，请稍后重试。",
                            status_code=500)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # the thread pool runs the store work: bounded, so that a worker holds at most THREADS store
        # connections (PostgreSQL's max_connections is shared by every worker of every process)
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        yield
        portal.close_stores()

    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found, 500: server_error},
                    lifespan=lifespan)
    app.state.portal = portal
    return app


def _pw_mark(password_hash: str) -> str:
    """What a session keeps of the password: a changed password (users add again) ends the old sessions.

    A digest of the stored hash, not a part of it (the session cookie is signed, not encrypted)."""
    return hashlib.sha256(("xlsxgen-session:" + password_hash).encode()).hexdigest()[:16]


def _int(v) -> int | None:
    try:
        return int(v) if v not in (None, "") else None
    except ValueError:
        return None
