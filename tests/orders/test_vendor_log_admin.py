"""An order's page and the order list ask the vendor about a session: its own log of what it sent us, and the
settlement once more. And the page shows the charging card that paid for the session.

The vendor is a fake cloud registered in the adapter registry; a second fake supports nothing, as a vendor
without a session log. Pages are asked for in English.
"""

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import translation

from chargers.vendor import SessionNews, VendorAdapter, VendorError, VendorUnavailable, registry
from orders.models import ChargingCard, OrderStatus
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

VENDOR = "acme"
INCAPABLE = "mute"
ORDERS = reverse("admin:orders_order_changelist")
AT = dt.datetime(2026, 11, 21, 4, 5, 6, tzinfo=dt.UTC)  # 12:05:06 in Beijing


class FakeCloud(VendorAdapter):
    code = VENDOR

    def __init__(self):
        self.history = {}  # order number -> [SessionNews]
        self.refusals = {}  # order number -> the error the vendor answers with
        self.resent = []

    def session_history(self, *, order_no, serial, connector_number):
        if order_no in self.refusals:
            raise self.refusals[order_no]
        return self.history.get(order_no, [])

    def session_settlement_resend(self, *, order_no, serial, connector_number):
        if order_no in self.refusals:
            raise self.refusals[order_no]
        self.resent.append((order_no, serial, connector_number))


class Incapable(VendorAdapter):
    code = INCAPABLE


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def cloud():
    adapter = FakeCloud()
    registry.register(VENDOR, lambda: adapter)
    registry.register(INCAPABLE, Incapable)
    yield adapter
    registry.unregister(VENDOR)
    registry.unregister(INCAPABLE)


def order_of(vendor=VENDOR, serial="ACME-1", number=2, **fields):
    charger = ChargerFactory(vendor=vendor, serial=serial)
    return OrderFactory(connector=ConnectorFactory(charger=charger, number=number), **fields)


def log_url(order):
    return reverse("admin:orders_order_vendor_log", args=[order.pk])


