"""The partner simulator alone, over real HTTP: its callback receiver, its books and their reconciliation, its client.

The callbacks are POSTed here with `requests`, as our outbox would, and the client talks to a small fake of our
API on the simulation kit's `LoopbackServer`; so these tests need neither our views nor a database. They prove
the simulator does what the end-to-end tests rely on.
"""

import datetime as dt
import json
import threading
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import requests

from integrations.partner.simulator import (
    BEIJING,
    CallbackReceiver,
    PartnerApiError,
    PartnerClient,
    PartnerRecords,
)
from integrations.simulation import LoopbackServer, Response

TIMEOUT = 5
ORDER = "20261202103000000001"


def detail(order_id=ORDER, *, status=1, power="1.000", fee="0.50", time_start="2026-12-02 10:30:05"):
    return {
        "OrderId": order_id, "stubId": "1012300001", "outOrderId": f"OUT-{order_id}", "driverId": "d1",
        "timeStart": time_start, "timeEnd": "" if status == 1 else "2026-12-02 11:00:00", "timeCharge": 60,
        "feeTotal": fee, "chargeType": 0, "power": power, "soc": None, "status": status, "endInfo": "",
        "feeService": "0.00", "feeElectric": fee, "cityCode": "440300",
    }


def callback_body(notify_id, notify_type, *, notify_time="2026-12-02 10:30:05", **kwargs):
    return {"notifyId": notify_id, "notifyType": notify_type, "notifyTime": notify_time, "org": "DEMO",
            "data": detail(**kwargs)}


def raw(body):
    """The body as our server writes it: JSON numbers for the figures (the strings above become numbers)."""
    data = dict(body["data"])
    text = json.dumps({**body, "data": "@DATA@"}, ensure_ascii=False)
    figures = {key: data[key] for key in ("feeTotal", "power", "feeService", "feeElectric")}
    rest = json.dumps({key: value for key, value in data.items() if key not in figures}, ensure_ascii=False)
    numbers = ", ".join(f'"{key}": {value}' for key, value in figures.items())
    return text.replace('"@DATA@"', rest[:-1] + ", " + numbers + "}").encode("utf-8")


def post(receiver, body, *, header=True):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if header:
        headers["X-Notify-Id"] = body["notifyId"]
    return requests.post(receiver.url, data=raw(body), headers=headers, timeout=TIMEOUT)


@pytest.fixture
def records():
    return PartnerRecords()


@pytest.fixture
def receiver(records):
    with CallbackReceiver(on_callback=records.add) as running:
        yield running


# ---- the receiver -----------------------------------------------------------------------------------------


def test_keeps_the_callback_as_it_arrived(receiver):
    body = callback_body("n-1", "progress", power="12.345", fee="6.78")

    answer = post(receiver, body)

    assert (answer.status_code, answer.json()) == (200, {"code": 0, "msg": "ok"})
    [kept] = receiver.callbacks()
    assert kept.raw == raw(body)
    assert kept.header_notify_id == "n-1"
    assert (kept.notify_id, kept.notify_type, kept.order_id) == ("n-1", "progress", ORDER)
    # Decimals, not floats: the figures are exactly what was sent.
    assert kept.data["power"] == Decimal("12.345") and isinstance(kept.data["power"], Decimal)
    assert kept.data["feeTotal"] == Decimal("6.78")
    assert kept.problems == ()
    assert kept.received_at.tzinfo is not None
    assert receiver.url.endswith("/callback")


def test_a_repeated_notify_id_is_acknowledged_again_and_kept_once(receiver):
    body = callback_body("n-1", "start")

    answers = [post(receiver, body) for _ in range(3)]

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(200, 0)] * 3
    assert len(receiver.callbacks()) == 1
    assert receiver.duplicates == 2


def test_callbacks_come_in_arrival_order_and_by_order(receiver):
    post(receiver, callback_body("a-1", "start", order_id="A"))
    post(receiver, callback_body("b-1", "start", order_id="B"))
    post(receiver, callback_body("a-2", "progress", order_id="A"))

    assert [callback.notify_id for callback in receiver.callbacks()] == ["a-1", "b-1", "a-2"]
    assert [callback.notify_id for callback in receiver.callbacks(order_id="A")] == ["a-1", "a-2"]


