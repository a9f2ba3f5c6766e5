"""Who may open which admin page: the role matrix, the index each role sees, and the admin's language.

The expectations are written out by hand, page by page, rather than derived from the permissions, so
a change to the groups or to an admin's permission hooks shows up here as a failing row.
"""

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from chargers.models import OfflineRevenueReading
from integrations.models import AuthFailureReason, PartnerAuthFailure, PartnerCheck, PartnerToken
from orders.models import CardMovement, CardMovementKind, ChargingCard
from tests.chargers.factories import ChargerEventFactory, ChargerFactory, ConnectorFactory
from tests.integrations.factories import ApiCallLogFactory, InboundMessageFactory, OutboundDeliveryFactory
from tests.orders.factories import (
    BusinessDayFactory,
    DayEventFactory,
    ExportFactory,
    OrderConflictFactory,
    OrderFactory,
    OrderSampleFactory,
    PartnerFactory,
    StatementFactory,
    StatementLineFactory,
)
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffTemplateFactory, TariffVersionFactory

pytestmark = pytest.mark.django_db


def _offline_revenue_reading():
    now = timezone.now()
    return OfflineRevenueReading.objects.create(charger=ChargerFactory(), device_time=now, coin_total_fen=100,
                                                card_total_fen=0, received_at=now)


def _charging_card():
    return ChargingCard.objects.create(number="C0001", holder="张三")


def _card_movement():
    card = ChargingCard.objects.create(number="C0002", balance_fen=100)
    return CardMovement.objects.create(card=card, kind=CardMovementKind.TOP_UP, amount_fen=100, balance_after_fen=100,
                                       note="开卡", at=timezone.now())

def _partner_token():
    return PartnerToken.objects.create(partner=PartnerFactory(), token_hash="0" * 64, expires_at=timezone.now())


def _partner_auth_failure():
    return PartnerAuthFailure.objects.create(interface="getToken", reason=AuthFailureReason.WRONG_SECRET, org="X")


def _partner_check():
    now = timezone.now()
    return PartnerCheck.objects.create(partner=PartnerFactory(), check_no="CK0001", window_start=now, window_end=now,
                                       order_count=0, energy_wh=0, amount_fen=0)

PAGES = ("changelist", "add", "change", "delete", "history")

# One existing object per registered model, made by the factories.
FACTORIES = {
    "tariffs.tarifftemplate": TariffTemplateFactory,
    "tariffs.tariffversion": TariffVersionFactory,
    "stations.station": StationFactory,
    "chargers.charger": ChargerFactory,
    "chargers.connector": ConnectorFactory,
    "chargers.chargerevent": ChargerEventFactory,
    "chargers.offlinerevenuereading": _offline_revenue_reading,
    "orders.partner": PartnerFactory,
    "orders.order": OrderFactory,
    "orders.ordersample": OrderSampleFactory,
    "orders.orderconflict": OrderConflictFactory,
    "orders.businessday": BusinessDayFactory,
    "orders.dayevent": DayEventFactory,
    "orders.statement": StatementFactory,
    "orders.statementline": StatementLineFactory,
    "orders.export": ExportFactory,
    "orders.chargingcard": _charging_card,
    "orders.cardmovement": _card_movement,
    "integrations.apicalllog": ApiCallLogFactory,
    "integrations.inboundmessage": InboundMessageFactory,
    "integrations.outbounddelivery": OutboundDeliveryFactory,
    "integrations.partnertoken": _partner_token,
    "integrations.partnerauthfailure": _partner_auth_failure,
    "integrations.partnercheck": _partner_check,
}

ALL = (200, 200, 200, 200, 200)
VIEW = (200, 403, 200, 403, 200)  # changelist, read-only change page and history; no add, no delete
# Versions are added by publishing on the template's page, never through the add form.
NONE = (403, 403, 403, 403, 403)
# A business day's row opens as the day's page of the daily close.
DAY_PAGE = (200, 403, 302, 403, 200)
# Exports are asked for on the add page and then only looked at and downloaded.
ASK_AND_VIEW = (200, 200, 200, 403, 200)
# Charging cards are kept for good (their movements are money's history): disabled, never deleted.
KEPT = (200, 200, 200, 403, 200)

