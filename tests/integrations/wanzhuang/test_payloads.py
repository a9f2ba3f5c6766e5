"""The tariff fields of Wanzhuang's saveMode form, mode by mode against the spec."""

import pytest
from django.utils.translation import override

from integrations.wanzhuang.payloads import charge_mode_for, device_settings_fields, save_mode_fields
from tariffs.pricing import Period, PowerTier, Tariff
from tariffs.renderings import TariffRenderError
from tests.tariffs.builders import ebike_periods, ebike_tiers, ev, flat_day, hm

ONE_TIER = (PowerTier(power_upper_w=800, electricity_price_e4=3000, service_price_e4=2000),)
# 150/300/450/600 W at 0.40/0.50/0.60/0.70 yuan per hour.
FOUR_TIERS = (
    PowerTier(power_upper_w=150, electricity_price_e4=4000, service_price_e4=0),
    PowerTier(power_upper_w=300, electricity_price_e4=5000, service_price_e4=0),
    PowerTier(power_upper_w=450, electricity_price_e4=6000, service_price_e4=0),
    PowerTier(power_upper_w=600, electricity_price_e4=7000, service_price_e4=0),
)
EBIKE_SETTINGS = {"start_fee_fen": 100, "max_pay_fen": 1000, "refundable": True, "free_charging": False}


def render_error(render, *args, **kwargs):
    with override("en"), pytest.raises(TariffRenderError) as caught:
        render(*args, **kwargs)
    return str(caught.value)


def test_time_mode_renders_an_hourly_price_and_the_tier_as_max_power():
    tariff = ebike_tiers(ONE_TIER, **EBIKE_SETTINGS)

    assert save_mode_fields(tariff, charge_mode=0) == {
        "charge_mode": 0,
        "start_fee": 100,
        "max_pay_fee": 1000,
        "whether_refund": 1,
        "is_free_charge": 0,
        "charge_type": "fixed",
        "charge_value": "[50]",
        "max_power": 800,
    }


def test_time_mode_scales_a_charge_unit_to_the_hour():
    # 0.2500 yuan per 30 minutes is 50 fen per hour
    tier = PowerTier(power_upper_w=800, electricity_price_e4=1500, service_price_e4=1000, unit_seconds=1800)

    form = save_mode_fields(ebike_tiers([tier]), charge_mode=0)

    assert form["charge_value"] == "[50]"


def test_time_mode_2_renders_one_level_of_the_charge_unit():
    tier = PowerTier(power_upper_w=600, electricity_price_e4=1500, service_price_e4=500, unit_seconds=14_400)
    tariff = ebike_tiers([tier], start_fee_fen=50, max_pay_fen=800, refundable=False, free_charging=True)

    assert save_mode_fields(tariff, charge_mode=7) == {
        "charge_mode": 7,
        "start_fee": 50,
        "whether_refund": 0,
        "is_free_charge": 1,
        "charge_type": "fixed",
        "payment_value": "[20]",
        "time_value": "[14400]",
        "max_power": 600,
    }


@pytest.mark.parametrize(("price_e4", "unit_seconds"), [(100, 60), (100_000, 43_200)])
def test_time_mode_2_accepts_the_bounds_of_the_spec(price_e4, unit_seconds):
    tier = PowerTier(power_upper_w=600, electricity_price_e4=price_e4, service_price_e4=0, unit_seconds=unit_seconds)

    form = save_mode_fields(ebike_tiers([tier]), charge_mode=7)

    assert form["payment_value"] == f"[{price_e4 // 100}]"
    assert form["time_value"] == f"[{unit_seconds}]"


@pytest.mark.parametrize("price_e4", [0, 100_100])
def test_time_mode_2_refuses_a_level_price_outside_the_spec(price_e4):
    tier = PowerTier(power_upper_w=600, electricity_price_e4=price_e4, service_price_e4=0)

    message = render_error(save_mode_fields, ebike_tiers([tier]), charge_mode=7)

    assert "0.01 to 10.00 yuan per charge unit" in message
    assert "tier ≤ 600 W costs" in message


