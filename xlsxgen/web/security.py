"""What the portal does not trust: tokens, passwords, request bodies, browsers, logs.

- Agency links carry a random token of 192 bits (``secrets.token_urlsafe(24)``); the
  store keeps only its SHA-256 (a high-entropy token needs no slow hash).
- Office passwords are hashed with scrypt (memory-hard, in the standard library).
- Repeated bad tokens or passwords from one address are slowed down: after
  :attr:`Throttle.limit` failures within :attr:`Throttle.window` seconds the address
  gets 429 until the window has passed.
- Request bodies are counted while they stream in (:class:`BodyLimit`): an upload
  over the limit is refused without being read to the end.
- Every response carries the security headers (:data:`SECURITY_HEADERS`): a CSP
  without inline script, no framing, no MIME sniffing, no referrer (a link's
  token must not leak to another site).
- The access log never shows a token (:class:`RedactTokens`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time

TOKEN_BYTES = 24  # 192 bits
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_FORM_BYTES = 64 * 1024  # forms without a file

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB per hash


# ---------------------------------------------------------------------------- tokens


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(("xlsxgen-link:" + token).encode("utf-8")).hexdigest()


TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def plausible_token(token: str) -> bool:
    return bool(TOKEN_RE.match(token or ""))


# ---------------------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(dk).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, dk = stored.split("$")
        if algo != "scrypt":
            return False
        want = base64.b64decode(dk)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=128 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# a hash to compare against when the user does not exist (the same work either way)
_DUMMY_HASH: list[str] = []


def dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_hex(8)))
    return _DUMMY_HASH[0]


# ---------------------------------------------------------------------------- throttling


class Throttle:
    """Failures per client address in a sliding window; blocked once over ``limit``."""

    def __init__(self, limit: int = 10, window: float = 600.0):
        self.limit = limit
        self.window = window
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, addr: str, now: float) -> list[float]:
        times = [t for t in self._fails.get(addr, ()) if now - t < self.window]
        if times:
            self._fails[addr] = times
        else:
            self._fails.pop(addr, None)
        return times

    def blocked(self, addr: str) -> float:
        """Seconds until ``addr`` may try again (0 when it may now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(addr, now)
            if len(times) < self.limit:
                return 0.0
            return max(1.0, self.window - (now - times[-self.limit]))

    def fail(self, addr: str) -> None:
        now = time.monotonic()
        with self._lock:
            times = self._recent(addr, now)
            times.append(now)
            self._fails[addr] = times[-(self.limit * 2):]
            if len(self._fails) > 100_000:  # bounded memory under a spray of addresses
                self._fails.clear()


# ---------------------------------------------------------------------------- headers, body limit, logs

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class BodyTooLarge(Exception):
    pass


class SecurityMiddleware:
    """Pure ASGI: security headers on every response; request bodies counted while streaming.

    Bodies above ``limit`` bytes (``upload_limit`` on upload paths) raise
    :class:`BodyTooLarge` inside the app the moment the count passes it; a
    declared Content-Length over the limit is refused before anything is read.
    """

    def __init__(self, app, *, limit: int = MAX_FORM_BYTES, upload_limit: int = MAX_UPLOAD_BYTES,
                 upload_suffix: str = "/upload"):
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_suffix = upload_suffix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = self.upload_limit + 64 * 1024 if path.endswith(self.upload_suffix) else self.limit
        declared = None
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = None
        scope.setdefault("state", {})["body_limit"] = limit
        started = time.perf_counter()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in dict(SECURITY_HEADERS)]
                headers.extend(SECURITY_HEADERS)
                # the time this worker spent on the request (from its first byte to the answer): the load
                # script tells server time from waiting in queues by it (a duration, nothing about content)
                headers.append((b"server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()))
                message = dict(message, headers=headers)
            await send(message)

        if declared is not None and declared > limit:
            return await _too_large(send_with_headers, limit)
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counting_receive, send_with_headers)


async def _too_large(send, limit: int):
    body = (f"上传的内容超过 {limit // (1024 * 1024) or 1} MB 上限，已拒绝。填报工作簿通常只有几十 KB，"
            "请确认选择的是下发的 .xlsx 工作簿。").encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


_TOKEN_IN_PATH = re.compile(r"(/a/)[^/?#\s\"]+")
_SECRET_QUERY = re.compile(r"((?:token|password|csrf)=)[^&\s\"]+", re.I)


def redact(text: str) -> str:
    """A request line or URL with any agency token or secret parameter replaced by ``***``."""
    return _SECRET_QUERY.sub(r"\1***", _TOKEN_IN_PATH.sub(r"\1***", text))


class RedactTokens(logging.Filter):
    """Log filter: the path of every access-log record (and any message) without tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "xlsxgen.web"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