# Status codes of (changelist, add, change, delete, history) per role and model.
EXPECTED = {
    "superuser": {
        "tariffs.tarifftemplate": ALL,
        "tariffs.tariffversion": VIEW,
        "stations.station": ALL,
        "chargers.charger": ALL,
        "chargers.connector": ALL,
        "chargers.chargerevent": VIEW,
        "chargers.offlinerevenuereading": VIEW,
        "orders.partner": ALL,
        "orders.order": VIEW,
        "orders.ordersample": VIEW,
        "orders.orderconflict": VIEW,
        "orders.businessday": DAY_PAGE,
        "orders.dayevent": VIEW,
        "orders.statement": VIEW,
        "orders.statementline": VIEW,
        "orders.export": ASK_AND_VIEW,
        "orders.chargingcard": KEPT,
        "orders.cardmovement": VIEW,
        # Replay and retry need the change permission; a row's page stays read-only all the same.
        "integrations.apicalllog": VIEW,
        "integrations.inboundmessage": VIEW,
        "integrations.outbounddelivery": VIEW,
        "integrations.partnertoken": VIEW,
        "integrations.partnerauthfailure": VIEW,
        "integrations.partnercheck": VIEW,
    },
    "operator": {
        "tariffs.tarifftemplate": ALL,
        "tariffs.tariffversion": VIEW,
        "stations.station": ALL,
        "chargers.charger": ALL,
        "chargers.connector": ALL,
        "chargers.chargerevent": VIEW,
        "chargers.offlinerevenuereading": VIEW,
        "orders.partner": NONE,
        "orders.order": VIEW,
        "orders.ordersample": VIEW,
        "orders.orderconflict": VIEW,
        # Operators see the differences (to act on those sent back to them), not who closed what.
        "orders.businessday": DAY_PAGE,
        "orders.dayevent": NONE,
        "orders.statement": VIEW,
        "orders.statementline": VIEW,
        "orders.export": NONE,
        "orders.chargingcard": KEPT,
        "orders.cardmovement": VIEW,
        "integrations.apicalllog": VIEW,
        "integrations.inboundmessage": VIEW,
        "integrations.outbounddelivery": VIEW,
        "integrations.partnertoken": NONE,
        "integrations.partnerauthfailure": NONE,
        "integrations.partnercheck": NONE,
    },
    "finance": {
        "tariffs.tarifftemplate": NONE,
        "tariffs.tariffversion": VIEW,
        "stations.station": NONE,
        "chargers.charger": NONE,
        "chargers.connector": NONE,
        "chargers.chargerevent": NONE,
        "chargers.offlinerevenuereading": VIEW,
        "orders.partner": VIEW,
        "orders.order": VIEW,
        "orders.ordersample": VIEW,
        "orders.orderconflict": VIEW,
        "orders.businessday": DAY_PAGE,
        "orders.dayevent": VIEW,
        "orders.statement": VIEW,
        "orders.statementline": VIEW,
        "orders.export": ASK_AND_VIEW,
        "orders.chargingcard": VIEW,
        "orders.cardmovement": VIEW,
        "integrations.apicalllog": NONE,
        "integrations.inboundmessage": NONE,
        "integrations.outbounddelivery": NONE,
        "integrations.partnertoken": NONE,
        "integrations.partnerauthfailure": NONE,
        "integrations.partnercheck": NONE,
    },
}


def admin_url(label, page, obj=None):
    app_label, model_name = label.split(".")
    name = f"admin:{app_label}_{model_name}_{page}"
    return reverse(name) if page in ("changelist", "add") else reverse(name, args=[obj.pk])


@pytest.mark.parametrize("role", sorted(EXPECTED))
@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_each_role_gets_exactly_the_expected_status_on_every_admin_page(request, client, role, label):
    # Given a staff user of the role and an existing object of the model
    client.force_login(request.getfixturevalue(role))
    obj = FACTORIES[label]()

    # When the user opens each admin page of the model
    statuses = {page: client.get(admin_url(label, page, obj)).status_code for page in PAGES}

    # Then every page answers as the table says
    assert statuses == dict(zip(PAGES, EXPECTED[role][label], strict=True))


def test_the_matrix_covers_every_model_the_domain_apps_register():
    domain_apps = {"tariffs", "stations", "chargers", "orders", "integrations"}
    registered = {m._meta.label_lower for m in admin.site._registry if m._meta.app_label in domain_apps}
    assert registered == set(FACTORIES)