@pytest.mark.parametrize("unit_seconds", [59, 43_201])
def test_time_mode_2_refuses_a_charge_unit_outside_the_spec(unit_seconds):
    tier = PowerTier(power_upper_w=600, electricity_price_e4=500, service_price_e4=0, unit_seconds=unit_seconds)

    message = render_error(save_mode_fields, ebike_tiers([tier]), charge_mode=7)

    assert f"tier ≤ 600 W has a charge unit of {unit_seconds} s" in message


def test_time_mode_2_refuses_a_unit_price_below_the_fen():
    tier = PowerTier(power_upper_w=600, electricity_price_e4=505, service_price_e4=0, unit_seconds=600)

    message = render_error(save_mode_fields, ebike_tiers([tier]), charge_mode=7)

    assert "tier ≤ 600 W costs 0.0505 yuan (electricity + service) per 600 s" in message
    assert "multiple of 0.01 yuan" in message


@pytest.mark.parametrize("charge_mode", [0, 7])
def test_time_modes_refuse_several_tiers_and_point_to_power_modes(charge_mode):
    message = render_error(save_mode_fields, ebike_tiers(FOUR_TIERS), charge_mode=charge_mode)

    assert f"mode {charge_mode} has one price for every power: this tariff has 4 power tiers" in message
    assert "Use power mode 2 or 9" in message


@pytest.mark.parametrize("charge_mode", [0, 2, 7, 9])
def test_time_and_power_modes_refuse_a_tariff_priced_by_energy(charge_mode):
    message = render_error(save_mode_fields, ebike_periods(flat_day(6500)), charge_mode=charge_mode)

    assert f"charge mode {charge_mode} prices by charging time" in message
    assert "Use energy mode 1 or 8" in message


def test_time_mode_refuses_an_hourly_price_below_the_fen():
    tier = PowerTier(power_upper_w=800, electricity_price_e4=3000, service_price_e4=2050)

    message = render_error(save_mode_fields, ebike_tiers([tier]), charge_mode=0)

    assert "tier ≤ 800 W costs 0.5050 yuan (electricity + service) per 3600 s of charging" in message


def test_energy_mode_sends_whole_fen_as_work_charge():
    tariff = ebike_periods(flat_day(6000, 1000), **EBIKE_SETTINGS)

    assert save_mode_fields(tariff, charge_mode=1) == {
        "charge_mode": 1,
        "start_fee": 100,
        "max_pay_fee": 1000,
        "whether_refund": 1,
        "is_free_charge": 0,
        "work_charge": 70,
    }


def test_energy_mode_sends_a_four_digit_price_alone():
    tariff = ebike_periods(flat_day(6523, 1000), **EBIKE_SETTINGS)

    assert save_mode_fields(tariff, charge_mode=1) == {
        "charge_mode": 1,
        "start_fee": 100,
        "max_pay_fee": 1000,
        "whether_refund": 1,
        "is_free_charge": 0,
        "work_charge_fourdigit": 7523,
    }


def test_energy_mode_2_has_no_max_pay_fee_and_no_prepay_levels():
    tariff = ebike_periods(flat_day(6000, 1000), **EBIKE_SETTINGS)

    assert save_mode_fields(tariff, charge_mode=8) == {
        "charge_mode": 8,
        "start_fee": 100,
        "whether_refund": 1,
        "is_free_charge": 0,
        "work_charge": 70,
    }


def test_energy_mode_2_sends_a_four_digit_price_alone():
    tariff = ebike_periods(flat_day(6001), **EBIKE_SETTINGS)

    form = save_mode_fields(tariff, charge_mode=8)

    assert form["work_charge_fourdigit"] == 6001
    assert "work_charge" not in form


def test_energy_modes_take_one_price_made_of_equal_period_totals():
    # Different splits, same total: one price per kWh across the day.
    periods = [Period(hm(0), hm(8), "valley", 3000, 4000), Period(hm(8), hm(24), "peak", 5000, 2000)]

    form = save_mode_fields(ebike_periods(periods, max_pay_fen=3000), charge_mode=1)

    assert form["work_charge"] == 70


