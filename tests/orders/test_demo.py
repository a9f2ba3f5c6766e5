import datetime as dt
import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.http import HttpRequest
from django.urls import reverse

from chargers.models import Charger, Connector, Vendor
from orders.demo import demo_seed
from orders.models import Order, OrderSample, OrderStatus
from orders.selectors import order_price_breakdown
from stations.models import Station
from tariffs.models import TariffTemplate, VehicleKind

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (TariffTemplate, Station, Charger, Connector, Order, OrderSample)
    }


def test_seed_builds_a_believable_operator():
    demo_seed(today=TODAY)

    assert set(Station.objects.values_list("city_code", flat=True)) == {"440300", "440100"}
    assert set(Charger.objects.values_list("vendor", flat=True)) == {Vendor.TOMDA, Vendor.WANZHUANG}
    assert set(Charger.objects.values_list("kind", flat=True)) == {VehicleKind.EV, VehicleKind.EBIKE}
    assert TariffTemplate.objects.get(kind=VehicleKind.EV).details.count() >= 4
    # A week of settled orders, each with its samples, all before the seed day.
    days = {o.started_at.date() for o in Order.objects.all()}
    assert len(days) >= 7
    assert all(o.ended_at.date() <= TODAY for o in Order.objects.all())
    assert not Order.objects.exclude(status=OrderStatus.SETTLED).exists()
    assert not Order.objects.filter(samples__isnull=True).exists()
    for order in Order.objects.all()[:50]:
        last = order.samples.order_by("device_time").last()
        assert last.energy_wh == order.energy_wh
        assert order.total_fee_fen == order.electricity_fee_fen + order.service_fee_fen > 0
        assert order.tariff_version.template == order.station.tariff_template
        assert order.tariff_version.effective_from <= order.started_at
        # The stored fees are the engine's price of the order's own samples.
        assert order_price_breakdown(order=order).total_fen == order.total_fee_fen


def test_the_ev_tariff_changed_mid_week_and_each_order_keeps_the_version_of_its_start():
    demo_seed(today=TODAY)
    ev = TariffTemplate.objects.get(kind=VehicleKind.EV)
    first, second = ev.versions.order_by("number")

    orders = Order.objects.filter(station__kind=VehicleKind.EV)

    assert set(orders.filter(started_at__lt=second.effective_from).values_list("tariff_version", flat=True)) == {
        first.pk
    }
    assert set(orders.filter(started_at__gte=second.effective_from).values_list("tariff_version", flat=True)) == {
        second.pk
    }


def test_seeding_twice_changes_nothing():
    demo_seed(today=TODAY)
    before = counts()

    result = demo_seed(today=TODAY)

    assert result["orders_created"] == 0
    assert counts() == before


def test_seed_command_reports_what_it_did(capsys):
    call_command("seed_demo")

    assert re.search(r"5 stations, \d+ connectors, \d+ new orders", capsys.readouterr().out)


def test_demo_admin_prints_a_working_password_once(client, capsys):
    call_command("demo_admin")
    first = capsys.readouterr().out
    password = re.search(r"Password: (\S+)", first).group(1)

    call_command("demo_admin")
    second = capsys.readouterr().out

    assert password not in second
    assert "exists already" in second
    assert get_user_model().objects.get(username="admin").is_superuser
    # axes counts each login by its request; Client.login has none of its own to give.
    assert client.login(request=HttpRequest(), username="admin", password=password)


def test_every_changelist_and_change_form_of_the_demo_data_opens(client, superuser):
    demo_seed(today=TODAY)
    client.force_login(superuser)

    opened = 0
    for model in admin.site._registry:
        if model._meta.app_label not in {"tariffs", "stations", "chargers", "orders"}:
            continue
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"admin:{info}_changelist")).status_code == 200, info
        objects = model.objects.order_by("pk")
        assert objects.exists(), f"the demo has no {model.__name__}"
        for pk in objects.values_list("pk", flat=True)[:25]:
            # follow: a business day's row opens as the day's page
            response = client.get(reverse(f"admin:{info}_change", args=[pk]), follow=True)
            assert response.status_code == 200, (info, pk)
            opened += 1
    assert opened > 90
