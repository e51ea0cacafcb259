"""Load on the web portal: agencies uploading at once while a reviewer reloads the dashboard.

    python bench/portal_load.py                                    # 50 agencies, 60 s, 2 workers, SQLite
    python bench/portal_load.py --db postgresql+psycopg://u@127.0.0.1:5432/db   # on PostgreSQL (a fresh schema)
    python bench/portal_load.py --quick                            # a few seconds (keeps the script working)

Only ever against 127.0.0.1: the script starts its own ``xlsxgen serve`` (uvicorn, ``--workers``) on a
free local port with a store it builds, and stops it (and itself) when the time is up.

Phase 1 — uploads. Each of ``--agencies`` agencies has its own link and real filled workbooks (a
correct one, one with a balance error, one with warnings only); it loops: upload a workbook (made
distinct on every upload by the zip comment, so every upload is imported and stored for real),
the answer is its page with the findings (one round trip), check the verdict is there, think
``--think`` seconds (uniform), again. A reviewer reloads the dashboard throughout. Reported:
requests, errors (any status other than the expected, a missing verdict, a transport error:
must be 0), and upload→findings latency (the POST, answered by the page with the findings) at p50/p95 as a ratio
to the in-process ``importer.read_workbook`` + ``validate_result`` of the same workbooks, measured
in this run before and after the load (target p95 ≤ 5×).

Phase 2 — dashboard. A store with ``--dashboard-agencies`` agencies (a roster, a submission for most,
review states for some); the dashboard fetched over HTTP (median of repeated loads) against rendering
the same table (the dashboard template, the same rows) from an in-memory list with plain Jinja
(target ≤ 2×).

Absolute times depend on the machine (and on everything else running on it): read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

YEAR = 2023
PASSWORD = "load-test-password"
HOST = "127.0.0.1"


# ---------------------------------------------------------------------------- setup


def fresh_target(db: str | None, tmp: Path, name: str) -> str:
    """A store location for one phase: a new SQLite file, or a new schema of the given PostgreSQL database."""
    if not db:
        return str(tmp / f"{name}.sqlite")
    import sqlalchemy as sa

    schema = f"load_{name}_{uuid.uuid4().hex[:8]}"
    eng = sa.create_engine(db)
    with eng.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    eng.dispose()
    return f"{db}{'&' if '?' in db else '?'}options=-csearch_path%3D{schema}"


def make_store(target: str, agencies: list[tuple[str, str]]) -> dict[str, str]:
    """Roster, a reviewer account and a link per agency; returns code -> token."""
    from xlsxgen.collection.roster import Agency, Roster
    from xlsxgen.collection.store import Store
    from xlsxgen.web import portal as P
    from xlsxgen.web.security import hash_password

    with Store.open(target) as st:
        st.save_roster(YEAR, Roster([Agency(c, n) for c, n in agencies]))
        st.add_user("审核员", "reviewer", hash_password(PASSWORD))
        return {c: P.issue_link(st, YEAR, c) for c, _ in agencies}


def workbooks(agencies) -> dict[str, list[bytes]]:
    """Per agency: a correct workbook, one with a balance error, one with warnings only."""
    from tests.web_support import workbook

    return {c: [workbook(c, n, k) for k in ("good", "bad", "warn")] for c, n in agencies}


def distinct(data: bytes, n: int) -> bytes:
    """The same workbook with another zip comment: other bytes (another SHA-256), the same content.

    The comment is the end of the file (after the end-of-central-directory record, whose last two bytes are
    its length): patched in place instead of rewriting the archive, so that the load generator's CPU goes to
    sending uploads."""
    eocd = data.rfind(b"PK\x05\x06")
    if eocd < 0 or eocd + 22 > len(data):
        raise ValueError("not a zip archive")
    comment = f"upload {n}".encode()
    return data[:eocd + 20] + struct.pack("<H", len(comment)) + comment


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(target: str, workers: int, tmp: Path, name: str):
    import httpx

    port = free_port()
    log = open(tmp / f"{name}-server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "xlsxgen.cli", "serve", "--db", target, "--year", str(YEAR), "--host", HOST,
         "--port", str(port), "--workers", str(workers), "--uploads", str(tmp / f"{name}-uploads")],
        stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT), start_new_session=True)
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited; see {tmp / f'{name}-server.log'}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base, log
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc, log)
            raise SystemExit("the server did not start in 90 s")
        time.sleep(0.05)


def stop_server(proc, log) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


def in_process_times(books: dict[str, list[bytes]], rounds: int) -> list[float]:
    """Seconds of importer.read_workbook + validate_result per workbook (the same ones uploaded)."""
    import importer

    out = []
    blobs = [b for bs in books.values() for b in bs]
    for i in range(rounds):
        data = blobs[i % len(blobs)]
        t0 = time.perf_counter()
        res = importer.read_workbook(data, name="x.xlsx")
        importer.validate_result(res)
        out.append(time.perf_counter() - t0)
    return out


def pct(values, p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TIMING = re.compile(r"app;dur=([0-9.]+)")
READ_TIMING = re.compile(r"read;dur=([0-9.]+)")


def server_seconds(response, what=TIMING) -> float:
    """The worker's own time on a request (its Server-Timing header): the rest of the latency is waiting.

    ``what=READ_TIMING``: the importer's reading and checking of the uploaded file, inside that worker."""
    m = what.search(response.headers.get("server-timing", ""))
    return float(m.group(1)) / 1000 if m else float("nan")


