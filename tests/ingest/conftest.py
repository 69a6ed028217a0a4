"""A real HTTP server on 127.0.0.1 (http.server in a thread) for the fetch tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.ingest.helpers import EFORMS

NOTICE = (EFORMS / "cn_24_minimal.xml").read_bytes()


class Handler(BaseHTTPRequestHandler):
    """Routes: /notice.xml 200, /missing 404, /flaky 500 then 200, /broken always 500,
    /slow never answers in time, /big announces 30 MB."""

    hits: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        hits = Handler.hits
        hits[self.path] = hits.get(self.path, 0) + 1
        if self.path == "/notice.xml":
            self._send(200, NOTICE)
        elif self.path == "/flaky":
            self._send(
                500 if hits[self.path] == 1 else 200, b"oops" if hits[self.path] == 1 else NOTICE
            )
        elif self.path == "/broken":
            self._send(500, b"oops")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, NOTICE)
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(30 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"<" * 1024)
        else:
            self._send(404, b"not found")

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def hits() -> dict[str, int]:
    Handler.hits.clear()
    return Handler.hits


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound then released): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