def test_while_down_it_answers_503_and_keeps_nothing_then_keeps_the_retry_after_up(receiver):
    body = callback_body("n-1", "end", status=2)
    receiver.down()

    answer = post(receiver, body)

    assert answer.status_code == 503
    assert receiver.callbacks() == [] and receiver.refused == 1

    receiver.up()
    again = post(receiver, body)

    assert (again.status_code, again.json()["code"]) == (200, 0)
    assert [callback.notify_id for callback in receiver.callbacks()] == ["n-1"]
    assert receiver.duplicates == 0  # the refused attempt was not remembered


def test_busy_answers_200_with_a_failure_code_and_keeps_nothing(receiver):
    receiver.busy()

    answer = post(receiver, callback_body("n-1", "start"))

    assert (answer.status_code, answer.json()) == (200, {"code": 1, "msg": "busy"})
    assert receiver.callbacks() == []


def test_refuse_fails_only_that_notify_type_until_up(receiver):
    receiver.refuse(notify_type="end")

    start = post(receiver, callback_body("n-1", "start"))
    end = post(receiver, callback_body("n-3", "end", status=2))
    progress = post(receiver, callback_body("n-2", "progress"))

    assert [start.status_code, end.status_code, progress.status_code] == [200, 503, 200]
    assert [callback.notify_type for callback in receiver.callbacks()] == ["start", "progress"]

    receiver.up()
    assert post(receiver, callback_body("n-3", "end", status=2)).status_code == 200
    assert [callback.notify_type for callback in receiver.callbacks()] == ["start", "progress", "end"]


def test_refuse_can_answer_busy_instead(receiver):
    receiver.refuse("progress", busy=True)

    answer = post(receiver, callback_body("n-2", "progress"))

    assert (answer.status_code, answer.json()["code"]) == (200, 1)
    assert receiver.callbacks() == []


def test_an_unreadable_body_is_answered_400_and_not_kept(receiver):
    answer = requests.post(receiver.url, data=b"not json", timeout=TIMEOUT)
    no_id = requests.post(receiver.url, json={"notifyType": "start"}, timeout=TIMEOUT)

    assert (answer.status_code, no_id.status_code) == (400, 400)
    assert receiver.callbacks() == [] and receiver.invalid == [b"not json", b'{"notifyType": "start"}']


def test_notes_what_breaks_the_contract_without_refusing_it(receiver):
    post(receiver, callback_body("n-1", "start"), header=False)

    [kept] = receiver.callbacks()
    assert kept.problems == ("no X-Notify-Id header",)


def test_other_paths_and_methods_are_not_the_callback(receiver):
    base = receiver.url.removesuffix("/callback")

    assert requests.post(base + "/other", json={}, timeout=TIMEOUT).status_code == 404
    assert requests.get(receiver.url, timeout=TIMEOUT).status_code == 405


def test_wait_for_returns_once_the_predicate_holds(receiver):
    timer = threading.Timer(0.2, post, args=(receiver, callback_body("n-9", "end", status=2)))
    timer.start()
    try:
        ended = receiver.wait_for(lambda callbacks: [c for c in callbacks if c.notify_type == "end"], timeout=TIMEOUT)
    finally:
        timer.join()

    assert [callback.notify_id for callback in ended] == ["n-9"]
    with pytest.raises(TimeoutError):
        receiver.wait_for(lambda callbacks: len(callbacks) > 1, timeout=0.2)


