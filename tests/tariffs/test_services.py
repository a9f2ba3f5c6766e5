"""Publishing tariff versions, finding the version in force, renumbering a template's rows, and the changes
between two tariffs."""

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import override

from orders.selectors import order_price_breakdown
from tariffs.comparison import Change, tariff_changes
from tariffs.models import TariffDetail, TariffTemplate, TariffVersion
from tariffs.pricing import LineKind, Period, PowerTier, Tariff
from tariffs.selectors import (
    tariff_template_draft,
    tariff_version_in_force,
    tariff_version_latest,
    tariff_versions_scheduled,
)
from tariffs.services import tariff_template_renumber, tariff_version_publish
from tariffs.validation import TariffInvalid
from tests.orders.factories import OrderFactory, OrderSampleFactory
from tests.tariffs.factories import (
    PeriodFactory,
    PowerTierFactory,
    TariffTemplateFactory,
    TariffVersionFactory,
    create_periods,
)

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=BEIJING)


def at(*args):
    """A Beijing wall-clock instant."""
    return dt.datetime(*args, tzinfo=BEIJING)


def flat(electricity_e4, service_e4):
    return Tariff(kind="ev", periods=(Period(0, 1440, "plain", electricity_e4, service_e4),))


def three_periods(template):
    """Valley 00:00–08:00 at 0.30 + 0.40, peak 08:00–23:00 at 1.00 + 0.60, valley 23:00–24:00."""
    return create_periods(
        template,
        [(0, 480, "valley", 3000, 4000), (480, 1380, "peak", 10_000, 6000), (1380, 1440, "valley", 3000, 4000)],
    )


def version(template, number, effective_from, tariff=None):
    return TariffVersionFactory(
        template=template,
        number=number,
        effective_from=effective_from,
        content=(tariff or flat(6500, 4000)).to_content(),
    )


# --- publishing ------------------------------------------------------------------------------------------


def test_the_first_publication_is_version_1_with_the_working_copy_in_force_now(operator):
    # Given a sound template that was never published
    template = three_periods(TariffTemplateFactory(name="工作日分时"))

    # When an operator publishes it without a time
    published = tariff_version_publish(template=template, published_by=operator, note="开业", now=NOW)

    # Then it is version 1, in force from now, recording who published it and the tariff as it stood
    assert (published.number, published.name, published.note) == (1, "工作日分时", "开业")
    assert published.effective_from == NOW
    assert published.published_at == NOW
    assert published.published_by == operator
    assert published.published_by_name == "operator"
    assert published.content == tariff_template_draft(template=template).to_content()
    assert [(p.start_minute, p.end_minute, p.interval) for p in published.tariff.periods] == [
        (0, 480, "valley"),
        (480, 1380, "peak"),
        (1380, 1440, "valley"),
    ]


def test_a_version_without_a_publisher_has_no_publisher_name():
    template = three_periods(TariffTemplateFactory())

    published = tariff_version_publish(template=template, now=NOW)

    assert (published.published_by, published.published_by_name) == (None, "")


def test_the_publisher_name_outlives_the_account(operator):
    published = tariff_version_publish(template=three_periods(TariffTemplateFactory()), published_by=operator)

    operator.delete()

    published.refresh_from_db()
    assert (published.published_by, published.published_by_name) == (None, "operator")


def test_a_version_published_for_later_is_scheduled_not_in_force():
    # Given a template in force since January
    template = three_periods(TariffTemplateFactory())
    first = tariff_version_publish(template=template, now=at(2026, 1, 1))
    TariffDetail.objects.filter(template=template, interval="peak").update(service_price_e4=8000)

    # When the price rise is published to take effect on 1 April
    later = tariff_version_publish(template=template, effective_from=at(2026, 4, 1), now=NOW)

    # Then it is the latest version but January's stays in force until then
    assert later.number == 2
    assert tariff_version_latest(template=template) == later
    assert tariff_version_in_force(template=template, at=NOW) == first
    assert tariff_version_in_force(template=template, at=at(2026, 4, 1)) == later
    assert list(tariff_versions_scheduled(template=template, at=NOW)) == [later]


