import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def permissions_of(name):
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_operators_edit_stations_chargers_connectors_tariffs_and_view_orders_and_events():
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
        "orders.view_order",
        "orders.view_ordersample",
    }
    assert permissions_of("Operators") == expected


def test_finance_only_views_orders_partners_and_tariff_versions():
    assert permissions_of("Finance") == {
        "orders.view_order",
        "orders.view_ordersample",
        "orders.view_partner",
        "tariffs.view_tariffversion",
    }
