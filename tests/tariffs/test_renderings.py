"""What every party's rendering of a tariff shares: rows in the operator's order with their labels, exact
conversions of our units, and the refusal an operator reads."""

import pytest
from django.utils.translation import override

from backoffice.errors import REFUSALS, DomainError, error_message
from tariffs.pricing import Period, PowerTier, Tariff
from tariffs.renderings import (
    TariffRenderError,
    exact_fen,
    exact_fen_per_hour,
    exact_quotient,
    periods_in_day_order,
    require_rows,
    tiers_in_power_order,
)
from tests.tariffs.builders import hm


@pytest.mark.parametrize(("numerator", "denominator", "quotient"), [(10, 5, 2), (0, 7, 0), (10, 3, None)])
def test_an_exact_quotient_is_a_whole_number_or_nothing(numerator, denominator, quotient):
    assert exact_quotient(numerator, denominator) == quotient


@pytest.mark.parametrize(("price_e4", "fen"), [(0, 0), (6500, 65), (100_000, 1000), (6523, None), (1, None)])
def test_a_price_is_whole_fen_only_when_no_digit_is_lost(price_e4, fen):
    assert exact_fen(price_e4) == fen


@pytest.mark.parametrize(
    ("price_e4", "unit_seconds", "fen"),
    [
        (4000, 3600, 40),
        (2000, 1800, 40),  # 0.2000 yuan per 30 minutes
        (8000, 14_400, 20),  # 0.8000 yuan per 4 hours
        (100, 90, 40),  # 0.0100 yuan per 90 s
        (4050, 3600, None),
        (1000, 7, None),  # 514.28... fen per hour
    ],
)
def test_a_price_per_charge_unit_is_whole_fen_per_hour_or_nothing(price_e4, unit_seconds, fen):
    assert exact_fen_per_hour(price_e4, unit_seconds) == fen


def test_the_conversions_give_ints():
    assert type(exact_fen(6500)) is int
    assert type(exact_fen_per_hour(2000, 1800)) is int


def test_periods_come_in_day_order_with_their_labels():
    late = Period(hm(12), hm(24), "peak", 6500, 0)
    early = Period(hm(0), hm(12), "valley", 3500, 0)

    with override("en"):
        rows = periods_in_day_order(Tariff(kind="ev", periods=(late, early)))

    assert rows == [("period 00:00–12:00", early), ("period 12:00–24:00", late)]


def test_tiers_come_in_power_order_with_their_labels():
    high = PowerTier(power_upper_w=400, electricity_price_e4=5000, service_price_e4=0)
    low = PowerTier(power_upper_w=200, electricity_price_e4=4000, service_price_e4=0)

    with override("en"):
        rows = tiers_in_power_order(Tariff(kind="ebike", tiers=(high, low)))

    assert rows == [("tier ≤ 200 W", low), ("tier ≤ 400 W", high)]


def test_a_tariff_without_rows_is_refused():
    with override("en"), pytest.raises(TariffRenderError) as caught:
        require_rows(Tariff(kind="ev"))

    assert str(caught.value) == "The tariff has neither periods nor power tiers: add at least one row."


@pytest.mark.parametrize(
    "tariff",
    [
        Tariff(kind="ev", periods=(Period(0, hm(24), "plain", 6500, 0),)),
        Tariff(kind="ebike", tiers=(PowerTier(power_upper_w=200, electricity_price_e4=4000, service_price_e4=0),)),
    ],
)
def test_a_tariff_with_a_period_or_a_tier_has_rows(tariff):
    require_rows(tariff)


def test_a_render_error_is_a_domain_error_the_admin_and_the_api_catch():
    error = TariffRenderError("%(row)s cannot be sent.", row="period 00:00–24:00")

    assert isinstance(error, DomainError)
    assert isinstance(error, REFUSALS)
    assert error.message == "period 00:00–24:00 cannot be sent."
    assert error_message(error) == "period 00:00–24:00 cannot be sent."


def test_a_render_error_is_translated_into_the_language_active_when_it_is_raised():
    with override("zh-hans"), pytest.raises(TariffRenderError) as caught:
        require_rows(Tariff(kind="ebike"))

    assert str(caught.value) == "该费率既没有时段也没有功率档：请至少添加一行。"
