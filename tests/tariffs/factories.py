import factory

from tariffs.models import TariffDetail, TariffTemplate, TimeInterval, VehicleKind


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
    interval = ""
    electricity_price_e4 = 5000
    service_price_e4 = 0