def order_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def shown(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def order_link(order):
    return f'<a href="{order_url(order)}">Order {order.order_no}</a>'


# --- the vendor's log -------------------------------------------------------------------------------------------


def test_the_order_page_links_to_the_vendors_log(operator_client, cloud):
    order = order_of()

    response = operator_client.get(order_url(order))

    assert f'href="{log_url(order)}"' in response.content.decode()


def test_the_vendors_log_lists_each_entry_with_its_kind_time_fields_and_answer(operator_client, cloud):
    # Given the vendor's log of a session: a start and a finish with nested figures, one without a time
    order = order_of()
    cloud.history[order.order_no] = [
        SessionNews(kind="start_power", at=AT, fields={"device_port": 2, "state": 1}, answer='{"code":0}'),
        SessionNews(kind="finish_order", at=None, fields={"eq_used": 1500, "detail": {"stop": "用户停止"}},
                    answer="ok"),
    ]

    # When an operator opens the log from the order's page
    response = operator_client.get(log_url(order))

    # Then every entry is there, in the vendor's order, times to the second in Beijing, fields one by one
    assert response.status_code == 200
    assert response.context["refusal"] is None
    entries = response.context["entries"]
    assert [(e["kind"], e["at"]) for e in entries] == [("start_power", "2026-11-21 12:05:06"), ("finish_order", None)]
    assert entries[0]["fields"] == [("device_port", "2"), ("state", "1")]
    assert entries[0]["answer"] == '{\n  "code": 0\n}'
    assert entries[1]["fields"][1] == ("detail", '{\n  "stop": "用户停止"\n}')
    content = response.content.decode()
    assert "start_power" in content and "用户停止" in content and "eq_used" in content


def test_an_empty_log_says_so(operator_client, cloud):
    order = order_of()

    response = operator_client.get(log_url(order))

    assert 'id="vendor-log-empty"' in response.content.decode()


def test_a_vendor_without_a_session_log_says_so_on_the_page(operator_client, cloud):
    order = order_of(vendor=INCAPABLE, serial="MUTE-1")

    response = operator_client.get(log_url(order))

    assert response.status_code == 200
    assert response.context["refusal"] == "mute does not support session_history."
    assert "mute does not support session_history." in response.content.decode()


def test_an_unanswered_question_for_the_log_says_nothing_changed(operator_client, cloud):
    order = order_of()
    cloud.refusals[order.order_no] = VendorUnavailable("Read timed out.", vendor=VENDOR)

    response = operator_client.get(log_url(order))

    assert response.context["refusal"] == "The vendor did not answer (Read timed out.). Try again later."


def test_finance_reads_the_log_too_and_staff_without_order_access_may_not(client, finance, django_user_model, cloud):
    order = order_of()
    cloud.history[order.order_no] = [SessionNews(kind="start_power", at=AT, fields={})]
    client.force_login(finance)
    assert client.get(log_url(order)).status_code == 200

    stranger = django_user_model.objects.create_user("stranger", password="pw-str-1234", is_staff=True)
    client.force_login(stranger)
    assert client.get(log_url(order)).status_code == 403


# --- the settlement once more ---------------------------------------------------------------------------------


def test_asking_for_settlements_again_tells_each_refusal_and_counts_the_rest(operator_client, cloud):
    # Given a finished session, one the vendor refuses, one it does not answer for, and a booked one
    finished = order_of(serial="ACME-1", status=OrderStatus.FINISHED)
    refused = order_of(serial="ACME-2", status=OrderStatus.SETTLED)
    silent = order_of(serial="ACME-3", status=OrderStatus.FINISHED)
    booked = order_of(serial="ACME-4", status=OrderStatus.BOOKED)
    cloud.refusals[refused.order_no] = VendorError("订单不存在", vendor=VENDOR, code="404")
    cloud.refusals[silent.order_no] = VendorUnavailable("Read timed out.", vendor=VENDOR)

    # When an operator asks for all four
    response = operator_client.post(
        ORDERS,
        {"action": "resend_settlement", ACTION_CHECKBOX_NAME: [o.pk for o in (finished, refused, silent, booked)]},
        follow=True,
    )

    # Then the vendor was asked for the finished one; the refusals name their orders
    assert cloud.resent == [(finished.order_no, "ACME-1", 2)]
    messages = shown(response)
    assert ("error", f"{order_link(refused)}: [404] 订单不存在") in messages
    assert ("error", f"{order_link(silent)}: the vendor did not answer, so whether it will send the settlement "
                     "again is unknown (Read timed out.). Asking again is safe: a settlement is applied "
                     "once.") in messages
    assert ("error", f"{order_link(booked)}: Order {booked.order_no} is Booked: it has no settlement to send "
                     "again.") in messages
    assert messages[-1] == ("success", "The vendor was asked to send the settlement of 1 session again; it arrives "
                                       "as a push.")
    assert len(messages) == 4


def test_a_vendor_that_cannot_send_a_settlement_again_says_so(operator_client, cloud):
    order = order_of(vendor=INCAPABLE, serial="MUTE-1")

    response = operator_client.post(ORDERS, {"action": "resend_settlement", ACTION_CHECKBOX_NAME: [order.pk]},
                                    follow=True)

    assert shown(response) == [("error", f"{order_link(order)}: mute does not support session_settlement_resend.")]


def test_finance_may_not_ask_for_a_settlement_again(client, finance, cloud):
    client.force_login(finance)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    order = order_of()

    response = client.post(ORDERS, {"action": "resend_settlement", ACTION_CHECKBOX_NAME: [order.pk]}, follow=True)

    assert cloud.resent == []
    assert "resend_settlement" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)


# --- the card on the order's page ----------------------------------------------------------------------------


def test_the_order_page_shows_the_card_that_paid_for_the_session_and_nothing_without_one(operator_client, cloud):
    card = ChargingCard.objects.create(number="C0009", holder="赵六")
    swiped = order_of(serial="ACME-1", card=card)
    other = order_of(serial="ACME-2")

    with_card = operator_client.get(order_url(swiped)).content.decode()
    without = operator_client.get(order_url(other)).content.decode()

    card_url = reverse("admin:orders_chargingcard_change", args=[card.pk])
    assert f'<a href="{card_url}">C0009 赵六</a>' in with_card
    assert card_url not in without and "field-card_link" not in without
