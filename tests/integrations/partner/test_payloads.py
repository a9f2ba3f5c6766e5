"""The fee texts of the partner interface's StubInfo (§2.2): Chinese descriptions of a tariff."""

import pytest
from django.utils.translation import override

from integrations.partner.payloads import fee_descriptions
from tariffs.pricing import Period, PowerTier, Tariff
from tariffs.renderings import TariffRenderError
from tests.tariffs.builders import NINE_PERIODS, ebike_tiers, ev, flat_day, hm

ONE_TIER = (PowerTier(power_upper_w=800, electricity_price_e4=3000, service_price_e4=2000),)


def render_error(render, *args, **kwargs):
    with override("en"), pytest.raises(TariffRenderError) as caught:
        render(*args, **kwargs)
    return str(caught.value)


def test_describes_each_period_in_day_order():
    periods = [
        Period(hm(12), hm(24), "plain", 6500, 4000),
        Period(hm(0), hm(8), "valley", 3500, 4000),
        Period(hm(8), hm(12), "peak", 10_000, 4000),
    ]

    assert fee_descriptions(ev(periods)) == {
        "electricFee": "00:00-08:00 谷 0.3500元/度；08:00-12:00 峰 1.0000元/度；12:00-24:00 平 0.6500元/度",
        "serviceFee": "0.4000元/度",
    }


def test_names_all_four_intervals():
    descriptions = fee_descriptions(ev(NINE_PERIODS))

    assert descriptions["electricFee"] == (
        "00:00-07:00 谷 0.3500元/度；07:00-10:00 平 0.6500元/度；10:00-11:00 峰 1.0000元/度；"
        "11:00-13:00 尖 1.2000元/度；13:00-14:30 峰 1.0000元/度；14:30-17:00 平 0.6500元/度；"
        "17:00-19:00 尖 1.2000元/度；19:00-23:00 峰 1.0000元/度；23:00-24:00 谷 0.3500元/度"
    )
    assert descriptions["serviceFee"].startswith("00:00-07:00 谷 0.4000元/度；07:00-10:00 平 0.6000元/度；")


def test_describes_a_flat_tariff_by_its_price_alone():
    periods = [Period(hm(0), hm(8), "valley", 6500, 0), Period(hm(8), hm(24), "peak", 6500, 0)]

    assert fee_descriptions(ev(periods)) == {"electricFee": "0.6500元/度", "serviceFee": "0.0000元/度"}


def test_describes_tiers_with_their_charge_units():
    tiers = [
        PowerTier(power_upper_w=400, electricity_price_e4=8000, service_price_e4=2000, unit_seconds=14_400),
        PowerTier(power_upper_w=200, electricity_price_e4=5000, service_price_e4=1000),
        PowerTier(power_upper_w=600, electricity_price_e4=3000, service_price_e4=0, unit_seconds=1800),
        PowerTier(power_upper_w=800, electricity_price_e4=100, service_price_e4=0, unit_seconds=90),
    ]

    assert fee_descriptions(ebike_tiers(tiers)) == {
        "electricFee": "≤200W 0.5000元/小时；≤400W 0.8000元/4小时；≤600W 0.3000元/30分钟；≤800W 0.0100元/90秒",
        "serviceFee": "≤200W 0.1000元/小时；≤400W 0.2000元/4小时；≤600W 0.0000元/30分钟；≤800W 0.0000元/90秒",
    }


@pytest.mark.parametrize(("free_seconds", "suffix"), [(180, "，前3分钟免费"), (90, "，前90秒免费")])
def test_appends_the_free_charging_time(free_seconds, suffix):
    descriptions = fee_descriptions(ev(flat_day(6500, 4000), free_charge_seconds=free_seconds))

    assert descriptions == {"electricFee": f"0.6500元/度{suffix}", "serviceFee": f"0.4000元/度{suffix}"}


def test_appends_the_free_charging_time_to_tiers():
    descriptions = fee_descriptions(ebike_tiers(ONE_TIER, free_charge_seconds=600))

    assert descriptions["electricFee"] == "≤800W 0.3000元/小时，前10分钟免费"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_descriptions_are_chinese_whatever_the_language(language):
    with override(language):
        descriptions = fee_descriptions(ev(NINE_PERIODS, free_charge_seconds=60))

    assert descriptions["electricFee"].startswith("00:00-07:00 谷 0.3500元/度；")
    assert descriptions["electricFee"].endswith("，前1分钟免费")


def test_refuses_a_tariff_without_rows():
    message = render_error(fee_descriptions, Tariff(kind="ev"))

    assert message == "The tariff has neither periods nor power tiers: add at least one row."