def test_finance_sees_an_order_read_only_without_a_save_button(client, finance):
    order = OrderFactory()
    client.force_login(finance)

    response = client.get(admin_url("orders.order", "change", order))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert 'name="_save"' not in response.content.decode()
    assert order.order_no in response.content.decode()


def test_superuser_too_sees_an_order_read_only(client, superuser):
    order = OrderFactory()
    client.force_login(superuser)

    response = client.get(admin_url("orders.order", "change", order))

    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_superuser_cannot_post_a_change_to_an_order(client, superuser):
    order = OrderFactory(status="finished")
    client.force_login(superuser)

    response = client.post(admin_url("orders.order", "change", order), {"status": "cancelled"})

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "finished"


def test_operator_edits_a_station_with_a_save_button(client, operator):
    station = StationFactory()
    client.force_login(operator)

    response = client.get(admin_url("stations.station", "change", station))

    assert response.status_code == 200
    assert 'name="_save"' in response.content.decode()


def models_on_index(response):
    return {
        app["app_label"]: {model["object_name"]: model["perms"] for model in app["models"]}
        for app in response.context["app_list"]
    }


VIEW_ONLY = {"add": False, "change": False, "delete": False, "view": True}
FULL = {"add": True, "change": True, "delete": True, "view": True}
ACT_ON = {"add": False, "change": True, "delete": False, "view": True}  # replay/retry from the list
KEEP = {"add": True, "change": True, "delete": False, "view": True}  # kept for good, never deleted


def test_operator_index_lists_exactly_what_operators_may_see(client, operator):
    client.force_login(operator)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert models_on_index(response) == {
        "tariffs": {"TariffTemplate": FULL, "TariffVersion": VIEW_ONLY},
        "stations": {"Station": FULL},
        "chargers": {"Charger": FULL, "Connector": FULL, "ChargerEvent": VIEW_ONLY,
                     "OfflineRevenueReading": VIEW_ONLY},
        "orders": {"Order": VIEW_ONLY, "OrderSample": VIEW_ONLY, "OrderConflict": VIEW_ONLY,
                   "BusinessDay": VIEW_ONLY, "Statement": VIEW_ONLY, "StatementLine": VIEW_ONLY,
                   "ChargingCard": KEEP, "CardMovement": VIEW_ONLY},
        "integrations": {"ApiCallLog": VIEW_ONLY, "InboundMessage": ACT_ON, "OutboundDelivery": ACT_ON},
        "wanzhuang": {"DeviceSettings": {**FULL, "delete": False}},
        # The mapping is edited on the station's page; these list it, the records sent and 4pyun's reports
        "fourpyun": {"FourpyunStation": VIEW_ONLY, "FourpyunOrder": VIEW_ONLY, "StatusReport": VIEW_ONLY},
    }


def test_finance_index_lists_orders_the_daily_close_exports_tariff_versions_and_4pyun_records_only(client, finance):
    client.force_login(finance)

    response = client.get(reverse("admin:index"))

    assert models_on_index(response) == {
        "tariffs": {"TariffVersion": VIEW_ONLY},
        "chargers": {"OfflineRevenueReading": VIEW_ONLY},
        "orders": {"Order": VIEW_ONLY, "OrderSample": VIEW_ONLY, "OrderConflict": VIEW_ONLY, "Partner": VIEW_ONLY,
                   "BusinessDay": VIEW_ONLY, "DayEvent": VIEW_ONLY, "Statement": VIEW_ONLY,
                   "StatementLine": VIEW_ONLY, "Export": {**VIEW_ONLY, "add": True},
                   "ChargingCard": VIEW_ONLY, "CardMovement": VIEW_ONLY},
        "fourpyun": {"FourpyunOrder": VIEW_ONLY, "StatusReport": VIEW_ONLY},
    }


def test_admin_speaks_simplified_chinese_by_default(client, superuser):
    # Given no Accept-Language header, the site's LANGUAGE_CODE (zh-hans) applies
    client.force_login(superuser)

    response = client.get(reverse("admin:index"))

    # Then Django's own admin strings come from its zh_Hans catalogue
    content = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans"' in content
    assert "最近动作" in content  # Recent actions
    assert "修改密码" in content  # Change password
    assert "Recent actions" not in content