# ---------------------------------------------------------------------------- phase 1: uploads


async def run_load(base: str, tokens: dict, books: dict, seconds: float, think: tuple[float, float]) -> dict:
    import httpx

    stats = {"requests": 0, "errors": 0, "uploads": 0, "latency": [], "server": [], "read": [], "dashboard": [],
             "error_examples": []}
    counter = iter(range(10**9))
    # every client is set up (connection pool, its first page) before the clock starts: 50 clients each
    # loading the CA store at the start would cost the load generator a second of CPU amid the first uploads
    ready = asyncio.Event()
    arrived: set[str] = set()
    stop_at = float("inf")

    async def arrive(who: str):
        """Wait until every client is ready (a client that failed to set up counts as ready)."""
        nonlocal stop_at
        if who not in arrived:
            arrived.add(who)
            if len(arrived) == len(tokens) + 1:
                stop_at = time.monotonic() + seconds
                ready.set()
        await ready.wait()

    tls = httpx.create_ssl_context()  # one for all clients (the server is plain HTTP on 127.0.0.1)

    def fail(what: str):
        stats["errors"] += 1
        if len(stats["error_examples"]) < 5:
            stats["error_examples"].append(what)

    async def agency(code: str, token: str):
        rng = random.Random(code)
        async with httpx.AsyncClient(base_url=base, timeout=60, verify=tls) as c:
            try:
                r = await c.get(f"/a/{token}")
                stats["requests"] += 1
                if r.status_code != 200:
                    fail(f"agency page {r.status_code}")
                    await arrive(code)
                    return
                csrf = CSRF.search(r.text).group(1)
                await arrive(code)
                await asyncio.sleep(rng.uniform(0, think[1]))  # agencies do not all start in the same millisecond
                while time.monotonic() < stop_at:
                    data = distinct(rng.choice(books[code]), next(counter))
                    t0 = time.perf_counter()
                    r = await c.post(f"/a/{token}/upload", data={"csrf": csrf},
                                     files={"file": (f"{code}.xlsx", data, "application/octet-stream")})
                    stats["requests"] += 1
                    t1 = time.perf_counter()
                    if r.status_code != 200 or 'id="verdict"' not in r.text:
                        fail(f"findings page {r.status_code}")
                        continue
                    stats["uploads"] += 1
                    stats["latency"].append(t1 - t0)
                    stats["server"].append(server_seconds(r))
                    stats["read"].append(server_seconds(r, READ_TIMING))
                    await asyncio.sleep(rng.uniform(*think))
            except httpx.HTTPError as e:
                fail(f"{type(e).__name__}: {e}")
                await arrive(code)

    async def reviewer():
        async with httpx.AsyncClient(base_url=base, timeout=60, verify=tls) as c:
            try:
                r = await c.get("/login")
                r = await c.post("/login", data={"csrf": CSRF.search(r.text).group(1), "name": "审核员",
                                                 "password": PASSWORD})
                stats["requests"] += 2
                if r.status_code != 303:
                    fail(f"login {r.status_code}")
                    await arrive("")
                    return
                await arrive("")
                while time.monotonic() < stop_at:
                    t0 = time.perf_counter()
                    r = await c.get("/office")
                    stats["requests"] += 1
                    if r.status_code != 200 or 'id="agencies"' not in r.text:
                        fail(f"dashboard {r.status_code}")
                    stats["dashboard"].append(time.perf_counter() - t0)
                    await asyncio.sleep(1.0)
            except httpx.HTTPError as e:
                fail(f"{type(e).__name__}: {e}")
                await arrive("")

    await asyncio.gather(reviewer(), *(agency(c, t) for c, t in tokens.items()))
    return stats


# ---------------------------------------------------------------------------- phase 2: the dashboard of many agencies