def test_a_version_cannot_take_effect_in_the_past():
    template = three_periods(TariffTemplateFactory())

    with override("en"), pytest.raises(ValidationError) as caught:
        tariff_version_publish(template=template, effective_from=NOW - dt.timedelta(minutes=1), now=NOW)

    assert caught.value.messages == ["A version takes effect now or later, not in the past."]
    assert not TariffVersion.objects.exists()


def test_an_unchanged_template_is_not_published_again():
    template = three_periods(TariffTemplateFactory())
    tariff_version_publish(template=template, now=NOW)

    with override("en"), pytest.raises(ValidationError) as caught:
        tariff_version_publish(template=template, now=NOW + dt.timedelta(hours=1))

    assert caught.value.messages == ["Nothing to publish: the template is the same as version 1."]
    assert TariffVersion.objects.count() == 1


def test_a_new_name_alone_is_worth_a_version():
    template = three_periods(TariffTemplateFactory(name="旧名"))
    tariff_version_publish(template=template, now=NOW)
    TariffTemplate.objects.filter(pk=template.pk).update(name="新名")

    renamed = tariff_version_publish(template=template, now=NOW)

    assert (renamed.number, renamed.name) == (2, "新名")


def test_version_numbers_count_up_per_template():
    # Given two templates, one published twice before
    template = three_periods(TariffTemplateFactory())
    other = three_periods(TariffTemplateFactory())
    for price in (6000, 7000):
        TariffDetail.objects.filter(template=template).update(service_price_e4=price)
        tariff_version_publish(template=template, now=NOW)

    # When each is published once more
    TariffDetail.objects.filter(template=template).update(service_price_e4=8000)
    third = tariff_version_publish(template=template, now=NOW)
    first_of_other = tariff_version_publish(template=other, now=NOW)

    # Then numbers continue per template
    assert third.number == 3
    assert first_of_other.number == 1
    assert list(template.versions.order_by("number").values_list("number", flat=True)) == [1, 2, 3]


def test_an_invalid_working_copy_is_refused_with_every_problem():
    # Given a template whose day has a gap between 08:00 and 09:00
    template = TariffTemplateFactory()
    PeriodFactory(template=template, position=1, start_minute=0, end_minute=480, interval="valley")
    PeriodFactory(template=template, position=2, start_minute=540, end_minute=1440, interval="plain")

    # When it is published
    with override("en"), pytest.raises(TariffInvalid) as caught:
        tariff_version_publish(template=template, now=NOW)

    # Then nothing is published and the problem names the row
    assert caught.value.messages == ["period 09:00–24:00: nothing covers 08:00–09:00 before it; the day has a gap."]
    assert [problem.row for problem in caught.value.problems] == [1]
    assert not TariffVersion.objects.exists()


def test_an_empty_template_cannot_be_published():
    template = TariffTemplateFactory()

    with override("en"), pytest.raises(TariffInvalid) as caught:
        tariff_version_publish(template=template, now=NOW)

    assert caught.value.messages == ["Add the periods of the day (or, for e-bikes, the power tiers)."]


def test_an_ebike_template_of_power_tiers_is_published():
    # Given an e-bike template of two tiers with a start fee and a cap
    template = TariffTemplateFactory(kind="ebike", start_fee_fen=50, max_pay_fen=500, free_charge_seconds=180)
    PowerTierFactory(template=template, position=1, power_upper_w=600, electricity_price_e4=7000)
    PowerTierFactory(template=template, position=2, power_upper_w=300, unit_seconds=14_400, electricity_price_e4=5000)

    # When it is published
    published = tariff_version_publish(template=template, now=NOW)

    # Then its tiers are in order of power and its e-bike settings travel with it
    tariff = published.tariff
    assert tariff.tiers == (
        PowerTier(power_upper_w=300, unit_seconds=14_400, electricity_price_e4=5000, service_price_e4=0),
        PowerTier(power_upper_w=600, unit_seconds=3600, electricity_price_e4=7000, service_price_e4=0),
    )
    assert (tariff.start_fee_fen, tariff.max_pay_fen, tariff.free_charge_seconds) == (50, 500, 180)


