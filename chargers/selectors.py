"""Reads of chargers and their tariff pushes that pages and reports ask for."""

from datetime import datetime

from django.db.models import Count, OuterRef, Q, Subquery, Sum

from chargers.models import Charger, ChargerTariffPush, OfflineRevenueReading, TariffPushResult


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


def offline_revenue_between(*, vendor: str, start: datetime, end: datetime) -> list[dict]:
    """What each of the vendor's devices took by itself (coins, offline cards) in [start, end), by the device
    times of its counted readings: [{"serial", "station", "coin_fen", "card_fen", "readings", "resets"}] by
    serial; `resets` counts the readings whose totals fell (what was taken before them is not in the sums)."""
    rows = (OfflineRevenueReading.objects.filter(charger__vendor=vendor, counted=True, device_time__gte=start,
                                                 device_time__lt=end)
            .values("charger__serial", "charger__station__name")
            .annotate(coin_fen=Sum("coin_fen"), card_fen=Sum("card_fen"), readings=Count("id"),
                      resets=Count("id", filter=Q(reset=True)))
            .order_by("charger__serial"))
    return [{"serial": row["charger__serial"], "station": row["charger__station__name"] or "",
             "coin_fen": row["coin_fen"] or 0, "card_fen": row["card_fen"] or 0, "readings": row["readings"],
             "resets": row["resets"]}
            for row in rows]