def test_concurrent_repeats_are_kept_once(receiver):
    body = callback_body("n-1", "progress")
    threads = [threading.Thread(target=post, args=(receiver, body)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(receiver.callbacks()) == 1 and receiver.duplicates == 7


# ---- the books --------------------------------------------------------------------------------------------


def test_the_end_detail_wins_over_a_late_progress(receiver, records):
    post(receiver, callback_body("n-1", "start", notify_time="2026-12-02 10:30:01", power="0"))
    post(receiver, callback_body("n-3", "end", notify_time="2026-12-02 11:00:00", status=2, power="7.001",
                                 fee="3.51"))
    # A progress retried after the end: it must not undo the final figures.
    post(receiver, callback_body("n-2", "progress", notify_time="2026-12-02 10:50:00", power="5.500", fee="2.75"))

    record = records.get(ORDER)
    assert record.ended and record.notify_type == "end"
    assert (record.power, record.fee, record.status) == (Decimal("7.001"), Decimal("3.51"), 2)
    assert record.callbacks == 3
    assert record.created_at == dt.datetime(2026, 12, 2, 10, 30, 1, tzinfo=BEIJING)


def test_between_two_progresses_the_later_notify_time_wins(records):
    records.add(callback_body("n-2", "progress", notify_time="2026-12-02 10:40:00", power="2.000"))
    records.add(callback_body("n-1", "progress", notify_time="2026-12-02 10:35:00", power="1.000"))

    assert records.get(ORDER).power == Decimal("2.000")
    assert not records.get(ORDER).ended


def test_day_totals_sum_the_ended_orders_per_day(records):
    records.add(callback_body("a", "end", order_id="A", status=2, power="1.001", fee="0.51",
                              notify_time="2026-12-02 10:00:00", time_start="2026-12-02 09:00:00"))
    records.add(callback_body("b", "end", order_id="B", status=9, power="2.002", fee="1.02",
                              notify_time="2026-12-02 12:00:00", time_start="2026-12-02 11:00:00"))
    records.add(callback_body("c", "end", order_id="C", status=2, power="3.000", fee="1.50",
                              notify_time="2026-12-03 01:00:00", time_start="2026-12-03 00:10:00"))
    records.add(callback_body("d", "progress", order_id="D", notify_time="2026-12-02 13:00:00"))

    totals = records.day_totals()

    first, second = totals[dt.date(2026, 12, 2)], totals[dt.date(2026, 12, 3)]
    assert (first.count, first.power, first.fee, first.order_ids) == (2, Decimal("3.003"), Decimal("1.53"), ("A", "B"))
    assert (second.count, second.power, second.fee) == (1, Decimal("3.000"), Decimal("1.50"))


# ---- reconciling ------------------------------------------------------------------------------------------

WINDOW = (dt.datetime(2026, 12, 2, 0, 0, tzinfo=BEIJING), dt.datetime(2026, 12, 3, 0, 0, tzinfo=BEIJING))


class FakeCheck:
    """A client reduced to what the reconciliation calls: `check`, answering what the test says."""

    def __init__(self, **answer):
        self.answer = {"checkOrderNo": "CK1", "orderCount": 2, "totalOrderPower": Decimal("3.003"),
                       "totoalOrderFee": Decimal("1.53"), "orderList": ["A", "B"], **answer}
        self.asked = []

    def check(self, start, end):
        self.asked.append((start, end))
        return self.answer


@pytest.fixture
def books(records):
    records.add(callback_body("a0", "start", order_id="A", notify_time="2026-12-02 09:00:00"))
    records.add(callback_body("a1", "end", order_id="A", status=2, power="1.001", fee="0.51",
                              notify_time="2026-12-02 10:00:00"))
    records.add(callback_body("b1", "end", order_id="B", status=0, power="2.002", fee="1.02",
                              notify_time="2026-12-02 12:00:00", time_start="2026-12-02 11:00:00"))
    # Outside the window, and one not ended: neither is in the comparison.
    records.add(callback_body("y", "end", order_id="Y", status=2, notify_time="2026-12-01 23:59:00",
                              time_start="2026-12-01 23:00:00"))
    records.add(callback_body("c0", "start", order_id="C", notify_time="2026-12-02 13:00:00"))
    return records


def test_reconcile_agrees_when_every_figure_matches(books):
    client = FakeCheck()

    result = books.reconcile(client, *WINDOW)

    assert client.asked == [WINDOW]
    assert result.agrees and result.differences == []
    assert result.open_orders == ["C"]
    assert (result.ours.count, result.ours.power, result.ours.fee) == (2, Decimal("3.003"), Decimal("1.53"))


def test_reconcile_reports_a_fee_one_fen_off(books):
    result = books.reconcile(FakeCheck(totoalOrderFee=Decimal("1.54")), *WINDOW)

    assert not result.agrees
    assert [(d.field, d.ours, d.theirs) for d in result.differences] == [
        ("totoalOrderFee", Decimal("1.53"), Decimal("1.54"))
    ]
    assert "totoalOrderFee" in str(result)


def test_reconcile_reports_power_count_and_list_differences(books):
    result = books.reconcile(
        FakeCheck(orderCount=3, totalOrderPower=Decimal("3.004"), orderList=["A", "Z", "Z"]), *WINDOW
    )

    assert [(d.field, d.ours, d.theirs) for d in result.differences] == [
        ("orderCount", 2, 3),
        ("totalOrderPower", Decimal("3.003"), Decimal("3.004")),
        ("orderList", None, "Z"),
        ("orderList", "B", None),
        ("orderList", "each order once", "repeated Z"),
    ]


def test_reconcile_compares_exactly_whatever_the_number_text(books):
    # 1.530 and 1.53 are the same yuan: the comparison is of amounts, not of their text.
    result = books.reconcile(FakeCheck(totoalOrderFee=Decimal("1.530"), orderCount=2), *WINDOW)

    assert result.agrees


# ---- the client, against a fake of our API ------------------------------------------------------------------


class FakeApi:
    """Just enough of our partner API: getToken, and one interface whose answers the test queues."""

    def __init__(self):
        self.calls = []
        self.tokens = 0
        self.answers = []

    def app(self, request):
        name = request.path.removeprefix("/api/partner/v1/")
        params = parse_qs(request.body.decode() if request.method == "POST" else request.query)
        params = {key: values[0] for key, values in params.items()}
        self.calls.append((request.method, name, params))
        if name == "getToken":
            self.tokens += 1
            return Response.json({"code": 0, "msg": "成功", "data": {"token": f"t{self.tokens}", "expiresIn": 7200,
                                                                     "expireTime": "2026-12-02 12:00:00"}})
        status, body = self.answers.pop(0) if self.answers else (200, '{"code": 0, "msg": "成功", "data": {}}')
        return Response(status=status, body=body.encode(), content_type="application/json")


@pytest.fixture
def api():
    fake = FakeApi()
    with LoopbackServer(fake.app, name="fake-api") as server:
        fake.base_url = server.base_url
        yield fake


def test_an_expired_token_is_fetched_again_once(api):
    client = PartnerClient(api.base_url, "DEMO", "s3cret", timeout=TIMEOUT)
    api.answers = [(200, '{"code": 2003, "msg": "token 已过期", "data": null}'),
                   (200, '{"code": 0, "msg": "成功", "data": {"OrderId": "1", "power": 1.230, "feeTotal": 0.1}}')]

    order = client.order("1")

    assert order == {"OrderId": "1", "power": Decimal("1.230"), "feeTotal": Decimal("0.1")}
    assert [(method, name, params.get("token")) for method, name, params in api.calls] == [
        ("POST", "getToken", None), ("GET", "getOrderInfo", "t1"), ("POST", "getToken", None),
        ("GET", "getOrderInfo", "t2"),
    ]
    assert api.calls[0][2] == {"org": "DEMO", "secret": "s3cret"}


def test_call_returns_any_code_and_the_methods_raise_it(api):
    client = PartnerClient(api.base_url, "DEMO", "s3cret", timeout=TIMEOUT)
    refusal = '{"code": 4004, "msg": "桩拒绝启动：枪未连接", "data": {"OrderId": "9", "status": 0}}'
    api.answers = [(200, refusal), (200, refusal), (429, '{"code": 4290, "msg": "请求过于频繁", "data": null}')]

    assert client.call("chargeStart", outOrderId="o1")["code"] == 4004
    with pytest.raises(PartnerApiError) as caught:
        client.start("o1", "d1", "1012300001", "1", at=dt.datetime(2026, 12, 2, 10, 0, tzinfo=BEIJING))
    assert (caught.value.code, caught.value.data) == (4004, {"OrderId": "9", "status": 0})
    _method, _name, sent = api.calls[-1]
    assert sent["org"] == "DEMO" and sent["time"] == str(int(dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC).timestamp()))
    with pytest.raises(PartnerApiError) as throttled:
        client.stations("440300")
    assert (throttled.value.code, throttled.value.http_status) == (4290, 429)


def test_check_sends_beijing_times(api):
    client = PartnerClient(api.base_url + "/", "DEMO", "s3cret", timeout=TIMEOUT)

    client.check(dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC), dt.datetime(2026, 12, 2, 16, 0, tzinfo=dt.UTC))

    _method, name, sent = api.calls[-1]
    assert name == "checkChargeOrders"
    assert (sent["startTim"], sent["endTim"]) == ("2026-12-02 00:00:00", "2026-12-03 00:00:00")
