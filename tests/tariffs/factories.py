import datetime as dt

import factory

from tariffs.models import TariffDetail, TariffTemplate, TariffVersion, TimeInterval, VehicleKind
from tariffs.pricing import Period, Tariff


class TariffTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TariffTemplate

    external_id = factory.Sequence(lambda n: f"TPL{n:05d}")
    name = factory.Sequence(lambda n: f"分时电价 {n}")
    kind = VehicleKind.EV
    free_charge_seconds = 0
    min_balance_fen = 500


class PeriodFactory(factory.django.DjangoModelFactory):
    """A time-of-use row of an EV template."""

    class Meta:
        model = TariffDetail

    template = factory.SubFactory(TariffTemplateFactory)
    position = factory.Sequence(lambda n: n + 1)
    start_minute = 0
    end_minute = 1440
    interval = TimeInterval.PLAIN
    electricity_price_e4 = 6500
    service_price_e4 = 4000


class PowerTierFactory(factory.django.DjangoModelFactory):
    """A power-tier row of an e-bike template."""

    class Meta:
        model = TariffDetail

    template = factory.SubFactory(TariffTemplateFactory, kind=VehicleKind.EBIKE)
    position = factory.Sequence(lambda n: n + 1)
    power_upper_w = 300
    unit_seconds = 3600
    interval = ""
    electricity_price_e4 = 5000
    service_price_e4 = 0


class TariffVersionFactory(factory.django.DjangoModelFactory):
    """A published version: a flat all-day EV tariff unless `content` says otherwise."""

    class Meta:
        model = TariffVersion

    template = factory.SubFactory(TariffTemplateFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.SelfAttribute("template.name")
    effective_from = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    published_at = factory.SelfAttribute("effective_from")
    content = factory.LazyFunction(
        lambda: Tariff(kind="ev", periods=(Period(0, 1440, "plain", 6500, 4000),)).to_content()
    )


def create_periods(template, rows):
    """Rows of (start minute, end minute, interval, electricity e4, service e4) on `template`, in order."""
    for position, (start, end, interval, electricity, service) in enumerate(rows, start=1):
        PeriodFactory(
            template=template,
            position=position,
            start_minute=start,
            end_minute=end,
            interval=interval,
            electricity_price_e4=electricity,
            service_price_e4=service,
        )
    return template
