"""What we send Tomda about our stations and tariffs (§4.3.2, §4.5.6), built from our records.

The fee template `elecFeeModelInfo` (§4.3.2) carries one tariff version, under its template's external id
(`clientElecFeeModelId`) and the version's name (`modelName`); `modelType` is 1 for electric vehicles and 2 for
e-bikes, `freeChargeTime` is in seconds, and every amount is an int in fen. Its rows (`elecFeeModelDetail`,
counted by `modelDetailCount`, which must be greater than 0) are numbered by `position` in the order Tomda shows
and bills them:

- an EV template has time-of-use rows: `endValueOne` hours and `endValueTwo` minutes give the row's end, and
  `elecInterval` (CUSP, PEAK, PLAIN, VALLEY, "car chargers only") its interval; `elecFee` and `serviceFee`,
  "fen" in the spec, are fen per kWh;
- an e-bike template has power rows: `endValueOne` is the row's upper power bound in W, with no
  `endValueTwo` or `elecInterval`.

Where the spec is silent, we assumed:

- a row runs from the previous row's end (00:00 for the first) to its own, and the end of the day is sent as
  24 hours 0 minutes;
- an e-bike row's `elecFee` and `serviceFee` are fen per hour of charging: the spec gives no unit beyond fen,
  and its example (40 to 70 fen for 150 to 600 W) reads as hourly prices. A tier priced per another charge
  unit is scaled to the hour, and refused when that is not a whole number of fen;
- `limitCheckBalance` ("car chargers only", no unit given) is fen, like every other Tomda amount, and is sent
  for EV templates only;
- Tomda has no fee template for an EV priced by power or an e-bike priced by energy, so such tariffs are
  refused rather than approximated.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from chargers.models import Charger, Vendor
from stations.models import Station
from tariffs.models import TariffTemplate, TariffVersion
from tariffs.pricing import Period, PowerTier, Tariff
from tariffs.renderings import (
    TariffRenderError,
    exact_fen,
    exact_fen_per_hour,
    periods_in_day_order,
    require_rows,
    tiers_in_power_order,
)
from tariffs.selectors import tariff_version_in_force
from tariffs.units import format_price_e4

from .mappers import CHARGER_TYPES

# §4.5.6 stationStatus, from ours.
STATION_STATUS = {
    "plan": "PLAN",
    "build": "BUILD",
    "working": "WORKING",
    "fault": "FAULT",
    "maintain": "MAINTAIN",
    "deactivated": "DEACTIVATED",
}

# §4.3.2 modelType, by the tariff's vehicle kind.
_MODEL_TYPES = {"ev": 1, "ebike": 2}


def _period_detail(label: str, period: Period, position: int) -> dict:
    electricity_fen = exact_fen(period.electricity_price_e4)
    if electricity_fen is None:
        raise TariffRenderError(
            gettext_noop(
                "Tomda takes prices in whole fen per kWh: %(row)s has an electricity price of %(price)s yuan. "
                "Change it to a multiple of 0.01 yuan."
            ),
            row=label,
            price=format_price_e4(period.electricity_price_e4),
        )
    service_fen = exact_fen(period.service_price_e4)
    if service_fen is None:
        raise TariffRenderError(
            gettext_noop(
                "Tomda takes prices in whole fen per kWh: %(row)s has a service price of %(price)s yuan. "
                "Change it to a multiple of 0.01 yuan."
            ),
            row=label,
            price=format_price_e4(period.service_price_e4),
        )
    # A row gives only its end; 24:00 is sent as 24 hours 0 minutes.
    end_hour, end_minute = divmod(period.end_minute, 60)
    return {
        "endValueOne": end_hour,
        "endValueTwo": end_minute,
        "elecFee": electricity_fen,
        "serviceFee": service_fen,
        "elecInterval": period.interval.upper(),
        "position": position,
    }


def _tier_detail(label: str, tier: PowerTier, position: int) -> dict:
    # Fen per hour of charging, whatever the tier's charge unit (the spec's example reads so).
    electricity_fen = exact_fen_per_hour(tier.electricity_price_e4, tier.unit_seconds)
    if electricity_fen is None:
        raise TariffRenderError(
            gettext_noop(
                "Tomda takes e-bike prices in whole fen per hour: %(row)s has an electricity price of "
                "%(price)s yuan per %(seconds)d s of charging, which is not a whole number of fen per hour. "
                "Change the price or the charge unit."
            ),
            row=label,
            price=format_price_e4(tier.electricity_price_e4),
            seconds=tier.unit_seconds,
        )
    service_fen = exact_fen_per_hour(tier.service_price_e4, tier.unit_seconds)
    if service_fen is None:
        raise TariffRenderError(
            gettext_noop(
                "Tomda takes e-bike prices in whole fen per hour: %(row)s has a service price of "
                "%(price)s yuan per %(seconds)d s of charging, which is not a whole number of fen per hour. "
                "Change the price or the charge unit."
            ),
            row=label,
            price=format_price_e4(tier.service_price_e4),
            seconds=tier.unit_seconds,
        )
    return {
        "endValueOne": tier.power_upper_w,
        "elecFee": electricity_fen,
        "serviceFee": service_fen,
        "position": position,
    }


def fee_model(tariff: Tariff, *, external_id: str, name: str) -> dict:
    """Tomda's `elecFeeModelInfo` (§4.3.2) for `tariff`, sent as template `external_id` named `name`."""
    if tariff.kind not in _MODEL_TYPES:
        raise TariffRenderError(
            gettext_noop(
                "Tomda has fee templates for electric vehicles and e-bikes only: choose the tariff's vehicle kind."
            )
        )
    require_rows(tariff)
    if tariff.kind == "ev":
        if not tariff.by_energy:
            raise TariffRenderError(
                gettext_noop(
                    "Tomda prices electric vehicles by time-of-use periods: this tariff has power tiers. "
                    "Replace them with periods."
                )
            )
        details = [
            _period_detail(label, period, position)
            for position, (label, period) in enumerate(periods_in_day_order(tariff), start=1)
        ]
    else:
        if tariff.by_energy:
            raise TariffRenderError(
                gettext_noop(
                    "Tomda prices e-bikes by power tiers: this e-bike tariff is priced by energy periods. "
                    "Replace them with power tiers to push it to Tomda."
                )
            )
        details = [
            _tier_detail(label, tier, position)
            for position, (label, tier) in enumerate(tiers_in_power_order(tariff), start=1)
        ]

    model = {
        "clientElecFeeModelId": external_id,
        "modelName": name,
        "modelType": _MODEL_TYPES[tariff.kind],
        "freeChargeTime": tariff.free_charge_seconds,
    }
    if tariff.kind == "ev":
        # "Car chargers only"; the spec gives no unit, so fen as every other Tomda amount.
        model["limitCheckBalance"] = tariff.min_balance_fen
    model["modelDetailCount"] = len(details)
    model["elecFeeModelDetail"] = details
    return model


