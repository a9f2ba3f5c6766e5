"""The HTTP client base against a real loopback server: logging, redaction, typed errors, timeouts."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from chargers.vendor import VendorError, VendorUnavailable
from integrations.http import REDACTED, BadResponse, HttpClient
from integrations.models import ApiCallLog, CallOutcome

pytestmark = pytest.mark.django_db


@dataclass
class Canned:
    status: int = 200
    body: bytes = b'{"code": 0, "data": {"answer": 42}}'
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    query: dict
    body: bytes


@dataclass
class CannedServer:
    """Answers each path with its canned response and remembers what it received."""

    routes: dict[str, Canned] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    base_url: str = ""

    def answer(self, path: str, **canned) -> None:
        self.routes[path] = Canned(**canned)


def handler_for(server: CannedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.reply()

        def do_POST(self):
            self.reply()

        def reply(self):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.received.append(Received(self.command, url.path, parse_qs(url.query), body))
            canned = server.routes.get(url.path, Canned(status=404, body=b"no such path", content_type="text/plain"))
            time.sleep(canned.delay)
            try:
                self.send_response(canned.status)
                self.send_header("Content-Type", canned.content_type)
                self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                self.wfile.write(canned.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def server():
    canned = CannedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(canned))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    canned.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/Manage/"
    yield canned
    httpd.shutdown()
    httpd.server_close()


class ExampleClient(HttpClient):
    """A minimal vendor: {"code": 0, "data": ...} is success, any other code a refusal."""

    vendor = "partner"
    redacted = frozenset({"apiKey", "token"})

    def parse(self, response, *, operation):
        if response.status_code >= 500:
            raise VendorUnavailable(f"HTTP {response.status_code}", vendor=self.vendor)
        try:
            payload = response.json()
        except ValueError as exc:
            raise BadResponse("not JSON", vendor=self.vendor) from exc
        if payload.get("code") != 0:
            raise VendorError(payload.get("msg", ""), vendor=self.vendor, code=str(payload["code"]))
        return payload["data"]


@pytest.fixture
def client(server):
    return ExampleClient(base_url=server.base_url, connect_timeout=0.5, read_timeout=0.5)


def row_text(row: ApiCallLog) -> str:
    """Every stored field of a log row, as one string to search."""
    return " ".join(str(getattr(row, f.attname)) for f in ApiCallLog._meta.fields)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_successful_call_returns_the_data_and_writes_one_ok_row(server, client):
    # Given a vendor that answers after 50 ms
    server.answer("/Manage/ping", delay=0.05)

    # When we call it
    result = client.request("GET", "/ping", operation="ping", params={"a": "1"}, charger_serial="S1", order_no="O1")

    # Then we get the data, and one row tells what happened, how and how long it took
    assert result == {"answer": 42}
    row = ApiCallLog.objects.get()
    assert row.outcome == CallOutcome.OK
    assert row.status_code == 200
    assert row.duration_ms >= 50
    assert (row.vendor, row.operation, row.method) == ("partner", "ping", "GET")
    assert row.url == server.base_url + "ping"
    assert (row.charger_serial, row.order_no) == ("S1", "O1")
    assert json.loads(row.request_body) == {"query": {"a": "1"}}
    assert json.loads(row.response_body) == {"code": 0, "data": {"answer": 42}}
    assert server.received[0].query == {"a": ["1"]}


def test_secrets_reach_the_vendor_but_no_field_of_the_row(server, client):
    # Given a call that carries secrets in the query string, the form and a nested JSON object
    server.answer("/Manage/secret")

    # When it is made
    client.request("GET", "/secret", operation="q", params={"apiKey": "KEY-QUERY", "page": "2"})
    client.request("POST", "/secret", operation="f", data={"token": "TOK-FORM", "orderNo": "A1"})
    client.request("POST", "/secret", operation="j", json_body={"outer": {"inner": [{"token": "TOK-NESTED"}]}})

    # Then the vendor got them, and the log rows hold none of them
    sent = b" ".join(r.body for r in server.received) + str([r.query for r in server.received]).encode()
    for secret in ("KEY-QUERY", "TOK-FORM", "TOK-NESTED"):
        assert secret.encode() in sent
    rows = list(ApiCallLog.objects.order_by("id"))
    assert len(rows) == 3
    for row in rows:
        for secret in ("KEY-QUERY", "TOK-FORM", "TOK-NESTED"):
            assert secret not in row_text(row)
    assert "?" not in rows[0].url


def test_the_logged_form_keeps_other_values_and_masks_the_secret(server, client):
    server.answer("/Manage/form")

    client.request("POST", "/form", operation="f", data={"token": "TOK-FORM", "orderNo": "A1"})

    logged = json.loads(ApiCallLog.objects.get().request_body)
    assert logged == {"form": {"token": REDACTED, "orderNo": "A1"}}


def test_a_json_text_form_value_is_logged_as_sent(server, client):
    # Given a form value that is JSON text (Tomda's stationInfo, filters): redaction reads mappings only
    server.answer("/Manage/form")
    info = json.dumps({"name": "站点一", "apiKey": "not-a-real-secret"}, ensure_ascii=False)

    # When it is sent
    client.request("POST", "/form", operation="f", data={"stationInfo": info, "token": "TOK-FORM"})

    # Then the text is logged verbatim: clients must keep secrets out of JSON-typed parameters
    logged = json.loads(ApiCallLog.objects.get().request_body)
    assert logged == {"form": {"stationInfo": info, "token": REDACTED}}


def test_a_5xx_answer_is_unavailable_and_logged_as_http_error(server, client):
    server.answer("/Manage/boom", status=502, body=b"<html>Bad Gateway</html>", content_type="text/html")

    with pytest.raises(VendorUnavailable):
        client.request("POST", "/boom", operation="boom")

    row = ApiCallLog.objects.get()
    assert row.outcome == CallOutcome.HTTP_ERROR
    assert row.status_code == 502
    assert "Bad Gateway" in row.response_body


def test_an_answer_that_is_not_json_is_a_bad_response(server, client):
    server.answer("/Manage/html", body=b"<html>login</html>", content_type="text/html")

    with pytest.raises(BadResponse):
        client.request("GET", "/html", operation="html")

    row = ApiCallLog.objects.get()
    assert row.outcome == CallOutcome.BAD_RESPONSE
    assert row.status_code == 200


def test_a_refusal_keeps_the_vendor_code_and_message(server, client):
    server.answer("/Manage/refuse", body=json.dumps({"code": 7, "msg": "充电桩离线"}).encode())

    with pytest.raises(VendorError) as caught:
        client.request("POST", "/refuse", operation="refuse")

    assert caught.value.code == "7"
    row = ApiCallLog.objects.get()
    assert (row.outcome, row.vendor_code, row.vendor_message) == (CallOutcome.VENDOR_ERROR, "7", "充电桩离线")


def test_a_slow_vendor_times_out_as_unavailable(server):
    # Given a vendor slower than our read timeout
    server.answer("/Manage/slow", delay=1.0)
    client = ExampleClient(base_url=server.base_url, connect_timeout=0.5, read_timeout=0.2)

    # When we call it, we stop waiting and the outcome is unknown
    started = time.monotonic()
    with pytest.raises(VendorUnavailable):
        client.request("POST", "/slow", operation="slow")

    assert time.monotonic() - started < 0.9
    row = ApiCallLog.objects.get()
    assert row.outcome == CallOutcome.TIMEOUT
    assert row.status_code is None


def test_a_refused_connection_is_a_transport_error():
    client = ExampleClient(base_url=f"http://127.0.0.1:{free_port()}/Manage", connect_timeout=0.5, read_timeout=0.5)

    with pytest.raises(VendorUnavailable):
        client.request("GET", "/ping", operation="ping")

    row = ApiCallLog.objects.get()
    assert row.outcome == CallOutcome.TRANSPORT_ERROR
    assert row.error


def test_a_connect_timeout_is_a_timeout_and_every_call_carries_both_timeouts(client):
    # Given a network that drops the connection attempt (injected: loopback never does)
    fault = requests.ConnectTimeout("dropped")
    # When we call
    with mock.patch.object(client.session, "request", side_effect=fault) as sent, pytest.raises(VendorUnavailable):
        client.request("GET", "/ping", operation="ping")

    # Then the outcome is a timeout, and requests was told both limits
    assert sent.call_args.kwargs["timeout"] == (0.5, 0.5)
    assert ApiCallLog.objects.get().outcome == CallOutcome.TIMEOUT
