"""Tomda's fee template `elecFeeModelInfo` (§4.3.2), field by field against the spec."""

import pytest
from django.utils.translation import override

from integrations.tomda.payloads import fee_model
from tariffs.pricing import Period, PowerTier, Tariff
from tariffs.renderings import TariffRenderError
from tests.tariffs.builders import NINE_PERIODS, ebike_periods, ebike_tiers, ev, flat_day, hm

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
SPEC_EXAMPLE_TIERS = (
    PowerTier(power_upper_w=150, electricity_price_e4=4000, service_price_e4=0),
    PowerTier(power_upper_w=300, electricity_price_e4=5000, service_price_e4=0),
    PowerTier(power_upper_w=450, electricity_price_e4=6000, service_price_e4=0),
    PowerTier(power_upper_w=600, electricity_price_e4=7000, service_price_e4=0),
)


def render_error(render, *args, **kwargs):
    with override("en"), pytest.raises(TariffRenderError) as caught:
        render(*args, **kwargs)
    return str(caught.value)


def test_ebike_tiers_render_the_spec_example_exactly():
    tariff = ebike_tiers(SPEC_EXAMPLE_TIERS, free_charge_seconds=180)

    model = fee_model(tariff, external_id="tpl-7", name="E-bike standard")

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


def test_ebike_tiers_are_scaled_to_fen_per_hour_and_sent_in_power_order():
    # 0.2000 yuan per 30 minutes is 40 fen per hour; 0.8000 yuan per 4 hours is 20 fen per hour.
    tariff = ebike_tiers(
        [
            PowerTier(power_upper_w=400, electricity_price_e4=8000, service_price_e4=2000, unit_seconds=14_400),
            PowerTier(power_upper_w=200, electricity_price_e4=2000, service_price_e4=500, unit_seconds=1800),
        ]
    )

    details = fee_model(tariff, external_id="x", name="x")["elecFeeModelDetail"]

    assert details == [
        {"endValueOne": 200, "elecFee": 40, "serviceFee": 10, "position": 1},
        {"endValueOne": 400, "elecFee": 20, "serviceFee": 5, "position": 2},
    ]


def test_ev_nine_periods_render_each_row_with_its_end_time_and_interval():
    tariff = ev(NINE_PERIODS, free_charge_seconds=300, min_balance_fen=2000)

    model = fee_model(tariff, external_id="ev-1", name="尖峰平谷 2025")

    assert model == {
        "clientElecFeeModelId": "ev-1",
        "modelName": "尖峰平谷 2025",
        "modelType": 1,
        "freeChargeTime": 300,
        "limitCheckBalance": 2000,
        "modelDetailCount": 9,
        "elecFeeModelDetail": NINE_PERIOD_DETAILS,
    }


def test_ev_periods_stored_out_of_order_are_sent_in_day_order():
    tariff = ev(reversed(NINE_PERIODS))

    details = fee_model(tariff, external_id="x", name="x")["elecFeeModelDetail"]

    assert details == NINE_PERIOD_DETAILS


def test_amounts_are_integers():
    model = fee_model(ev(NINE_PERIODS), external_id="x", name="x")

    for detail in model["elecFeeModelDetail"]:
        assert all(type(detail[key]) is int for key in ("endValueOne", "endValueTwo", "elecFee", "serviceFee"))


def test_refuses_an_electricity_price_below_the_fen():
    periods = [
        Period(hm(0), hm(6), "valley", 3500, 0),
        Period(hm(6), hm(8), "plain", 6500, 0),
        Period(hm(8), hm(12), "peak", 6523, 0),
        Period(hm(12), hm(24), "plain", 6500, 0),
    ]

    message = render_error(fee_model, ev(periods), external_id="x", name="x")

    assert message.startswith(
        "Tomda takes prices in whole fen per kWh: period 08:00–12:00 has an electricity price of 0.6523 yuan"
    )
    assert "multiple of 0.01 yuan" in message


def test_refuses_a_service_price_below_the_fen():
    periods = [Period(hm(0), hm(12), "valley", 3500, 4000), Period(hm(12), hm(24), "peak", 6500, 4001)]

    message = render_error(fee_model, ev(periods), external_id="x", name="x")

    assert "period 12:00–24:00 has a service price of 0.4001 yuan" in message


def test_names_the_row_as_stored_not_as_sent():
    periods = [Period(hm(12), hm(24), "peak", 6550, 0), Period(hm(0), hm(12), "valley", 3500, 0)]

    message = render_error(fee_model, ev(periods), external_id="x", name="x")

    assert "period 12:00–24:00 has an electricity price of 0.6550 yuan" in message


@pytest.mark.parametrize(
    ("tier", "price"),
    [
        (PowerTier(power_upper_w=400, electricity_price_e4=4050, service_price_e4=0), "0.4050"),
        # 0.1000 yuan per 7 s is 514.28... fen per hour
        (PowerTier(power_upper_w=400, electricity_price_e4=1000, service_price_e4=0, unit_seconds=7), "0.1000"),
    ],
)
def test_refuses_an_ebike_electricity_price_that_is_not_whole_fen_per_hour(tier, price):
    tariff = ebike_tiers([PowerTier(power_upper_w=200, electricity_price_e4=4000, service_price_e4=0), tier])

    message = render_error(fee_model, tariff, external_id="x", name="x")

    assert f"tier ≤ 400 W has an electricity price of {price} yuan per {tier.unit_seconds} s" in message
    assert "not a whole number of fen per hour" in message


def test_refuses_an_ebike_service_price_that_is_not_whole_fen_per_hour():
    tariff = ebike_tiers([PowerTier(power_upper_w=200, electricity_price_e4=4000, service_price_e4=25)])

    message = render_error(fee_model, tariff, external_id="x", name="x")

    assert "tier ≤ 200 W has a service price of 0.0025 yuan per 3600 s" in message


def test_refuses_an_ebike_tariff_priced_by_energy():
    message = render_error(fee_model, ebike_periods(flat_day(6500)), external_id="x", name="x")

    assert "Tomda prices e-bikes by power tiers" in message
    assert "power tiers to push it to Tomda" in message


def test_refuses_an_ev_tariff_priced_by_power():
    tariff = Tariff(kind="ev", tiers=SPEC_EXAMPLE_TIERS)

    message = render_error(fee_model, tariff, external_id="x", name="x")

    assert "Tomda prices electric vehicles by time-of-use periods" in message


def test_refuses_an_unknown_vehicle_kind():
    message = render_error(fee_model, Tariff(kind="bus", periods=flat_day(6500)), external_id="x", name="x")

    assert "choose the tariff's vehicle kind" in message


def test_refuses_a_template_without_rows():
    # modelDetailCount "必须大于 0"
    message = render_error(fee_model, Tariff(kind="ebike"), external_id="x", name="x")

    assert message == "The tariff has neither periods nor power tiers: add at least one row."