def fee_model_for_version(version: TariffVersion) -> dict:
    """The version as Tomda's fee template, under its template's external id."""
    return fee_model(version.tariff, external_id=version.template.external_id, name=version.name)


def fee_version_for_template(template: TariffTemplate, *, at: datetime | None = None) -> TariffVersion:
    """The version of `template` in force now; a template never published cannot be sent."""
    version = tariff_version_in_force(template=template, at=at or timezone.now())
    if version is None:
        raise TariffRenderError(
            gettext_noop("Tariff template %(template)s has no version in force: publish it first."),
            template=template,
        )
    return version


def station_info(station: Station, *, version: TariffVersion | None) -> dict:
    """§4.5.6 stationInfo: the station, its Tomda chargers and, when it has one, its tariff in force.

    Raises ValidationError for a station Tomda would refuse (no coordinates), before anything is sent.
    """
    if station.latitude is None or station.longitude is None:
        # §4.5.6 requires both; Tomda's apps place the station on a map by them.
        raise ValidationError(
            _("Tomda needs the latitude and longitude of station %(station)s: enter its coordinates first.")
            % {"station": station}
        )
    serials = Charger.objects.filter(station=station, vendor=Vendor.TOMDA).order_by("serial")
    info = {
        "clientStationId": station.code,
        "stationName": station.name,
        "stationStatus": STATION_STATUS[station.status],
        "location": station.address,
        "latitude": str(station.latitude),
        "longitude": str(station.longitude),
        "serialNums": ",".join(serials.values_list("serial", flat=True)),
        "stationType": CHARGER_TYPES[station.kind],
    }
    if version is not None:
        info["clientElecFeeModelId"] = version.template.external_id
        info["elecFeeModelInfo"] = fee_model_for_version(version)
    return info
