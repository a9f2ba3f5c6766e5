"""Reads of chargers and their tariff pushes that pages and reports ask for."""

from django.db.models import OuterRef, Subquery

from chargers.models import Charger, ChargerTariffPush, TariffPushResult


def chargers_awaiting_station_count() -> int:
    """How many chargers reported by their vendors wait for an operator to place them in a station."""
    return Charger.objects.filter(station__isnull=True).count()


def charger_tariff_pushed(*, vendor: str, serial: str, template_external_id: str) -> bool:
    """Whether any version of the template was ever sent to the charger (one indexed lookup)."""
    return ChargerTariffPush.objects.filter(
        charger__vendor=vendor, charger__serial=serial, tariff_version__template__external_id=template_external_id
    ).exists()


def tariff_version_pushes_latest(*, version) -> list[ChargerTariffPush]:
    """The latest push of `version` to each charger it was sent to, by station code and serial."""
    latest = (
        ChargerTariffPush.objects.filter(tariff_version=version, charger=OuterRef("charger"))
        .order_by("-requested_at", "-id")
        .values("pk")[:1]
    )
    return list(
        ChargerTariffPush.objects.filter(tariff_version=version, pk=Subquery(latest))
        .select_related("charger__station")
        .order_by("charger__station__code", "charger__serial")
    )


def tariff_push_result_counts(pushes) -> list[tuple[str, int]]:
    """(result label, count) of `pushes`, in TariffPushResult's order, for the results that occur."""
    counts = {value: sum(push.result == value for push in pushes) for value in TariffPushResult.values}
    return [(label, counts[value]) for value, label in TariffPushResult.choices if counts[value]]
