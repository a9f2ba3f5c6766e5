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
        "integrations.view_apicalllog",
        # Change on these two is replay and retry; their pages stay read-only.
        "integrations.view_inboundmessage",
        "integrations.change_inboundmessage",
        "integrations.view_outbounddelivery",
        "integrations.change_outbounddelivery",
    }
    assert permissions_of("Operators") == expected


def test_finance_only_views_orders_their_conflicts_partners_and_tariff_versions():
    assert permissions_of("Finance") == {
        "orders.view_order",
        "orders.view_ordersample",
        "orders.view_orderconflict",
        "orders.view_partner",
        "tariffs.view_tariffversion",
    }