def fill_many(target: str, n: int) -> None:
    """n agencies; most have a submission (mixed statuses), some a review decision."""
    from xlsxgen.collection.roster import Agency, Roster
    from xlsxgen.collection.store import Store
    from xlsxgen.web.security import hash_password

    rng = random.Random(7)
    agencies = [(f"D{i:05d}", f"测试市第{i}单位") for i in range(n)]
    rows = []
    for i, (code, name) in enumerate(agencies):
        r = rng.random()
        if r < 0.15:
            continue  # not submitted
        status = "accepted" if r < 0.7 else ("warning" if r < 0.85 else "invalid")
        rows.append(dict(sha256=f"{i:064x}", year=YEAR, file_name=f"{code}.xlsx", path=f"x/{code}.xlsx", size=70000,
                         file_mtime="", received_at=f"2024-01-{1 + i % 28:02d}T10:00:00+08:00", agency_code=code,
                         agency_name=name, data_year=YEAR, format_id="gov-info-2021", status=status,
                         checked_status=status, errors=3 if status == "invalid" else 0,
                         warnings=2 if status == "warning" else 0, findings="[]", data=None))
    with Store.open(target) as st:
        st.save_roster(YEAR, Roster([Agency(c, nm) for c, nm in agencies]))
        st.add_user("审核员", "reviewer", hash_password(PASSWORD))
        for k in range(0, len(rows), 2000):
            st.add_submissions(rows[k:k + 2000])
        from xlsxgen.collection import review

        accepted = [r["agency_code"] for r in rows if r["status"] == "accepted"][: n // 10]
        review.bulk_accept(st, YEAR, by="审核员", codes=accepted)


def dashboard_ratio(target: str, n: int, tmp: Path, repeats: int) -> dict:
    import httpx

    from xlsxgen.collection.store import Store
    from xlsxgen.spec import load_format
    from xlsxgen.web import portal as P
    from xlsxgen.web.app import _env

    fill_many(target, n)
    # the baseline: the same table rendered by plain Jinja from an in-memory list
    portal = P.Portal(db=target, year=YEAR, spec=load_format("gov-info-2021"), uploads=tmp / "u")
    with Store.open(target) as st:
        rows, counts = P.dashboard(portal, st)
    tpl = _env().get_template("dashboard.html")
    user = {"name": "审核员", "role": "reviewer"}
    plain = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        html = tpl.render(rows=rows, counts=counts, filter="", can_review=True, notice="", user=user, csrf="x" * 32,
                          office="政务公开办", year=YEAR, request=None)
        plain.append(time.perf_counter() - t0)
    plain_bytes = len(html.encode())
    proc, base, log = start_server(target, 1, tmp, "dashboard")
    served = []
    try:
        with httpx.Client(base_url=base, timeout=120) as c:
            r = c.get("/login")
            c.post("/login", data={"csrf": CSRF.search(r.text).group(1), "name": "审核员", "password": PASSWORD})
            c.get("/office")  # warm-up (thread-local store connections, template compilation)
            for _ in range(repeats):
                t0 = time.perf_counter()
                r = c.get("/office")
                served.append(time.perf_counter() - t0)
                assert r.status_code == 200 and r.text.count('<tr class="st-') == n, "dashboard incomplete"
    finally:
        stop_server(proc, log)
    return {"agencies": n, "plain_ms": statistics.median(plain) * 1000, "served_ms": statistics.median(served) * 1000,
            "ratio": statistics.median(served) / statistics.median(plain), "html_kb": plain_bytes / 1024}


# ---------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--agencies", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--think", default="1,3", help="seconds an agency waits between uploads: MIN,MAX (0,0: none)")
    ap.add_argument("--db", default=None, help="PostgreSQL URL (a fresh schema is made); default: SQLite files")
    ap.add_argument("--dashboard-agencies", type=int, default=10_000, help="0: skip the dashboard phase")
    ap.add_argument("--quick", action="store_true", help="5 s, 10 agencies, a dashboard of 500")
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds, args.agencies, args.dashboard_agencies = 5, 10, 500
    think = tuple(float(x) for x in args.think.split(","))
    kind = "PostgreSQL" if args.db else "SQLite"
    with tempfile.TemporaryDirectory(prefix="xlsxgen-load-") as tmp_s:
        tmp = Path(tmp_s)
        agencies = [(f"L{i:03d}", f"负载测试第{i}局") for i in range(args.agencies)]
        print(f"准备：{args.agencies} 个单位的工作簿（正确、勾稽错误、仅有警告各一份）……", flush=True)
        books = workbooks(agencies)
        target = fresh_target(args.db, tmp, "uploads")
        tokens = make_store(target, agencies)
        before = in_process_times(books, 300)
        proc, base, log = start_server(target, args.workers, tmp, "uploads")
        try:
            print(f"阶段一：{args.agencies} 个单位同时上传 {args.seconds:.0f} 秒（{args.workers} 个工作进程，{kind}，"
                  f"每次上传后等待 {think[0]:g}–{think[1]:g} 秒），审核人同时刷新报送情况页……", flush=True)
            t0 = time.monotonic()
            stats = asyncio.run(run_load(base, tokens, books, args.seconds, think))
            wall = time.monotonic() - t0
        finally:
            stop_server(proc, log)
        after = in_process_times(books, 300)
        base_s = statistics.median(before + after)
        lat = stats["latency"]
        per_upload = [t / r for t, r in zip(lat, stats["read"]) if r == r and r > 0]
        p50, p95 = pct(lat, 50), pct(lat, 95)
        if args.dashboard_agencies:
            print(f"阶段二：{args.dashboard_agencies} 个单位的报送情况页……", flush=True)
            dash = dashboard_ratio(fresh_target(args.db, tmp, "dashboard"), args.dashboard_agencies, tmp,
                                   5 if args.quick else 15)
        else:
            dash = {"agencies": 0, "plain_ms": float("nan"), "served_ms": float("nan"), "ratio": float("nan"),
                    "html_kb": 0}
    result = {
        "database": kind, "workers": args.workers, "seconds": round(wall, 1), "agencies": args.agencies,
        "requests": stats["requests"], "errors": stats["errors"], "uploads": stats["uploads"],
        "uploads_per_s": round(stats["uploads"] / wall, 1),
        "in_process_import_validate_ms": round(base_s * 1000, 2),
        "upload_to_findings_p50_ms": round(p50 * 1000, 1), "upload_to_findings_p95_ms": round(p95 * 1000, 1),
        "p50_ratio": round(p50 / base_s, 1), "p95_ratio": round(p95 / base_s, 1),
        "server_p50_ms": round(pct(stats["server"], 50) * 1000, 1),
        "server_p95_ms": round(pct(stats["server"], 95) * 1000, 1),
        # the same latency per upload against that upload's own reading and checking in the loaded worker
        "in_server_read_p50_ms": round(pct(stats["read"], 50) * 1000, 2),
        "per_upload_ratio_p50": round(pct(per_upload, 50), 1), "per_upload_ratio_p95": round(pct(per_upload, 95), 1),
        "dashboard_reloads": len(stats["dashboard"]),
        "dashboard_during_load_p50_ms": round(pct(stats["dashboard"], 50) * 1000, 1),
        "dashboard_agencies": dash["agencies"], "dashboard_plain_jinja_ms": round(dash["plain_ms"], 1),
        "dashboard_served_ms": round(dash["served_ms"], 1), "dashboard_ratio": round(dash["ratio"], 2),
        "dashboard_html_kb": round(dash["html_kb"]),
    }
    print()
    print(f"请求 {result['requests']} 个，错误 {result['errors']} 个" +
          (f"（例如：{'；'.join(stats['error_examples'])}）" if stats["errors"] else ""))
    print(f"上传并看到结果 {result['uploads']} 次（每秒 {result['uploads_per_s']} 次）")
    print(f"上传→结果：p50 {result['upload_to_findings_p50_ms']} ms（{result['p50_ratio']}×），"
          f"p95 {result['upload_to_findings_p95_ms']} ms（{result['p95_ratio']}×）；"
          f"同一批工作簿进程内读取+校验中位数 {result['in_process_import_validate_ms']} ms")
    print(f"  其中服务端自身用时（Server-Timing）：p50 {result['server_p50_ms']} ms，p95 {result['server_p95_ms']} ms；"
          "其余为排队、传输与客户端")
    print(f"  同一次上传在负载下的服务端内读取+校验：中位数 {result['in_server_read_p50_ms']} ms；"
          f"逐次之比 p50 {result['per_upload_ratio_p50']}×，p95 {result['per_upload_ratio_p95']}×（参考：上面的目标按进程内空载时间计）")
    print(f"报送情况页（{result['dashboard_agencies']} 个单位，{result['dashboard_html_kb']} KB）："
          f"服务端 {result['dashboard_served_ms']} ms，纯 Jinja 渲染同一表格 {result['dashboard_plain_jinja_ms']} ms，"
          f"{result['dashboard_ratio']}×")
    ok_err = result["errors"] == 0
    ok_p95 = result["p95_ratio"] <= 5
    ok_dash = result["dashboard_ratio"] <= 2 or not args.dashboard_agencies
    print(f"目标：错误为 0 {'✓' if ok_err else '✗'}；上传→结果 p95 ≤ 5× {'✓' if ok_p95 else '✗'}；"
          f"报送情况页 ≤ 2× {'✓' if ok_dash else '✗'}")
    print(json.dumps(result, ensure_ascii=False))
    return 0 if ok_err else 1


if __name__ == "__main__":
    raise SystemExit(main())
