"""The simulator kit over real HTTP: the loopback server, the simulated clock, the ticker and the pusher.

No database and no vendor: a counterparty's simulator is built from these parts, so each is proved here
on its own, with a plain app on one side and a recording receiver on the other.
"""

import datetime as dt
import gc
import json
import socket
import threading
import time
import warnings
from collections import deque
from fractions import Fraction
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
import requests

from integrations.simulation import Delivery, LoopbackServer, Pusher, Response, SimClock, Ticker

TIMEOUT = 5
SHANGHAI = ZoneInfo("Asia/Shanghai")


def echo(request):
    return Response.json(
        {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body.decode("utf-8"),
            "type": request.headers.get("content-type"),
        }
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- the loopback server -----------------------------------------------------------------------


def test_the_server_serves_its_app_on_a_free_port_and_stops_freeing_it():
    server = LoopbackServer(echo, name="echo", server_version="EchoCloud/2.0")
    server.start()
    host, port = server.address
    url = server.base_url

    got = requests.get(f"{url}/api/x%20y?a=1&b=2", timeout=TIMEOUT)
    posted = requests.post(f"{url}/api/z", data={"k": "值"}, timeout=TIMEOUT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        server.stop()
        gc.collect()

    assert (host, url) == ("127.0.0.1", f"http://127.0.0.1:{port}")
    assert port != 0
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert got.headers["Server"].startswith("EchoCloud/2.0 ")
    assert got.json() == {"method": "GET", "path": "/api/x%20y", "query": "a=1&b=2", "body": "", "type": None}
    assert posted.json()["method"] == "POST"
    assert parse_qs(posted.json()["body"]) == {"k": ["值"]}
    assert posted.json()["type"] == "application/x-www-form-urlencoded"
    assert not server.running
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]  # its socket was closed, not dropped
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=TIMEOUT)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    with LoopbackServer(echo, port=port) as again:  # the port is free once the server stopped
        assert requests.get(f"{again.base_url}/back", timeout=TIMEOUT).json()["path"] == "/back"


def test_the_server_listens_on_the_port_it_is_given_and_refuses_a_taken_one():
    port = free_port()

    with LoopbackServer(echo, port=port) as server:
        assert server.address == ("127.0.0.1", port)
        with pytest.raises(OSError):
            LoopbackServer(echo, port=port).start()
        with pytest.raises(RuntimeError):
            server.start()


def test_an_app_that_fails_answers_500_and_the_server_keeps_serving():
    calls = []

    def fragile(request):
        calls.append(request.path)
        if request.path == "/bug":
            raise ZeroDivisionError
        return Response(status=202, body=b"fine")

    with LoopbackServer(fragile) as server:
        failed = requests.get(f"{server.base_url}/bug", timeout=TIMEOUT)
        fine = requests.get(f"{server.base_url}/ok", timeout=TIMEOUT)
        other = requests.put(f"{server.base_url}/ok", timeout=TIMEOUT)

    assert failed.status_code == 500
    assert (fine.status_code, fine.content, fine.headers["Content-Type"]) == (202, b"fine", "text/plain; charset=utf-8")
    assert other.status_code == 501  # only GET and POST reach the app
    assert calls == ["/bug", "/ok"]


# ---- the clock ---------------------------------------------------------------------------------


def test_the_clock_stands_still_until_advanced():
    start = dt.datetime(2024, 5, 1, 23, 59, 30, tzinfo=dt.UTC)
    clock = SimClock(start, tz=SHANGHAI)

    before = clock.now()
    time.sleep(0.02)
    still = clock.now()
    moved = clock.advance(45)
    exact = clock.advance(Fraction(1, 3))

    assert before == still == start
    assert before.tzinfo is SHANGHAI
    assert moved == start + dt.timedelta(seconds=45)
    assert exact == clock.now() == start + dt.timedelta(seconds=45, microseconds=333_333)
    assert exact.isoformat() == "2024-05-02T08:00:15.333333+08:00"


