"""A tariff version rendered into each outside party's documented structure, field by field against the specs:
Tomda §4.3.2 (elecFeeModelInfo), Wanzhuang saveMode, the partner interface's StubInfo fee texts."""

import pytest
from django.utils.translation import override

from tariffs.pricing import Period, PowerTier, Tariff
from tariffs.renderings import (
    TariffRenderError,
    partner_fee_descriptions,
    tomda_fee_model,
    wanzhuang_save_mode,
)


def hm(hours, minutes=0):
    return hours * 60 + minutes


def ev(periods, **settings):
    return Tariff(kind="ev", periods=tuple(periods), **settings)


def ebike_tiers(tiers, **settings):
    return Tariff(kind="ebike", tiers=tuple(tiers), **settings)


def ebike_periods(periods, **settings):
    return Tariff(kind="ebike", periods=tuple(periods), **settings)


def flat_day(price_e4, service_e4=0):
    return (Period(0, hm(24), "plain", price_e4, service_e4),)


# A 尖峰平谷 day of nine periods, prices in whole fen per kWh; one period ends on the half hour.
NINE_PERIODS = (
    Period(hm(0), hm(7), "valley", 3500, 4000),
    Period(hm(7), hm(10), "plain", 6500, 6000),
    Period(hm(10), hm(11), "peak", 10_000, 6000),
    Period(hm(11), hm(13), "cusp", 12_000, 6000),
    Period(hm(13), hm(14, 30), "peak", 10_000, 6000),
    Period(hm(14, 30), hm(17), "plain", 6500, 6000),
    Period(hm(17), hm(19), "cusp", 12_000, 6000),
    Period(hm(19), hm(23), "peak", 10_000, 6000),
    Period(hm(23), hm(24), "valley", 3500, 4000),
)

NINE_PERIOD_DETAILS = [
    {"endValueOne": 7, "endValueTwo": 0, "elecFee": 35, "serviceFee": 40, "elecInterval": "VALLEY", "position": 1},
    {"endValueOne": 10, "endValueTwo": 0, "elecFee": 65, "serviceFee": 60, "elecInterval": "PLAIN", "position": 2},
    {"endValueOne": 11, "endValueTwo": 0, "elecFee": 100, "serviceFee": 60, "elecInterval": "PEAK", "position": 3},
    {"endValueOne": 13, "endValueTwo": 0, "elecFee": 120, "serviceFee": 60, "elecInterval": "CUSP", "position": 4},
    {"endValueOne": 14, "endValueTwo": 30, "elecFee": 100, "serviceFee": 60, "elecInterval": "PEAK", "position": 5},
    {"endValueOne": 17, "endValueTwo": 0, "elecFee": 65, "serviceFee": 60, "elecInterval": "PLAIN", "position": 6},
    {"endValueOne": 19, "endValueTwo": 0, "elecFee": 120, "serviceFee": 60, "elecInterval": "CUSP", "position": 7},
    {"endValueOne": 23, "endValueTwo": 0, "elecFee": 100, "serviceFee": 60, "elecInterval": "PEAK", "position": 8},
    {"endValueOne": 24, "endValueTwo": 0, "elecFee": 35, "serviceFee": 40, "elecInterval": "VALLEY", "position": 9},
]

# The e-bike template of Tomda's stationInfo example: 150/300/450/600 W at 40/50/60/70 fen, 180 s free.
TOMDA_EXAMPLE_TIERS = (
    PowerTier(power_upper_w=150, electricity_price_e4=4000, service_price_e4=0),
    PowerTier(power_upper_w=300, electricity_price_e4=5000, service_price_e4=0),
    PowerTier(power_upper_w=450, electricity_price_e4=6000, service_price_e4=0),
    PowerTier(power_upper_w=600, electricity_price_e4=7000, service_price_e4=0),
)


def render_error(render, *args, **kwargs):
    with override("en"), pytest.raises(TariffRenderError) as caught:
        render(*args, **kwargs)
    return str(caught.value)