def test_a_published_version_keeps_its_prices_when_the_template_changes():
    template = three_periods(TariffTemplateFactory())
    published = tariff_version_publish(template=template, now=NOW)

    TariffDetail.objects.filter(template=template).update(electricity_price_e4=1)
    template.details.filter(position=3).delete()

    published.refresh_from_db()
    assert [p.electricity_price_e4 for p in published.tariff.periods] == [3000, 10_000, 3000]


def test_a_version_cannot_be_saved_again():
    published = TariffVersionFactory(note="")

    published.note = "改一下"
    with pytest.raises(ValueError, match="immutable"):
        published.save()

    published.refresh_from_db()
    assert published.note == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks that other connections wait on")
@pytest.mark.django_db(transaction=True)
def test_two_operators_publishing_one_template_at_once_are_served_one_after_the_other():
    """Without the template lock both would read "no version yet" and collide on number 1.

    Both publish the same working copy, so the second, once it gets the lock, sees version 1 and is told
    there is nothing to publish: a refusal for people, never a database error.
    """
    # Given a template whose row the test holds locked, and two publishers started against it
    template = three_periods(TariffTemplateFactory())
    results = {}

    def publish(name):
        try:
            results[name] = tariff_version_publish(template=template).number
        except Exception as error:  # whatever went wrong, the assertion below shows it
            results[name] = type(error)
        finally:
            connection.close()

    publishers = [threading.Thread(target=publish, args=(name,)) for name in ("a", "b")]
    with transaction.atomic():
        TariffTemplate.objects.select_for_update().get(pk=template.pk)
        for publisher in publishers:
            publisher.start()
        # When both are waiting for the lock at the same time
        deadline = time.monotonic() + 10
        while _waiting_for_a_lock() < 2:
            assert time.monotonic() < deadline, f"the publishers never queued for the template lock: {results}"
            time.sleep(0.02)
    # (the lock is released here, and they run)
    for publisher in publishers:
        publisher.join(timeout=10)

    # Then one published version 1 and the other was refused in words
    assert len(results) == 2
    assert set(results.values()) == {1, ValidationError}
    assert list(template.versions.values_list("number", flat=True)) == [1]


def _waiting_for_a_lock():
    with connection.cursor() as cursor:
        # Statistics are read once per transaction unless the snapshot is dropped.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


# --- the version in force ----------------------------------------------------------------------------------


def test_the_version_in_force_is_the_latest_to_have_taken_effect():
    # Given versions taking effect in January and March, and one scheduled for May
    template = TariffTemplateFactory()
    january = version(template, 1, at(2026, 1, 1))
    march = version(template, 2, at(2026, 3, 1))
    may = version(template, 3, at(2026, 5, 1))

    # Then each instant is priced by the last to have taken effect by then
    assert tariff_version_in_force(template=template, at=at(2025, 12, 31, 23, 59)) is None
    assert tariff_version_in_force(template=template, at=at(2026, 1, 1)) == january
    assert tariff_version_in_force(template=template, at=at(2026, 2, 28, 23, 59, 59)) == january
    assert tariff_version_in_force(template=template, at=at(2026, 3, 1)) == march
    assert tariff_version_in_force(template=template, at=at(2026, 4, 30)) == march
    assert tariff_version_in_force(template=template, at=at(2026, 5, 1)) == may
    # and the template may be passed by its id
    assert tariff_version_in_force(template=template.pk, at=at(2026, 4, 30)) == march


def test_of_versions_taking_effect_together_the_higher_number_is_in_force():
    # Given a correction published for the same instant as the version it corrects
    template = TariffTemplateFactory()
    version(template, 1, at(2026, 3, 1))
    correction = version(template, 2, at(2026, 3, 1))

    assert tariff_version_in_force(template=template, at=at(2026, 3, 1)) == correction