@pytest.mark.parametrize("charge_mode", [1, 8])
def test_energy_modes_refuse_prices_that_change_over_the_day(charge_mode):
    periods = [
        Period(hm(0), hm(8), "valley", 3000, 4000),
        Period(hm(8), hm(12), "plain", 3000, 4000),
        Period(hm(12), hm(18), "peak", 4000, 4000),
        Period(hm(18), hm(24), "valley", 5000, 4000),
    ]

    message = render_error(save_mode_fields, ebike_periods(periods, max_pay_fen=3000), charge_mode=charge_mode)

    assert "period 12:00–18:00 costs 0.8000 yuan per kWh" in message
    assert "period 00:00–08:00 costs 0.7000 yuan" in message


@pytest.mark.parametrize("charge_mode", [1, 8])
def test_energy_modes_refuse_a_tariff_priced_by_power(charge_mode):
    message = render_error(save_mode_fields, ebike_tiers(ONE_TIER, max_pay_fen=3000), charge_mode=charge_mode)

    assert f"charge mode {charge_mode} prices by energy: this tariff is priced by power tiers" in message


@pytest.mark.parametrize("charge_mode", [1, 8])
def test_energy_modes_need_a_maximum_payment(charge_mode):
    message = render_error(save_mode_fields, ebike_periods(flat_day(7000), max_pay_fen=0), charge_mode=charge_mode)

    assert "this tariff has no maximum payment. Set one between 0.01 and 30.00 yuan." in message


@pytest.mark.parametrize("charge_mode", [1, 8])
def test_energy_modes_refuse_a_maximum_payment_above_30_yuan(charge_mode):
    tariff = ebike_periods(flat_day(7000), max_pay_fen=3001)

    message = render_error(save_mode_fields, tariff, charge_mode=charge_mode)

    assert "this tariff's maximum payment is 30.01 yuan. Lower it to 30.00 yuan or less." in message


@pytest.mark.parametrize("max_pay_fen", [1, 3000])
def test_energy_modes_accept_a_maximum_payment_up_to_30_yuan(max_pay_fen):
    form = save_mode_fields(ebike_periods(flat_day(7000), max_pay_fen=max_pay_fen), charge_mode=1)

    assert form["max_pay_fee"] == max_pay_fen


@pytest.mark.parametrize("charge_mode", [2, 9])
def test_power_modes_render_tiers_in_power_order_as_hourly_fen(charge_mode):
    tiers = [
        PowerTier(power_upper_w=400, electricity_price_e4=5000, service_price_e4=1000),
        PowerTier(power_upper_w=200, electricity_price_e4=2000, service_price_e4=500, unit_seconds=1800),
        PowerTier(power_upper_w=1000, electricity_price_e4=32_000, service_price_e4=0, unit_seconds=14_400),
    ]
    tariff = ebike_tiers(tiers, **EBIKE_SETTINGS)

    assert save_mode_fields(tariff, charge_mode=charge_mode) == {
        "charge_mode": charge_mode,
        "start_fee": 100,
        "whether_refund": 1,
        "is_free_charge": 0,
        "power_value": "[200,400,1000]",
        "price_value": "[50,60,80]",
        "type": 0,
        "max_power": 1000,
    }


def test_power_mode_refuses_an_hourly_price_below_the_fen_and_names_the_tier():
    tiers = [
        PowerTier(power_upper_w=200, electricity_price_e4=4000, service_price_e4=0),
        PowerTier(power_upper_w=400, electricity_price_e4=4000, service_price_e4=55),
    ]

    message = render_error(save_mode_fields, ebike_tiers(tiers), charge_mode=2)

    assert "tier ≤ 400 W costs 0.4055 yuan (electricity + service) per 3600 s of charging" in message


