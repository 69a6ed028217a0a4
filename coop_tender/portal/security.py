"""The portal's defences: CSRF tokens, request size limits, security headers, xlsx sniffing.

- CSRF: each form carries `issued.signature`, an HMAC-SHA256 (server secret kept in the store)
  of the link token's hash and the issue time; valid for `CSRF_MAX_AGE`. A forged or missing
  value, or one made for another member's link, is refused.
- Size: an ASGI middleware refuses a body larger than the limit of its route (413) from the
  Content-Length header before reading anything, and stops a chunked body as soon as it grows
  past the limit, so a large upload is never read whole into memory.
- Headers: a strict Content-Security-Policy (no script at all), no framing, no referrer (the
  token is in the URL), no caching of personal pages.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import time
import zipfile
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

from starlette.exceptions import HTTPException

CSRF_MAX_AGE = 12 * 3600
UPLOAD_LIMIT = 5 * 1024 * 1024
FORM_LIMIT = 64 * 1024
XLSX_UNCOMPRESSED_LIMIT = 50 * 1024 * 1024

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --------------------------------------------------------------------------- CSRF


def csrf_token(secret: bytes, token_hash: str, now: float | None = None) -> str:
    """A CSRF value for forms shown under the link whose token hashes to `token_hash`."""
    issued = int(time.time() if now is None else now)
    mac = hmac.new(secret, f"{token_hash}:{issued}".encode(), hashlib.sha256).hexdigest()
    return f"{issued}.{mac}"


def csrf_check(
    secret: bytes, token_hash: str, value: object, now: float | None = None
) -> Literal["ok", "stale", "bad"]:
    """ "ok" for a fresh value made for this link, "stale" when well signed but older than
    CSRF_MAX_AGE (a page left open: the portal shows the form again), "bad" otherwise."""
    if not isinstance(value, str) or value.count(".") != 1 or len(value) > 100:
        return "bad"
    issued_text, mac = value.split(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return "bad"
    issued = int(issued_text)
    expected = hmac.new(secret, f"{token_hash}:{issued}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return "bad"
    current = time.time() if now is None else now
    if issued > current + 60:
        return "bad"
    return "ok" if current - CSRF_MAX_AGE <= issued else "stale"


def csrf_valid(secret: bytes, token_hash: str, value: object, now: float | None = None) -> bool:
    """Whether `value` was made by `csrf_token` for this link, less than CSRF_MAX_AGE ago."""
    return csrf_check(secret, token_hash, value, now) == "ok"


# --------------------------------------------------------------------------- body size


class BodyTooLarge(HTTPException):
    """Raised while a request body streams past its limit; rendered as the French 413 page."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"limit {limit}")
        self.limit = limit


class BodyLimit:
    """ASGI middleware: refuse request bodies over the route's limit without reading them."""

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[str], int],
        refuse: Callable[[int], ASGIApp],
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.refuse = refuse  # builds the 413 response (an ASGI app) for a given limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self.refuse(limit)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


# --------------------------------------------------------------------------- headers


class SecurityHeaders:
    """ASGI middleware: the same strict headers on every response; no-store on personal pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"cache-control",) or static
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                    headers.append((b"pragma", b"no-cache"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


# --------------------------------------------------------------------------- xlsx sniffing


def xlsx_problem(data: bytes) -> str | None:
    """Why `data` is not an xlsx workbook (in French), or None when it looks like one.

    Checks the zip signature, that the archive opens, that it holds an Excel workbook
    (`[Content_Types].xml` and `xl/workbook.xml`), and that it does not unpack to more than
    XLSX_UNCOMPRESSED_LIMIT (a zip bomb).
    """
    if not data:
        return "le fichier est vide"
    if not data.startswith(b"PK\x03\x04"):
        return "ce fichier n'est pas un classeur Excel (.xlsx)"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "ce fichier .xlsx est abîmé ou n'est pas un classeur Excel"
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        return "ce fichier n'est pas un classeur Excel (.xlsx)"
    if total > XLSX_UNCOMPRESSED_LIMIT:
        return "ce classeur est anormalement volumineux une fois décompressé"
    return None