def test_a_version_scheduled_before_a_later_numbered_one_is_in_force_in_between():
    # Given v2 scheduled for May, then v3 published to take effect sooner, in April
    template = TariffTemplateFactory()
    version(template, 1, at(2026, 1, 1))
    may = version(template, 2, at(2026, 5, 1))
    april = version(template, 3, at(2026, 4, 1))

    assert tariff_version_in_force(template=template, at=at(2026, 4, 15)) == april
    assert tariff_version_in_force(template=template, at=at(2026, 5, 15)) == may
    assert tariff_version_latest(template=template) == april
    assert list(tariff_versions_scheduled(template=template, at=at(2026, 3, 1))) == [april, may]


def test_the_versions_of_other_templates_are_not_in_force():
    template = TariffTemplateFactory()
    version(TariffTemplateFactory(), 1, at(2026, 1, 1))

    assert tariff_version_in_force(template=template, at=NOW) is None
    assert tariff_version_latest(template=template) is None


# A template whose price changes at 08:00 on 10 March: 0.65 + 0.40 before, 0.80 + 0.50 after.
CHANGE_AT = at(2026, 3, 10, 8, 0)


@pytest.mark.parametrize(
    ("started_at", "number", "electricity_fen", "service_fen"),
    [
        # 12 kWh: 12_000 × 6500 / 100_000 = 780 fen, 12_000 × 4000 / 100_000 = 480 fen, all at the old price
        (at(2026, 3, 10, 7, 30), 1, 780, 480),
        (at(2026, 3, 10, 7, 59, 59), 1, 780, 480),
        # From the instant of the change: 12_000 × 8000 / 100_000 = 960, 12_000 × 5000 / 100_000 = 600
        (CHANGE_AT, 2, 960, 600),
        (at(2026, 3, 10, 8, 1), 2, 960, 600),
    ],
)
def test_a_session_is_priced_whole_by_the_version_in_force_when_it_started(
    started_at, number, electricity_fen, service_fen
):
    # Given a template whose price rises at 08:00
    template = TariffTemplateFactory()
    version(template, 1, at(2026, 1, 1), flat(6500, 4000))
    version(template, 2, CHANGE_AT, flat(8000, 5000))

    # And a 50-minute session of 12 kWh, priced by the version in force at its start, read twice on the way
    order = OrderFactory(
        connector__charger__station__tariff_template=template,
        tariff_version=tariff_version_in_force(template=template, at=started_at),
        started_at=started_at,
        ended_at=started_at + dt.timedelta(minutes=50),
        charge_seconds=3000,
        energy_wh=12_000,
    )
    OrderSampleFactory(order=order, device_time=started_at + dt.timedelta(minutes=20), energy_wh=5_000)
    OrderSampleFactory(order=order, device_time=started_at + dt.timedelta(minutes=40), energy_wh=10_000)

    # When it is priced
    breakdown = order_price_breakdown(order=order)

    # Then every kWh, also those after 08:00, is at the prices of that one version
    assert order.tariff_version.number == number
    assert breakdown.energy_wh == 12_000
    assert {line.kind for line in breakdown.lines} == {LineKind.PERIOD}
    assert (breakdown.electricity_fen, breakdown.service_fen, breakdown.total_fen) == (
        electricity_fen,
        service_fen,
        electricity_fen + service_fen,
    )


# --- renumbering ---------------------------------------------------------------------------------------------


def test_renumbering_puts_periods_in_order_of_time_from_1():
    # Given periods stored with positions that follow neither time nor each other
    template = TariffTemplateFactory()
    evening = PeriodFactory(template=template, position=2, start_minute=1080, end_minute=1440)
    night = PeriodFactory(template=template, position=7, start_minute=0, end_minute=480)
    day = PeriodFactory(template=template, position=3, start_minute=480, end_minute=1080)
    other = PeriodFactory(position=2)

    # When the template is renumbered
    tariff_template_renumber(template=template)

    # Then its rows are 1, 2, 3 by time, and another template's rows are left alone
    positions = dict(template.details.values_list("pk", "position"))
    assert positions == {night.pk: 1, day.pk: 2, evening.pk: 3}
    other.refresh_from_db()
    assert other.position == 2


