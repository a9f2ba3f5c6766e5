"""Charging cards in the admin: the list with balances and what live sessions hold, a card's page with its
movements, the page that tops up or adjusts a balance (yuan typed, fen kept, exactly), and the movements' list.
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation

from orders.admin.cards import BalanceChangeForm, yuan_to_fen
from orders.models import CardMovement, CardMovementKind, ChargingCard, OrderStatus
from orders.services import card_balance_change
from tests.helpers import assert_changelist_queries_constant
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

CARDS = reverse("admin:orders_chargingcard_changelist")
MOVEMENTS = reverse("admin:orders_cardmovement_changelist")


def card_url(card):
    return reverse("admin:orders_chargingcard_change", args=[card.pk])


def balance_url(card):
    return reverse("admin:orders_chargingcard_balance", args=[card.pk])


def make_card(number="C0001", balance_fen=0, **fields):
    card = ChargingCard.objects.create(number=number, holder=fields.pop("holder", "张三"),
                                       mobile=fields.pop("mobile", "13800000000"), **fields)
    if balance_fen:
        card_balance_change(card=card, amount_fen=balance_fen, kind=CardMovementKind.TOP_UP, note="开卡充值",
                            by_name="setup")
        card.refresh_from_db()
    return card


def shown(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def english():
    with translation.override("en"):
        yield


# --- the list and a card's page -----------------------------------------------------------------------------


def test_the_card_list_shows_balances_and_what_live_sessions_hold_in_yuan(operator_client):
    # Given a card with 100 yuan, a live session authorised for 30 and another for 12.50, and a settled one
    card = make_card(balance_fen=10_000)
    OrderFactory(card=card, status=OrderStatus.CHARGING, authorized_amount_fen=3000)
    OrderFactory(card=card, status=OrderStatus.STARTING, authorized_amount_fen=1250)
    OrderFactory(card=card, status=OrderStatus.SETTLED, authorized_amount_fen=9000)
    idle = make_card(number="C0002")

    response = operator_client.get(CARDS)

    # Then the card shows its balance and the 42.50 yuan held (the settled session holds nothing)
    rows = {row.number: row for row in response.context["cl"].result_list}
    admin_ = response.context["cl"].model_admin
    assert (admin_.balance(rows["C0001"]), admin_.held(rows["C0001"])) == ("100.00", "42.50")
    assert (admin_.balance(rows[idle.number]), admin_.held(rows[idle.number])) == ("0.00", "0.00")
    content = response.content.decode()
    assert "100.00" in content and "42.50" in content


def test_the_card_list_asks_the_same_queries_for_5_cards_as_for_30(operator_client):
    made = []

    def make_rows(count):
        for _ in range(count):
            card = make_card(number=f"C{len(made):04d}", balance_fen=1000)
            OrderFactory(card=card, status=OrderStatus.CHARGING, authorized_amount_fen=500)
            made.append(card)

    assert_changelist_queries_constant(operator_client, CARDS, make_rows)


@pytest.mark.parametrize("term", ["C0042", "李四", "13912345678"])
def test_cards_are_found_by_number_holder_or_mobile(operator_client, term):
    wanted = make_card(number="C0042", holder="李四", mobile="13912345678")
    make_card(number="C0043", holder="王五", mobile="13700000000")

    response = operator_client.get(CARDS, {"q": term})

    assert list(response.context["cl"].result_list) == [wanted]


def test_a_posted_balance_is_ignored_the_balance_changes_only_by_movements(operator_client):
    card = make_card(balance_fen=500)

    response = operator_client.post(card_url(card), {"holder": "张三丰", "mobile": "13800000001", "enabled": "on",
                                                     "balance_fen": "999999", "movements-TOTAL_FORMS": "0",
                                                     "movements-INITIAL_FORMS": "0"})

    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.holder, card.balance_fen) == ("张三丰", 500)


def test_a_cards_page_shows_its_movements_newest_first_with_their_orders_and_the_balance_link(operator_client):
    card = make_card()
    order = OrderFactory(card=card)
    earlier = timezone.now() - timezone.timedelta(days=1)
    card_balance_change(card=card, amount_fen=2000, kind=CardMovementKind.TOP_UP, note="首充", by_name="op",
                        now=earlier)
    card_balance_change(card=card, amount_fen=-300, kind=CardMovementKind.ADJUSTMENT, note="多充退回", by_name="op")
    CardMovement.objects.create(card=card, kind=CardMovementKind.SESSION, amount_fen=-700, balance_after_fen=1000,
                                order=order, at=timezone.now() + timezone.timedelta(minutes=1))

    response = operator_client.get(card_url(card))

    assert response.status_code == 200
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.opts.model is CardMovement]
    assert [form.instance.amount_fen for form in formset.formset.forms] == [-700, -300, 2000]
    content = response.content.decode()
    assert f'href="{reverse("admin:orders_order_change", args=[order.pk])}"' in content
    assert f'href="{balance_url(card)}"' in content
    assert f"{MOVEMENTS}?card__id__exact={card.pk}" in content
    assert 'name="balance_fen"' not in content


def test_a_card_cannot_be_deleted_even_by_a_superuser(client, superuser):
    client.force_login(superuser)
    card = make_card()

    assert client.get(reverse("admin:orders_chargingcard_delete", args=[card.pk])).status_code == 403
    assert ChargingCard.objects.filter(pk=card.pk).exists()


# --- topping up and adjusting ----------------------------------------------------------------------------------


def test_an_operator_tops_up_a_card_exactly_in_fen(operator_client, operator, english):
    # Given a card with 5 yuan
    card = make_card(balance_fen=500)

    # When the operator tops it up by 12.30 yuan with a note
    response = operator_client.post(balance_url(card), {"kind": "top_up", "amount": "12.30", "note": "现金充值"},
                                    follow=True)

    # Then the movement is exactly 1230 fen, by the operator, with the note; the balance is 17.30 yuan
    movement = CardMovement.objects.filter(card=card).latest("id")
    assert (movement.kind, movement.amount_fen, movement.balance_after_fen, movement.note, movement.by_name) == (
        CardMovementKind.TOP_UP, 1230, 1730, "现金充值", operator.username)
    card.refresh_from_db()
    assert card.balance_fen == 1730
    assert response.redirect_chain == [(card_url(card), 302)]
    assert shown(response) == [("success", "Card C0001: Top-up of 12.30 yuan; the balance is now 17.30 yuan.")]


def test_finance_adjusts_a_balance_down(finance_client, finance):
    card = make_card(balance_fen=2000)

    finance_client.post(balance_url(card), {"kind": "adjustment", "amount": "-5.05", "note": "重复充值冲正"})

    movement = CardMovement.objects.filter(card=card).latest("id")
    assert (movement.kind, movement.amount_fen, movement.by_name) == (CardMovementKind.ADJUSTMENT, -505, "finance")
    card.refresh_from_db()
    assert card.balance_fen == 1495


@pytest.mark.parametrize("typed", ["1.234", "abc", "-0", "0", "0.00", "1e3", "NaN", "12,30", "١٢", "", " "])
def test_the_amount_is_refused_unless_it_is_yuan_with_at_most_two_decimals_other_than_zero(operator_client, typed):
    card = make_card(balance_fen=500)

    response = operator_client.post(balance_url(card), {"kind": "adjustment", "amount": typed, "note": "测试"})

    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert CardMovement.objects.filter(card=card).count() == 1
    card.refresh_from_db()
    assert card.balance_fen == 500


def test_the_refusals_name_the_amount(english):
    for typed, expected in [("1.234", "amount in yuan"), ("abc", "amount in yuan"), ("-0", "amount cannot be 0"),
                            ("0", "amount cannot be 0")]:
        form = BalanceChangeForm({"kind": "top_up", "amount": typed, "note": "x"})
        assert not form.is_valid()
        assert expected in " ".join(form.errors["amount"]), typed


@pytest.mark.parametrize(("typed", "fen"), [("12.30", 1230), ("12.3", 1230), ("12", 1200), ("0.01", 1),
                                            ("-0.01", -1), ("+3.50", 350), (" 99999.99 ", 9_999_999)])
def test_yuan_become_fen_exactly(typed, fen):
    assert yuan_to_fen(typed) == fen
    assert isinstance(yuan_to_fen(typed), int)


def test_a_note_is_required(operator_client):
    card = make_card()

    response = operator_client.post(balance_url(card), {"kind": "top_up", "amount": "10", "note": "  "})

    assert response.context["form"].errors["note"]
    assert not CardMovement.objects.filter(card=card).exists()


def test_the_services_refusals_are_shown_on_the_form(operator_client, english):
    # A top-up cannot take money off, and no adjustment takes a balance below what live sessions hold
    card = make_card(balance_fen=500)

    negative_top_up = operator_client.post(balance_url(card), {"kind": "top_up", "amount": "-1", "note": "x"})
    below_zero = operator_client.post(balance_url(card), {"kind": "adjustment", "amount": "-5.01", "note": "x"})
    OrderFactory(card=card, status=OrderStatus.CHARGING, authorized_amount_fen=300)
    below_held = operator_client.post(balance_url(card), {"kind": "adjustment", "amount": "-2.01", "note": "x"})

    assert negative_top_up.context["form"].non_field_errors() == [
        "A top-up adds to the balance; take money off with an adjustment."]
    assert below_zero.context["form"].non_field_errors() == [
        "The balance is 5.00 yuan, of which live sessions hold 0.00 yuan: it cannot go below what they hold."]
    assert below_held.context["form"].non_field_errors() == [
        "The balance is 5.00 yuan, of which live sessions hold 3.00 yuan: it cannot go below what they hold."]
    assert CardMovement.objects.filter(card=card).count() == 1
    card.refresh_from_db()
    assert card.balance_fen == 500


def test_the_balance_page_shows_the_balance_and_what_is_held(operator_client):
    card = make_card(balance_fen=5000)
    OrderFactory(card=card, status=OrderStatus.CHARGING, authorized_amount_fen=1000)

    response = operator_client.get(balance_url(card))

    assert response.status_code == 200
    assert (response.context["balance"], response.context["held"]) == ("50.00", "10.00")


def test_staff_without_the_adjust_permission_are_refused_the_balance_page(client, django_user_model):
    # Given staff who may view and edit cards, but not move money
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-1234", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_chargingcard", "change_chargingcard"]))
    client.force_login(clerk)
    card = make_card(balance_fen=500)

    page = client.get(balance_url(card))
    posted = client.post(balance_url(card), {"kind": "top_up", "amount": "100", "note": "x"})

    assert (page.status_code, posted.status_code) == (403, 403)
    assert f'href="{balance_url(card)}"' not in client.get(card_url(card)).content.decode()
    card.refresh_from_db()
    assert card.balance_fen == 500


# --- the movements ----------------------------------------------------------------------------------------------


def test_movements_are_listed_read_only_filtered_by_kind_and_found_by_card_or_order(operator_client):
    card = make_card(number="C0001", balance_fen=1000)
    other = make_card(number="C0002", balance_fen=300)
    order = OrderFactory(card=card)
    paid = CardMovement.objects.create(card=card, kind=CardMovementKind.SESSION, amount_fen=-400,
                                       balance_after_fen=600, order=order, at=timezone.now())

    listing = operator_client.get(MOVEMENTS)
    sessions = operator_client.get(MOVEMENTS, {"kind__exact": CardMovementKind.SESSION})
    by_card = operator_client.get(MOVEMENTS, {"q": "C0002"})
    by_order = operator_client.get(MOVEMENTS, {"q": order.order_no})
    of_card = operator_client.get(MOVEMENTS, {"card__id__exact": card.pk})

    assert len(listing.context["cl"].result_list) == 3
    assert list(sessions.context["cl"].result_list) == [paid]
    assert [m.card for m in by_card.context["cl"].result_list] == [other]
    assert list(by_order.context["cl"].result_list) == [paid]
    assert {m.card for m in of_card.context["cl"].result_list} == {card}
    assert operator_client.get(reverse("admin:orders_cardmovement_add")).status_code == 403
    page = operator_client.get(reverse("admin:orders_cardmovement_change", args=[paid.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


def test_a_movement_cannot_be_changed_or_deleted_even_by_a_superuser(client, superuser):
    client.force_login(superuser)
    movement = make_card(balance_fen=100).movements.get()

    posted = client.post(reverse("admin:orders_cardmovement_change", args=[movement.pk]), {"amount_fen": "1"})
    deleted = client.post(MOVEMENTS, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [movement.pk],
                                      "post": "yes"})

    assert posted.status_code == 403
    assert deleted.status_code in (200, 302)
    movement.refresh_from_db()
    assert movement.amount_fen == 100