def test_the_clock_starts_now_and_never_runs_backwards():
    clock = SimClock()
    started = clock.now()

    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)

    assert abs(started - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
    assert started.tzinfo is dt.UTC
    assert clock.now() == started


# ---- the ticker --------------------------------------------------------------------------------


def wait_for(condition, within=5.0):
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_the_ticker_runs_each_job_at_its_interval_until_stopped():
    clock = SimClock(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    fast, slow = [], []
    ticker = Ticker(name="test")
    ticker.every(0.02, lambda: fast.append(clock.advance(60)))  # a clock following real time, 3000 times faster
    ticker.every(0.2, lambda: slow.append(time.monotonic()))
    started = time.monotonic()
    ticker.start()

    assert wait_for(lambda: len(slow) >= 2)
    ticker.stop()
    stopped = (len(fast), len(slow))
    time.sleep(0.1)

    assert (len(fast), len(slow)) == stopped
    assert len(fast) > 2 * len(slow)
    assert slow[0] - started >= 0.2
    assert clock.now() == dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=len(fast))


def test_a_failing_round_does_not_stop_the_ticker():
    rounds = []

    def flaky():
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("one bad round")

    ticker = Ticker()
    ticker.every(0.01, flaky)
    ticker.start()
    try:
        assert wait_for(lambda: len(rounds) >= 3)
    finally:
        ticker.stop()
    with pytest.raises(ValueError):
        ticker.every(0, flaky)


# ---- the pusher --------------------------------------------------------------------------------


class Receiver:
    """Records each POST with its arrival time; answers the queued statuses first, then 200."""

    def __init__(self, reply=b'{"ok": true}'):
        self.received = []  # (monotonic arrival, body, content type)
        self.statuses = deque()
        self.reply = reply
        self.server = LoopbackServer(self.app, name="receiver")

    def app(self, request):
        self.received.append((time.monotonic(), request.body, request.headers.get("Content-Type")))
        status = self.statuses.popleft() if self.statuses else 200
        return Response(status=status, body=self.reply, content_type="application/json")

    @property
    def url(self):
        return self.server.base_url + "/push"

    def gaps(self):
        times = [arrival for arrival, _body, _type in self.received]
        return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.server.start()
    yield receiver
    receiver.server.stop()


def test_the_pusher_delivers_a_body_or_form_fields_and_records_the_outcome(receiver):
    told = []
    pusher = Pusher(receiver.url, on_delivery=told.append)

    body = pusher.send(Delivery(data=b'{"n":1}', headers={"Content-Type": "application/json"}))
    form = pusher.send(Delivery(data={"type": "PING", "content": "值"}))

    assert [(raw, kind) for _at, raw, kind in receiver.received] == [
        (b'{"n":1}', "application/json"),
        (b"type=PING&content=%E5%80%BC", "application/x-www-form-urlencoded"),
    ]
    assert (body.status_code, body.reply, body.error) == (200, {"ok": True}, None)
    assert (body.attempts, body.delivered, form.delivered) == (1, True, True)
    assert pusher.deliveries == told == [body, form]


def test_an_answer_that_is_not_a_json_object_is_no_reply(receiver):
    pusher = Pusher(receiver.url)

    receiver.reply = b"[1, 2]"
    listed = pusher.send(Delivery(data=b"x"))
    receiver.reply = b"<html>ok</html>"
    html = pusher.send(Delivery(data=b"x"))

    assert (listed.status_code, listed.reply, listed.delivered) == (200, None, True)
    assert (html.status_code, html.reply) == (200, None)


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(receiver):
    receiver.statuses.extend([503, 502])
    pusher = Pusher(receiver.url, attempts=4, retry_delay=0.1, backoff=3)

    delivery = pusher.send(Delivery(data=b"x"))

    assert (delivery.attempts, delivery.status_code, delivery.error, delivery.delivered) == (3, 200, None, True)
    assert len(receiver.received) == 3
    first, second = receiver.gaps()
    assert first >= 0.1
    assert second >= 0.3  # three times the first wait


def test_the_pusher_gives_up_after_its_attempts_with_the_last_outcome(receiver):
    receiver.statuses.extend([503] * 10)
    pusher = Pusher(receiver.url, attempts=3, retry_delay=0.01)

    delivery = pusher.send(Delivery(data=b"x"))
    receiver.statuses.clear()
    receiver.statuses.append(400)
    bad = pusher.send(Delivery(data=b"x"))

    assert (delivery.attempts, delivery.status_code, delivery.error, delivery.delivered) == (3, 503, "HTTP 503", False)
    assert delivery.reply == {"ok": True}  # the last answer's body is kept even when it failed
    assert pusher.deliveries == [delivery, bad]
    assert len(receiver.received) == 4
    assert (bad.attempts, bad.status_code, bad.delivered) == (1, 400, True)  # below 500: answered, not retried
    with pytest.raises(ValueError):
        Pusher(receiver.url, attempts=0)


def test_an_unreachable_receiver_is_given_up_with_the_transport_error():
    pusher = Pusher(f"http://127.0.0.1:{free_port()}/push", attempts=2, retry_delay=0.01, timeout=1)

    delivery = pusher.send(Delivery(data=b"x"))

    assert (delivery.attempts, delivery.status_code, delivery.reply, delivery.delivered) == (2, None, None, False)
    assert delivery.error.startswith("ConnectionError: ")


def test_queued_messages_go_out_in_order_on_the_pushers_thread(receiver):
    pusher = Pusher(receiver.url, name="queue")
    outcomes = []

    def then(delivery):
        outcomes.append((threading.current_thread().name, delivery.data, delivery.status_code))
        if delivery.data == b"2":
            raise RuntimeError("a reaction that fails")

    for number in range(1, 6):
        pusher.enqueue(Delivery(data=str(number).encode()), then=then)
    with pytest.raises(TimeoutError, match="5 messages"):
        pusher.drain(timeout=0.1)  # nothing goes out before the pusher starts
    pusher.start()
    pusher.drain()
    pusher.stop()

    assert [body for _at, body, _type in receiver.received] == [b"1", b"2", b"3", b"4", b"5"]
    assert outcomes == [("queue-pusher", str(n).encode(), 200) for n in range(1, 6)]
    assert [d.data for d in pusher.deliveries] == [b"1", b"2", b"3", b"4", b"5"]


def test_a_stopped_pusher_sends_nothing_more(receiver):
    pusher = Pusher(receiver.url)
    pusher.start()
    pusher.stop()

    pusher.enqueue(Delivery(data=json.dumps({"late": True}).encode()))
    time.sleep(0.1)

    assert receiver.received == []
    with pytest.raises(TimeoutError):
        pusher.drain(timeout=0.05)
