"""Operators keep a Wanzhuang device's settings in the admin: only Wanzhuang's chargers can have them, one row
each, grouped as the device's own pages group them."""

import datetime as dt

import pytest
from django.urls import reverse

from chargers.models import Vendor
from integrations.wanzhuang.models import DeviceSettings
from tests.chargers.factories import ChargerFactory

pytestmark = pytest.mark.django_db

SETTINGS = reverse("admin:wanzhuang_devicesettings_changelist")
ADD = reverse("admin:wanzhuang_devicesettings_add")
AUTOCOMPLETE = reverse("admin:autocomplete")


def posted(charger, **changes):
    fields = {
        "charger": charger.pk,
        "charge_mode": "1",
        "is_not_disturb": "on",
        "not_disturb_start": "23:00",
        "not_disturb_end": "06:30",
        "not_disturb_volume": "2",
        "auto_off_wait_time": "120",
        "auto_off_lower_power": "15",
        "floating_charge_time": "30",
        "floating_charge_power": "50",
        "detect_time": "5",
        "check_time": "90",
        "inc_time": "0",
        "count_mode": "0",
        "display_delay": "0",
    }
    return {**fields, **changes}


def test_an_operator_keeps_a_wanzhuang_devices_settings(operator_client):
    # Given a Wanzhuang charger
    charger = ChargerFactory(vendor=Vendor.WANZHUANG, serial="86000001")

    # When an operator saves its settings
    response = operator_client.post(ADD, posted(charger))

    # Then they are the device's, as typed
    assert response.status_code == 302, response.context["adminform"].form.errors
    settings = DeviceSettings.objects.get(charger=charger)
    assert (settings.charge_mode, settings.is_not_disturb, settings.not_disturb_start, settings.not_disturb_end) == (
        1, True, dt.time(23, 0), dt.time(6, 30))
    assert (settings.auto_off_wait_time, settings.floating_charge_time, settings.check_time) == (120, 30, 90)


def test_another_vendors_charger_cannot_have_wanzhuang_settings(operator_client):
    tomda = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")

    response = operator_client.post(ADD, posted(tomda))

    assert response.status_code == 200
    assert "charger" in response.context["adminform"].form.errors
    assert not DeviceSettings.objects.exists()


def test_a_value_beyond_what_the_device_takes_is_refused(operator_client):
    charger = ChargerFactory(vendor=Vendor.WANZHUANG, serial="86000001")

    response = operator_client.post(ADD, posted(charger, not_disturb_volume="11", check_time="3601"))

    errors = response.context["adminform"].form.errors
    assert {"not_disturb_volume", "check_time"} <= set(errors)
    assert not DeviceSettings.objects.exists()


def test_the_charger_autocomplete_offers_only_wanzhuang_chargers(operator_client):
    wanzhuang = ChargerFactory(vendor=Vendor.WANZHUANG, serial="86000001")
    ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")

    response = operator_client.get(AUTOCOMPLETE, {"app_label": "wanzhuang", "model_name": "devicesettings",
                                                  "field_name": "charger", "term": ""})

    assert response.status_code == 200
    assert [result["id"] for result in response.json()["results"]] == [str(wanzhuang.pk)]


def test_the_list_shows_charger_charge_mode_and_do_not_disturb(operator_client):
    charger = ChargerFactory(vendor=Vendor.WANZHUANG, serial="86000001", name="东门 1 号桩")
    DeviceSettings.objects.create(charger=charger, charge_mode=2, is_not_disturb=True)

    response = operator_client.get(SETTINGS)

    assert response.status_code == 200
    (row,) = response.context["cl"].result_list
    assert row.charger == charger
    content = response.content.decode()
    assert "东门 1 号桩" in content and "86000001" in content and "2 power mode" in content


def test_the_page_groups_the_settings_and_keeps_the_charger_once_saved(operator_client):
    settings = DeviceSettings.objects.create(charger=ChargerFactory(vendor=Vendor.WANZHUANG, serial="86000001"))

    response = operator_client.get(reverse("admin:wanzhuang_devicesettings_change", args=[settings.pk]))

    assert response.status_code == 200
    groups = [fieldset.name for fieldset in response.context["adminform"]]
    assert [str(name) if name else None for name in groups] == [
        None, "Do not disturb", "Power-off", "Floating charge", "Detection", "Billing and display", "Record"]
    assert "charger" not in response.context["adminform"].form.fields


def test_finance_has_no_device_settings(client, finance):
    client.force_login(finance)

    assert client.get(SETTINGS).status_code == 403