# --- Tomda §4.3.2 --------------------------------------------------------------------------------------


def test_tomda_ebike_tiers_render_the_spec_example_exactly():
    tariff = ebike_tiers(TOMDA_EXAMPLE_TIERS, free_charge_seconds=180)

    model = tomda_fee_model(tariff, external_id="tpl-7", name="E-bike standard")

    assert model == {
        "clientElecFeeModelId": "tpl-7",
        "modelName": "E-bike standard",
        "modelType": 2,
        "freeChargeTime": 180,
        "modelDetailCount": 4,
        "elecFeeModelDetail": [
            {"endValueOne": 150, "elecFee": 40, "serviceFee": 0, "position": 1},
            {"endValueOne": 300, "elecFee": 50, "serviceFee": 0, "position": 2},
            {"endValueOne": 450, "elecFee": 60, "serviceFee": 0, "position": 3},
            {"endValueOne": 600, "elecFee": 70, "serviceFee": 0, "position": 4},
        ],
    }


def test_tomda_ebike_tiers_are_scaled_to_fen_per_hour_and_sent_in_power_order():
    # 0.2000 yuan per 30 minutes is 40 fen per hour; 0.8000 yuan per 4 hours is 20 fen per hour.
    tariff = ebike_tiers(
        [
            PowerTier(power_upper_w=400, electricity_price_e4=8000, service_price_e4=2000, unit_seconds=14_400),
            PowerTier(power_upper_w=200, electricity_price_e4=2000, service_price_e4=500, unit_seconds=1800),
        ]
    )

    details = tomda_fee_model(tariff, external_id="x", name="x")["elecFeeModelDetail"]

    assert details == [
        {"endValueOne": 200, "elecFee": 40, "serviceFee": 10, "position": 1},
        {"endValueOne": 400, "elecFee": 20, "serviceFee": 5, "position": 2},
    ]


def test_tomda_ev_nine_periods_render_each_row_with_its_end_time_and_interval():
    tariff = ev(NINE_PERIODS, free_charge_seconds=300, min_balance_fen=2000)

    model = tomda_fee_model(tariff, external_id="ev-1", name="尖峰平谷 2025")

    assert model == {
        "clientElecFeeModelId": "ev-1",
        "modelName": "尖峰平谷 2025",
        "modelType": 1,
        "freeChargeTime": 300,
        "limitCheckBalance": 2000,
        "modelDetailCount": 9,
        "elecFeeModelDetail": NINE_PERIOD_DETAILS,
    }


def test_tomda_ev_periods_stored_out_of_order_are_sent_in_day_order():
    tariff = ev(reversed(NINE_PERIODS))

    details = tomda_fee_model(tariff, external_id="x", name="x")["elecFeeModelDetail"]

    assert details == NINE_PERIOD_DETAILS


def test_tomda_amounts_are_integers():
    model = tomda_fee_model(ev(NINE_PERIODS), external_id="x", name="x")

    for detail in model["elecFeeModelDetail"]:
        assert all(type(detail[key]) is int for key in ("endValueOne", "endValueTwo", "elecFee", "serviceFee"))


def test_tomda_refuses_an_electricity_price_below_the_fen():
    periods = [
        Period(hm(0), hm(6), "valley", 3500, 0),
        Period(hm(6), hm(8), "plain", 6500, 0),
        Period(hm(8), hm(12), "peak", 6523, 0),
        Period(hm(12), hm(24), "plain", 6500, 0),
    ]

    message = render_error(tomda_fee_model, ev(periods), external_id="x", name="x")

    assert message.startswith(
        "Tomda takes prices in whole fen per kWh: period 08:00–12:00 has an electricity price of 0.6523 yuan"
    )
    assert "multiple of 0.01 yuan" in message


