import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def permissions_of(name):
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_operators_edit_the_network_operate_sessions_and_watch_the_integrations():
    crud = ("add", "change", "delete", "view")
    expected = {
        *(f"tariffs.{a}_tarifftemplate" for a in crud),
        *(f"tariffs.{a}_tariffdetail" for a in crud),
        *(f"stations.{a}_station" for a in crud),
        *(f"chargers.{a}_charger" for a in crud),
        *(f"chargers.{a}_connector" for a in crud),
        "tariffs.add_tariffversion",
        "tariffs.view_tariffversion",
        "chargers.view_chargerevent",
        "chargers.view_chargertariffpush",
        "orders.view_order",
        "orders.view_ordersample",
        "orders.view_orderconflict",
        "orders.operate_session",
        "orders.view_businessday",
        "orders.view_statement",
        "orders.view_statementline",
        "orders.view_lineaction",
        "integrations.view_apicalllog",
        # Change on these two is replay and retry; their pages stay read-only.
        "integrations.view_inboundmessage",
        "integrations.change_inboundmessage",
        "integrations.view_outbounddelivery",
        "integrations.change_outbounddelivery",
        # Charging cards: kept by operators, their balances moved by hand with a note; each movement read-only.
        "orders.add_chargingcard",
        "orders.change_chargingcard",
        "orders.view_chargingcard",
        "orders.adjust_balance",
        "orders.view_cardmovement",
        "chargers.view_offlinerevenuereading",
        *(f"wanzhuang.{a}_devicesettings" for a in ("add", "change", "view")),
        # 4pyun: what it was sent and told us; an order's record sent again, its plate added.
        "fourpyun.view_fourpyunstation",
        "fourpyun.view_fourpyunorder",
        "fourpyun.resend_record",
        "fourpyun.view_statusreport",
    }
    assert permissions_of("Operators") == expected


def test_finance_views_orders_and_closes_days_but_reopens_none():
    assert permissions_of("Finance") == {
        "orders.view_order",
        "orders.view_ordersample",
        "orders.view_orderconflict",
        "orders.view_ordersettlement",
        "orders.view_partner",
        "tariffs.view_tariffversion",
        # The daily close: statements and their differences, resolving them, closing a day, exports.
        "orders.view_businessday",
        "orders.close_day",
        "orders.view_dayevent",
        "orders.view_statement",
        "orders.view_statementline",
        "orders.resolve_statementline",
        "orders.view_lineaction",
        "orders.view_export",
        "orders.add_export",
        "orders.export_orders",
        "orders.view_chargingcard",
        "orders.adjust_balance",
        "orders.view_cardmovement",
        "chargers.view_offlinerevenuereading",
        "fourpyun.view_fourpyunorder",
        "fourpyun.view_statusreport",
    }
    # Reopening a closed day is a permission of its own, for whom a superuser grants it.
    assert not any("reopen_day" in permission for group in ("Finance", "Operators")
                   for permission in permissions_of(group))