def test_form_values_are_ints_or_strings():
    forms = [
        save_mode_fields(ebike_tiers(ONE_TIER), charge_mode=0),
        save_mode_fields(ebike_tiers(ONE_TIER), charge_mode=7),
        save_mode_fields(ebike_periods(flat_day(7000), max_pay_fen=3000), charge_mode=1),
        save_mode_fields(ebike_tiers(FOUR_TIERS), charge_mode=9),
    ]

    for form in forms:
        assert all(type(value) in (int, str) for value in form.values())


@pytest.mark.parametrize("charge_mode", [-1, 3, 10, 12])
def test_refuses_an_unknown_charge_mode(charge_mode):
    message = render_error(save_mode_fields, ebike_tiers(ONE_TIER), charge_mode=charge_mode)

    assert message == f"Wanzhuang has no charge mode {charge_mode}: use charge mode 0, 1, 2, 7, 8, 9 or 11."


def test_the_car_energy_mode_sends_the_energy_price_without_the_ebike_cap():
    fields = save_mode_fields(ev(flat_day(6500, 4000), max_pay_fen=20_000), charge_mode=11)

    # 0.65 + 0.40 yuan/kWh is 105 fen per kWh; 200 yuan is above the e-bike energy modes' 30.
    assert fields == {"charge_mode": 11, "start_fee": 0, "max_pay_fee": 20_000, "whether_refund": 1,
                      "is_free_charge": 0, "work_charge": 105}


def test_refuses_a_tariff_without_rows():
    message = render_error(save_mode_fields, Tariff(kind="ebike"), charge_mode=2)

    assert message == "The tariff has neither periods nor power tiers: add at least one row."


# --- the charge mode a device takes, and its settings ------------------------------------------------------


@pytest.mark.parametrize(
    ("device_type", "tariff", "mode"),
    [
        (2, "periods", 1), (3, "periods", 1), (8, "periods", 8), (1, "periods", 8),
        (2, "tiers", 2), (8, "tiers", 9), (6, "tiers", 9),
        (2, "one tier", 2), (8, "one tier", 9), (0, "one tier", 0), (3, "one tier", 0),
        (12, "periods", 11), (13, "periods", 11),
    ],
)
def test_a_device_without_a_chosen_mode_takes_the_one_its_type_and_tariff_fit(device_type, tariff, mode):
    tariffs = {"periods": ebike_periods(flat_day(6000)), "tiers": ebike_tiers(FOUR_TIERS),
               "one tier": ebike_tiers(ONE_TIER)}

    assert charge_mode_for(tariffs[tariff], device_type=device_type) == mode


@pytest.mark.parametrize(("device_type", "tariff"), [(0, "periods"), (0, "tiers"), (3, "tiers"), (None, "tiers")])
def test_a_device_type_with_no_mode_for_the_tariff_is_refused_with_what_to_do(device_type, tariff):
    tariffs = {"periods": ebike_periods(flat_day(6000)), "tiers": ebike_tiers(FOUR_TIERS)}

    message = render_error(charge_mode_for, tariffs[tariff], device_type=device_type)

    assert f"type {device_type}" in message
    assert "Wanzhuang device settings" in message


def test_the_device_settings_are_sent_as_the_form_takes_them():
    from integrations.wanzhuang.models import DeviceSettings

    fields = device_settings_fields(DeviceSettings(is_not_disturb=True, not_disturb_volume=3, display_delay=5))

    assert fields == {
        "is_not_disturb": "1", "not_disturb_start": "22:00", "not_disturb_end": "07:00", "not_disturb_volume": 3,
        "is_outage": 0, "auto_off_wait_time": 60, "auto_off_lower_power": 10, "floating_charge_time": "0",
        "floating_charge_power": 0, "detect_time": 0, "check_time": 60, "inc_time": 0, "count_mode": 0,
        "display_delay": "5",
    }


def test_a_tariff_with_free_charging_time_is_refused_since_no_mode_carries_it():
    message = render_error(save_mode_fields, ebike_tiers(ONE_TIER, free_charge_seconds=180), charge_mode=2)

    assert "first 180 s" in message
    assert "without free charging time" in message