def test_tomda_refuses_a_service_price_below_the_fen():
    periods = [Period(hm(0), hm(12), "valley", 3500, 4000), Period(hm(12), hm(24), "peak", 6500, 4001)]

    message = render_error(tomda_fee_model, ev(periods), external_id="x", name="x")

    assert "period 12:00–24:00 has a service price of 0.4001 yuan" in message


def test_tomda_names_the_row_as_stored_not_as_sent():
    periods = [Period(hm(12), hm(24), "peak", 6550, 0), Period(hm(0), hm(12), "valley", 3500, 0)]

    message = render_error(tomda_fee_model, ev(periods), external_id="x", name="x")

    assert "period 12:00–24:00 has an electricity price of 0.6550 yuan" in message


@pytest.mark.parametrize(
    ("tier", "price"),
    [
        (PowerTier(power_upper_w=400, electricity_price_e4=4050, service_price_e4=0), "0.4050"),
        # 0.1000 yuan per 7 s is 514.28... fen per hour
        (PowerTier(power_upper_w=400, electricity_price_e4=1000, service_price_e4=0, unit_seconds=7), "0.1000"),
    ],
)
def test_tomda_refuses_an_ebike_electricity_price_that_is_not_whole_fen_per_hour(tier, price):
    tariff = ebike_tiers([PowerTier(power_upper_w=200, electricity_price_e4=4000, service_price_e4=0), tier])

    message = render_error(tomda_fee_model, tariff, external_id="x", name="x")

    assert f"tier ≤ 400 W has an electricity price of {price} yuan per {tier.unit_seconds} s" in message
    assert "not a whole number of fen per hour" in message


def test_tomda_refuses_an_ebike_service_price_that_is_not_whole_fen_per_hour():
    tariff = ebike_tiers([PowerTier(power_upper_w=200, electricity_price_e4=4000, service_price_e4=25)])

    message = render_error(tomda_fee_model, tariff, external_id="x", name="x")

    assert "tier ≤ 200 W has a service price of 0.0025 yuan per 3600 s" in message


def test_tomda_refuses_an_ebike_tariff_priced_by_energy():
    message = render_error(tomda_fee_model, ebike_periods(flat_day(6500)), external_id="x", name="x")

    assert "Tomda prices e-bikes by power tiers" in message
    assert "power tiers to push it to Tomda" in message


def test_tomda_refuses_an_ev_tariff_priced_by_power():
    tariff = Tariff(kind="ev", tiers=TOMDA_EXAMPLE_TIERS)

    message = render_error(tomda_fee_model, tariff, external_id="x", name="x")

    assert "Tomda prices electric vehicles by time-of-use periods" in message


def test_tomda_refuses_an_unknown_vehicle_kind():
    message = render_error(tomda_fee_model, Tariff(kind="bus", periods=flat_day(6500)), external_id="x", name="x")

    assert "choose the tariff's vehicle kind" in message


def test_tomda_refuses_a_template_without_rows():
    # modelDetailCount "必须大于 0"
    message = render_error(tomda_fee_model, Tariff(kind="ebike"), external_id="x", name="x")

    assert message == "The tariff has neither periods nor power tiers: add at least one row."


# --- Wanzhuang saveMode --------------------------------------------------------------------------------

ONE_TIER = (PowerTier(power_upper_w=800, electricity_price_e4=3000, service_price_e4=2000),)
EBIKE_SETTINGS = {"start_fee_fen": 100, "max_pay_fen": 1000, "refundable": True, "free_charging": False}


def test_wanzhuang_time_mode_renders_an_hourly_price_and_the_tier_as_max_power():
    tariff = ebike_tiers(ONE_TIER, **EBIKE_SETTINGS)

    assert wanzhuang_save_mode(tariff, charge_mode=0) == {
        "charge_mode": 0,
        "start_fee": 100,
        "max_pay_fee": 1000,
        "whether_refund": 1,
        "is_free_charge": 0,
        "charge_type": "fixed",
        "charge_value": "[50]",
        "max_power": 800,
    }


