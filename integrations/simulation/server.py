"""A real HTTP server on loopback that hands each request to an app and writes the app's response."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One request as it arrived: the path and query still encoded, the body as bytes."""

    method: str
    path: str
    query: str
    headers: Message  # case-insensitive .get(), as http.server reads them
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        """A JSON body, non-ASCII text as UTF-8 rather than escaped, as vendor clouds send it."""
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status=status, body=body, content_type="application/json;charset=UTF-8")


App = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    """GET and POST go to the app; other methods get http.server's 501."""

    server: _Server

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def version_string(self) -> str:
        return f"{self.server.server_version} {self.sys_version}"

    def log_message(self, format, *args):
        pass  # a simulator logs each call itself, on one line

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(method=self.command, path=url.path, query=url.query, headers=self.headers, body=body)
        try:
            response = self.server.app(request)
        except Exception:  # a bug in the app answers 500 rather than dropping the connection
            logger.exception("%s: answering %s %s failed", self.server.name, self.command, url.path)
            response = Response(status=500, body=b"simulator error")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, name: str, server_version: str):
        super().__init__(address, _Handler)
        self.app = app
        self.name = name
        self.server_version = server_version


class LoopbackServer:
    """Serves `app` on `host`:`port` (0: a free port) from a thread, between `start()` and `stop()`."""

    def __init__(
        self,
        app: App,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "simulator",
        server_version: str = "Simulator/1.0",
    ):
        self.app = app
        self.host = host
        self.port = port  # as asked; `address` has the one chosen for 0
        self.name = name
        self.server_version = server_version
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> tuple[str, int]:
        """The host and port it listens on (the port chosen when asked for 0)."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        host, port = self._server.server_address[:2]
        return host, port

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Listen and serve; OSError when the port is taken."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} is running already")
        self._server = _Server((self.host, self.port), self.app, self.name, self.server_version)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"{self.name}-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket, so the port is free again; a stopped server may start anew."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server = self._thread = None
