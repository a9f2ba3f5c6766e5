"""Operators send the tariff version in force to the chargers and watch each charger's answer on the
version's page."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from chargers.models import ChargerTariffPush, TariffPushResult, Vendor
from integrations.tomda.simulator import SimCharger
from tariffs.pricing import Period, Tariff
from tests.chargers.factories import ChargerFactory
from tests.helpers import get_counting_queries, tomda_cloud
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory, create_periods

pytestmark = pytest.mark.django_db


@pytest.fixture
def tomda(settings):
    """Tomda's cloud with two EV chargers and an e-bike charger."""
    chargers = [
        SimCharger(serial="1012300001", kind="ev", connectors=1),
        SimCharger(serial="1012300002", kind="ebike", connectors=2),
        SimCharger(serial="1012300003", kind="ev", connectors=1),
    ]
    with tomda_cloud(settings, chargers) as sim:
        yield sim


@pytest.fixture
def version(db):
    """The version in force of a template at 0.65 + 0.40 yuan/kWh all day (whole fen, as Tomda needs)."""
    version = TariffVersionFactory(template__external_id="TPL-FLAT", number=1)
    create_periods(version.template, [(0, 1440, "plain", 6500, 4000)])
    return version


@pytest.fixture
def chargers(version):
    """The two EV chargers, each in its own station using the template."""
    return [
        ChargerFactory(station=StationFactory(code=code, tariff_template=version.template), vendor=Vendor.TOMDA,
                       serial=serial)
        for code, serial in (("ST-A", "1012300001"), ("ST-B", "1012300003"))
    ]


def version_url(version):
    return reverse("admin:tariffs_tariffversion_change", args=[version.pk])


def push_url(version):
    return reverse("admin:tariffs_tariffversion_push", args=[version.pk])


def shown_messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_sending_records_a_pending_push_per_charger_and_the_vendor_gets_the_template(
    operator_client, tomda, version, chargers
):
    response = operator_client.post(push_url(version))

    # Then each charger has a push waiting for its answer, sent by the operator
    pushes = ChargerTariffPush.objects.filter(tariff_version=version)
    assert sorted(pushes.values_list("charger__serial", "result", "requested_by_name")) == [
        ("1012300001", TariffPushResult.PENDING, "operator"),
        ("1012300003", TariffPushResult.PENDING, "operator"),
    ]
    # and Tomda has the template, with both stations, and passed it to both chargers
    (row,) = tomda.fee_templates["TPL-FLAT"]["elecFeeModelDetail"]
    assert (row["elecFee"], row["serviceFee"]) == (65, 40)
    assert {tomda.stations[code]["clientElecFeeModelId"] for code in ("ST-A", "ST-B")} == {"TPL-FLAT"}
    assert {tomda.chargers[s].fee_model["clientElecFeeModelId"] for s in ("1012300001", "1012300003")} == {"TPL-FLAT"}
    assert tomda.chargers["1012300002"].fee_model is None
    # and the operator is back on the version's page, told what happened
    assert response.status_code == 302
    assert response.url == f"{version_url(version)}#charger-acknowledgements"
    assert shown_messages(response) == [f"{version} sent to 2 chargers; their answers appear below as they come."]


def test_the_page_lists_each_chargers_latest_answer(operator_client, version, chargers):
    # Given charger A failed once then accepted, and charger B has not answered yet
    first, second = chargers
    now = timezone.now()
    for charger, result, minutes_ago in (
        (first, TariffPushResult.FAILED, 30),
        (first, TariffPushResult.ACCEPTED, 10),
        (second, TariffPushResult.PENDING, 10),
    ):
        ChargerTariffPush.objects.create(
            charger=charger, tariff_version=version, result=result, requested_by_name="operator",
            requested_at=now - dt.timedelta(minutes=minutes_ago),
        )

    response = operator_client.get(version_url(version))

    rows = [(push.charger, push.result) for push in response.context["acknowledgements"]]
    assert rows == [(first, TariffPushResult.ACCEPTED), (second, TariffPushResult.PENDING)]
    content = response.content.decode()
    assert "Charger acknowledgements" in content
    assert "Waiting for the charger" in content
    assert 'id="version-push-form"' in content