def test_wanzhuang_time_mode_scales_a_charge_unit_to_the_hour():
    # 0.2500 yuan per 30 minutes is 50 fen per hour
    tier = PowerTier(power_upper_w=800, electricity_price_e4=1500, service_price_e4=1000, unit_seconds=1800)

    form = wanzhuang_save_mode(ebike_tiers([tier]), charge_mode=0)

    assert form["charge_value"] == "[50]"


def test_wanzhuang_time_mode_2_renders_one_level_of_the_charge_unit():
    tier = PowerTier(power_upper_w=600, electricity_price_e4=1500, service_price_e4=500, unit_seconds=14_400)
    tariff = ebike_tiers([tier], start_fee_fen=50, max_pay_fen=800, refundable=False, free_charging=True)

    assert wanzhuang_save_mode(tariff, charge_mode=7) == {
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
def test_wanzhuang_time_mode_2_accepts_the_bounds_of_the_spec(price_e4, unit_seconds):
    tier = PowerTier(power_upper_w=600, electricity_price_e4=price_e4, service_price_e4=0, unit_seconds=unit_seconds)

    form = wanzhuang_save_mode(ebike_tiers([tier]), charge_mode=7)

    assert form["payment_value"] == f"[{price_e4 // 100}]"
    assert form["time_value"] == f"[{unit_seconds}]"


@pytest.mark.parametrize("price_e4", [0, 100_100])
def test_wanzhuang_time_mode_2_refuses_a_level_price_outside_the_spec(price_e4):
    tier = PowerTier(power_upper_w=600, electricity_price_e4=price_e4, service_price_e4=0)

    message = render_error(wanzhuang_save_mode, ebike_tiers([tier]), charge_mode=7)

    assert "0.01 to 10.00 yuan per charge unit" in message
    assert "tier ≤ 600 W costs" in message


@pytest.mark.parametrize("unit_seconds", [59, 43_201])
def test_wanzhuang_time_mode_2_refuses_a_charge_unit_outside_the_spec(unit_seconds):
    tier = PowerTier(power_upper_w=600, electricity_price_e4=500, service_price_e4=0, unit_seconds=unit_seconds)

    message = render_error(wanzhuang_save_mode, ebike_tiers([tier]), charge_mode=7)

    assert f"tier ≤ 600 W has a charge unit of {unit_seconds} s" in message


def test_wanzhuang_time_mode_2_refuses_a_unit_price_below_the_fen():
    tier = PowerTier(power_upper_w=600, electricity_price_e4=505, service_price_e4=0, unit_seconds=600)

    message = render_error(wanzhuang_save_mode, ebike_tiers([tier]), charge_mode=7)

    assert "tier ≤ 600 W costs 0.0505 yuan (electricity + service) per 600 s" in message
    assert "multiple of 0.01 yuan" in message


@pytest.mark.parametrize("charge_mode", [0, 7])
def test_wanzhuang_time_modes_refuse_several_tiers_and_point_to_power_modes(charge_mode):
    message = render_error(wanzhuang_save_mode, ebike_tiers(TOMDA_EXAMPLE_TIERS), charge_mode=charge_mode)

    assert f"mode {charge_mode} has one price for every power: this tariff has 4 power tiers" in message
    assert "Use power mode 2 or 9" in message


@pytest.mark.parametrize("charge_mode", [0, 2, 7, 9])
def test_wanzhuang_time_and_power_modes_refuse_a_tariff_priced_by_energy(charge_mode):
    message = render_error(wanzhuang_save_mode, ebike_periods(flat_day(6500)), charge_mode=charge_mode)

    assert f"charge mode {charge_mode} prices by charging time" in message
    assert "Use energy mode 1 or 8" in message


def test_wanzhuang_time_mode_refuses_an_hourly_price_below_the_fen():
    tier = PowerTier(power_upper_w=800, electricity_price_e4=3000, service_price_e4=2050)

    message = render_error(wanzhuang_save_mode, ebike_tiers([tier]), charge_mode=0)

    assert "tier ≤ 800 W costs 0.5050 yuan (electricity + service) per 3600 s of charging" in message


def test_wanzhuang_energy_mode_sends_whole_fen_as_work_charge():
    tariff = ebike_periods(flat_day(6000, 1000), **EBIKE_SETTINGS)

    assert wanzhuang_save_mode(tariff, charge_mode=1) == {
        "charge_mode": 1,
        "start_fee": 100,
        "max_pay_fee": 1000,
        "whether_refund": 1,
        "is_free_charge": 0,
        "work_charge": 70,
    }


def test_wanzhuang_energy_mode_sends_a_four_digit_price_alone():
    tariff = ebike_periods(flat_day(6523, 1000), **EBIKE_SETTINGS)

    assert wanzhuang_save_mode(tariff, charge_mode=1) == {
        "charge_mode": 1,
        "start_fee": 100,
        "max_pay_fee": 1000,
        "whether_refund": 1,
        "is_free_charge": 0,
        "work_charge_fourdigit": 7523,
    }


def test_wanzhuang_energy_mode_2_has_no_max_pay_fee_and_no_prepay_levels():
    tariff = ebike_periods(flat_day(6000, 1000), **EBIKE_SETTINGS)

    assert wanzhuang_save_mode(tariff, charge_mode=8) == {
        "charge_mode": 8,
        "start_fee": 100,
        "whether_refund": 1,
        "is_free_charge": 0,
        "work_charge": 70,
    }


def test_wanzhuang_energy_mode_2_sends_a_four_digit_price_alone():
    tariff = ebike_periods(flat_day(6001), **EBIKE_SETTINGS)

    form = wanzhuang_save_mode(tariff, charge_mode=8)

    assert form["work_charge_fourdigit"] == 6001
    assert "work_charge" not in form


def test_wanzhuang_energy_modes_take_one_price_made_of_equal_period_totals():
    # Different splits, same total: one price per kWh across the day.
    periods = [Period(hm(0), hm(8), "valley", 3000, 4000), Period(hm(8), hm(24), "peak", 5000, 2000)]

    form = wanzhuang_save_mode(ebike_periods(periods, max_pay_fen=3000), charge_mode=1)

    assert form["work_charge"] == 70


@pytest.mark.parametrize("charge_mode", [1, 8])
def test_wanzhuang_energy_modes_refuse_prices_that_change_over_the_day(charge_mode):
    periods = [
        Period(hm(0), hm(8), "valley", 3000, 4000),
        Period(hm(8), hm(12), "plain", 3000, 4000),
        Period(hm(12), hm(18), "peak", 4000, 4000),
        Period(hm(18), hm(24), "valley", 5000, 4000),
    ]

    message = render_error(wanzhuang_save_mode, ebike_periods(periods, max_pay_fen=3000), charge_mode=charge_mode)

    assert "period 12:00–18:00 costs 0.8000 yuan per kWh" in message
    assert "period 00:00–08:00 costs 0.7000 yuan" in message


@pytest.mark.parametrize("charge_mode", [1, 8])
def test_wanzhuang_energy_modes_refuse_a_tariff_priced_by_power(charge_mode):
    message = render_error(wanzhuang_save_mode, ebike_tiers(ONE_TIER, max_pay_fen=3000), charge_mode=charge_mode)

    assert f"charge mode {charge_mode} prices by energy: this tariff is priced by power tiers" in message


@pytest.mark.parametrize("charge_mode", [1, 8])
def test_wanzhuang_energy_modes_need_a_maximum_payment(charge_mode):
    message = render_error(wanzhuang_save_mode, ebike_periods(flat_day(7000), max_pay_fen=0), charge_mode=charge_mode)

    assert "this tariff has no maximum payment. Set one between 0.01 and 30.00 yuan." in message


@pytest.mark.parametrize("charge_mode", [1, 8])
def test_wanzhuang_energy_modes_refuse_a_maximum_payment_above_30_yuan(charge_mode):
    tariff = ebike_periods(flat_day(7000), max_pay_fen=3001)

    message = render_error(wanzhuang_save_mode, tariff, charge_mode=charge_mode)

    assert "this tariff's maximum payment is 30.01 yuan. Lower it to 30.00 yuan or less." in message


@pytest.mark.parametrize("max_pay_fen", [1, 3000])
def test_wanzhuang_energy_modes_accept_a_maximum_payment_up_to_30_yuan(max_pay_fen):
    form = wanzhuang_save_mode(ebike_periods(flat_day(7000), max_pay_fen=max_pay_fen), charge_mode=1)

    assert form["max_pay_fee"] == max_pay_fen


@pytest.mark.parametrize("charge_mode", [2, 9])
def test_wanzhuang_power_modes_render_tiers_in_power_order_as_hourly_fen(charge_mode):
    tiers = [
        PowerTier(power_upper_w=400, electricity_price_e4=5000, service_price_e4=1000),
        PowerTier(power_upper_w=200, electricity_price_e4=2000, service_price_e4=500, unit_seconds=1800),
        PowerTier(power_upper_w=1000, electricity_price_e4=32_000, service_price_e4=0, unit_seconds=14_400),
    ]
    tariff = ebike_tiers(tiers, **EBIKE_SETTINGS)

    assert wanzhuang_save_mode(tariff, charge_mode=charge_mode) == {
        "charge_mode": charge_mode,
        "start_fee": 100,
        "whether_refund": 1,
        "is_free_charge": 0,
        "power_value": "[200,400,1000]",
        "price_value": "[50,60,80]",
        "type": 0,
        "max_power": 1000,
    }


def test_wanzhuang_power_mode_refuses_an_hourly_price_below_the_fen_and_names_the_tier():
    tiers = [
        PowerTier(power_upper_w=200, electricity_price_e4=4000, service_price_e4=0),
        PowerTier(power_upper_w=400, electricity_price_e4=4000, service_price_e4=55),
    ]

    message = render_error(wanzhuang_save_mode, ebike_tiers(tiers), charge_mode=2)

    assert "tier ≤ 400 W costs 0.4055 yuan (electricity + service) per 3600 s of charging" in message


def test_wanzhuang_form_values_are_ints_or_strings():
    forms = [
        wanzhuang_save_mode(ebike_tiers(ONE_TIER), charge_mode=0),
        wanzhuang_save_mode(ebike_tiers(ONE_TIER), charge_mode=7),
        wanzhuang_save_mode(ebike_periods(flat_day(7000), max_pay_fen=3000), charge_mode=1),
        wanzhuang_save_mode(ebike_tiers(TOMDA_EXAMPLE_TIERS), charge_mode=9),
    ]

    for form in forms:
        assert all(type(value) in (int, str) for value in form.values())


@pytest.mark.parametrize("charge_mode", [-1, 3, 10, 12])
def test_wanzhuang_refuses_an_unknown_charge_mode(charge_mode):
    message = render_error(wanzhuang_save_mode, ebike_tiers(ONE_TIER), charge_mode=charge_mode)

    assert message == f"Wanzhuang has no charge mode {charge_mode}: use charge mode 0, 1, 2, 7, 8 or 9."


def test_wanzhuang_refuses_the_car_energy_mode_it_has_no_page_for():
    message = render_error(wanzhuang_save_mode, ev(flat_day(7000)), charge_mode=11)

    assert "charge mode 11 (car standard energy mode)" in message
    assert "not supported yet" in message


def test_wanzhuang_refuses_a_tariff_without_rows():
    message = render_error(wanzhuang_save_mode, Tariff(kind="ebike"), charge_mode=2)

    assert message == "The tariff has neither periods nor power tiers: add at least one row."


# --- partner interface StubInfo ------------------------------------------------------------------------


def test_partner_describes_each_period_in_day_order():
    periods = [
        Period(hm(12), hm(24), "plain", 6500, 4000),
        Period(hm(0), hm(8), "valley", 3500, 4000),
        Period(hm(8), hm(12), "peak", 10_000, 4000),
    ]

    assert partner_fee_descriptions(ev(periods)) == {
        "electricFee": "00:00-08:00 谷 0.3500元/度；08:00-12:00 峰 1.0000元/度；12:00-24:00 平 0.6500元/度",
        "serviceFee": "0.4000元/度",
    }


def test_partner_names_all_four_intervals():
    descriptions = partner_fee_descriptions(ev(NINE_PERIODS))

    assert descriptions["electricFee"] == (
        "00:00-07:00 谷 0.3500元/度；07:00-10:00 平 0.6500元/度；10:00-11:00 峰 1.0000元/度；"
        "11:00-13:00 尖 1.2000元/度；13:00-14:30 峰 1.0000元/度；14:30-17:00 平 0.6500元/度；"
        "17:00-19:00 尖 1.2000元/度；19:00-23:00 峰 1.0000元/度；23:00-24:00 谷 0.3500元/度"
    )
    assert descriptions["serviceFee"].startswith("00:00-07:00 谷 0.4000元/度；07:00-10:00 平 0.6000元/度；")


def test_partner_describes_a_flat_tariff_by_its_price_alone():
    periods = [Period(hm(0), hm(8), "valley", 6500, 0), Period(hm(8), hm(24), "peak", 6500, 0)]

    assert partner_fee_descriptions(ev(periods)) == {"electricFee": "0.6500元/度", "serviceFee": "0.0000元/度"}


def test_partner_describes_tiers_with_their_charge_units():
    tiers = [
        PowerTier(power_upper_w=400, electricity_price_e4=8000, service_price_e4=2000, unit_seconds=14_400),
        PowerTier(power_upper_w=200, electricity_price_e4=5000, service_price_e4=1000),
        PowerTier(power_upper_w=600, electricity_price_e4=3000, service_price_e4=0, unit_seconds=1800),
        PowerTier(power_upper_w=800, electricity_price_e4=100, service_price_e4=0, unit_seconds=90),
    ]

    assert partner_fee_descriptions(ebike_tiers(tiers)) == {
        "electricFee": "≤200W 0.5000元/小时；≤400W 0.8000元/4小时；≤600W 0.3000元/30分钟；≤800W 0.0100元/90秒",
        "serviceFee": "≤200W 0.1000元/小时；≤400W 0.2000元/4小时；≤600W 0.0000元/30分钟；≤800W 0.0000元/90秒",
    }


@pytest.mark.parametrize(("free_seconds", "suffix"), [(180, "，前3分钟免费"), (90, "，前90秒免费")])
def test_partner_appends_the_free_charging_time(free_seconds, suffix):
    descriptions = partner_fee_descriptions(ev(flat_day(6500, 4000), free_charge_seconds=free_seconds))

    assert descriptions == {"electricFee": f"0.6500元/度{suffix}", "serviceFee": f"0.4000元/度{suffix}"}


def test_partner_appends_the_free_charging_time_to_tiers():
    descriptions = partner_fee_descriptions(ebike_tiers(ONE_TIER, free_charge_seconds=600))

    assert descriptions["electricFee"] == "≤800W 0.3000元/小时，前10分钟免费"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_partner_descriptions_are_chinese_whatever_the_language(language):
    with override(language):
        descriptions = partner_fee_descriptions(ev(NINE_PERIODS, free_charge_seconds=60))

    assert descriptions["electricFee"].startswith("00:00-07:00 谷 0.3500元/度；")
    assert descriptions["electricFee"].endswith("，前1分钟免费")


def test_partner_refuses_a_tariff_without_rows():
    message = render_error(partner_fee_descriptions, Tariff(kind="ev"))

    assert message == "The tariff has neither periods nor power tiers: add at least one row."