def test_renumbering_puts_power_tiers_in_order_of_power():
    template = TariffTemplateFactory(kind="ebike")
    high = PowerTierFactory(template=template, position=1, power_upper_w=600)
    low = PowerTierFactory(template=template, position=2, power_upper_w=150)
    middle = PowerTierFactory(template=template, position=3, power_upper_w=300)

    tariff_template_renumber(template=template)

    assert list(template.details.order_by("position").values_list("pk", flat=True)) == [low.pk, middle.pk, high.pk]


def test_renumbering_a_template_without_rows_does_nothing():
    template = TariffTemplateFactory()

    tariff_template_renumber(template=template)

    assert not template.details.exists()


# --- what changed ---------------------------------------------------------------------------------------------

BEFORE = Tariff(
    kind="ev",
    periods=(
        Period(0, 480, "valley", 3000, 4000),
        Period(480, 1380, "peak", 10_000, 6000),
        Period(1380, 1440, "valley", 3000, 4000),
    ),
    free_charge_seconds=0,
    min_balance_fen=500,
)


def test_the_same_tariff_has_no_changes():
    assert tariff_changes(BEFORE, Tariff.from_content(BEFORE.to_content())) == []


def test_a_price_edit_reads_as_that_period_changed():
    after = Tariff(
        kind="ev",
        periods=(BEFORE.periods[0], Period(480, 1380, "peak", 10_000, 8000), BEFORE.periods[2]),
        free_charge_seconds=600,
        min_balance_fen=1000,
    )

    with override("en"):
        changes = tariff_changes(BEFORE, after)

    assert changes == [
        Change("free charging time", "0:00:00", "0:10:00"),
        Change("minimum balance (yuan)", "5.00", "10.00"),
        Change(
            "period 08:00–23:00",
            "Peak, electricity 1.0000, service 0.6000 yuan/kWh",
            "Peak, electricity 1.0000, service 0.8000 yuan/kWh",
        ),
    ]


def test_a_moved_boundary_reads_as_periods_removed_and_added():
    after = Tariff(
        kind="ev",
        periods=(
            Period(0, 420, "valley", 3000, 4000),
            Period(420, 1380, "peak", 10_000, 6000),
            BEFORE.periods[2],
        ),
        min_balance_fen=500,
    )

    with override("en"):
        changes = tariff_changes(BEFORE, after)

    valley = "Valley, electricity 0.3000, service 0.4000 yuan/kWh"
    peak = "Peak, electricity 1.0000, service 0.6000 yuan/kWh"
    assert changes == [
        Change("period 00:00–07:00", "", valley),
        Change("period 00:00–08:00", valley, ""),
        Change("period 07:00–23:00", "", peak),
        Change("period 08:00–23:00", peak, ""),
    ]


def test_a_vehicle_kind_change_reads_in_words():
    after = Tariff(kind="ebike", periods=BEFORE.periods, min_balance_fen=BEFORE.min_balance_fen)

    with override("en"):
        changes = tariff_changes(BEFORE, after)

    assert changes == [Change("vehicle kind", "Electric vehicle", "E-bike")]


def test_tier_changes_are_matched_by_their_upper_bound():
    before = Tariff(
        kind="ebike",
        tiers=(PowerTier(300, 5000, 0), PowerTier(600, 7000, 0)),
        max_pay_fen=500,
    )
    after = Tariff(
        kind="ebike",
        tiers=(PowerTier(300, 5000, 0), PowerTier(600, 7500, 0, unit_seconds=7200), PowerTier(1000, 9000, 0)),
        max_pay_fen=500,
        refundable=False,
    )

    with override("en"):
        changes = tariff_changes(before, after)

    assert changes == [
        Change("refundable", "yes", "no"),
        Change(
            "tier ≤ 600 W",
            "electricity 0.7000, service 0.0000 yuan per 1:00:00",
            "electricity 0.7500, service 0.0000 yuan per 2:00:00",
        ),
        Change("tier ≤ 1000 W", "", "electricity 0.9000, service 0.0000 yuan per 1:00:00"),
    ]