def test_the_acknowledgements_cost_the_same_queries_for_many_chargers(operator_client, version):
    def charger_pushes(count):
        for _ in range(count):
            charger = ChargerFactory(station=StationFactory(tariff_template=version.template))
            ChargerTariffPush.objects.create(charger=charger, tariff_version=version, requested_at=timezone.now())

    charger_pushes(1)
    operator_client.get(version_url(version))
    few, few_queries = get_counting_queries(operator_client, version_url(version))
    charger_pushes(5)
    many, many_queries = get_counting_queries(operator_client, version_url(version))

    assert (len(few.context["acknowledgements"]), len(many.context["acknowledgements"])) == (1, 6)
    assert many_queries == few_queries


def test_the_vendors_refusal_marks_the_pushes_not_sent_and_shows_the_code(operator_client, tomda, version, chargers):
    tomda.fail_next("/api/sys/station/elecFeeInfo", "2005")

    response = operator_client.post(push_url(version), follow=True)

    pushes = ChargerTariffPush.objects.filter(tariff_version=version)
    assert set(pushes.values_list("result", flat=True)) == {TariffPushResult.FAILED}
    assert all("2005" in push.error for push in pushes)
    (message,) = shown_messages(response)
    assert "[2005] 汤姆达云：对接业务设置费率失败（错误码 2005）" in message
    assert response.content.decode().count('<tr class="push-failed">') == 2


def test_a_tariff_the_vendor_cannot_carry_marks_the_pushes_not_sent_and_nothing_reaches_it(operator_client, tomda):
    # Given the version in force of a template priced to a tenth of a fen (Tomda takes whole fen per kWh),
    # used by two stations with a Tomda charger each
    version = TariffVersionFactory(
        template__external_id="TPL-TENTH",
        number=1,
        content=Tariff(kind="ev", periods=(Period(0, 1440, "plain", 6505, 4000),)).to_content(),
    )
    for code, serial in (("ST-A", "1012300001"), ("ST-B", "1012300003")):
        ChargerFactory(station=StationFactory(code=code, tariff_template=version.template), vendor=Vendor.TOMDA,
                       serial=serial)
    calls_before = len(tomda.calls)

    # When an operator sends it
    response = operator_client.post(push_url(version), follow=True)

    # Then every charger's push is recorded as not sent, with the reason the operator is shown, and Tomda got
    # nothing
    pushes = ChargerTariffPush.objects.filter(tariff_version=version)
    assert pushes.count() == 2
    assert set(pushes.values_list("result", flat=True)) == {TariffPushResult.FAILED}
    (message,) = shown_messages(response)
    assert all(push.error and push.error in message for push in pushes)
    assert len(tomda.calls) == calls_before


def test_a_template_no_charger_uses_is_refused_with_a_reason(operator_client, tomda, version):
    response = operator_client.post(push_url(version))

    (message,) = shown_messages(response)
    assert "No charger is in a station using" in message
    assert not ChargerTariffPush.objects.exists()
    assert tomda.calls == []


def test_only_the_version_in_force_can_be_sent(operator_client, tomda, version, chargers):
    # Given a later version scheduled for tomorrow
    scheduled = TariffVersionFactory(
        template=version.template, number=2, effective_from=timezone.now() + dt.timedelta(days=1)
    )

    page = operator_client.get(version_url(scheduled)).content.decode()
    response = operator_client.post(push_url(scheduled))

    assert 'id="version-push-form"' not in page
    assert shown_messages(response) == [
        f"Version {scheduled} is not the one in force now; only the version in force is sent to chargers."
    ]
    assert not ChargerTariffPush.objects.exists()
    assert tomda.calls == []


def test_sending_is_a_post(operator_client, version):
    assert operator_client.get(push_url(version)).status_code == 405


def test_finance_sees_neither_the_button_nor_the_answers_and_may_not_send(client, finance, tomda, version, chargers):
    client.force_login(finance)

    page = client.get(version_url(version))
    response = client.post(push_url(version))

    assert page.status_code == 200
    assert "Charger acknowledgements" not in page.content.decode()
    assert "acknowledgements" not in page.context
    assert response.status_code == 403
    assert not ChargerTariffPush.objects.exists()
    assert tomda.calls == []
