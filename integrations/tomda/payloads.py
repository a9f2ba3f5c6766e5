"""What we send Tomda about our stations and tariffs (§4.3.2, §4.5.6), built from our records."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.models import Charger, Vendor
from stations.models import Station
from tariffs.models import TariffTemplate, TariffVersion
from tariffs.renderings import TariffRenderError, tomda_fee_model
from tariffs.selectors import tariff_version_in_force

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


def fee_model_for_version(version: TariffVersion) -> dict:
    """The version as Tomda's fee template, under its template's external id."""
    return tomda_fee_model(version.tariff, external_id=version.template.external_id, name=version.name)


def fee_version_for_template(template: TariffTemplate, *, at: datetime | None = None) -> TariffVersion:
    """The version of `template` in force now; a template never published cannot be sent."""
    version = tariff_version_in_force(template=template, at=at or timezone.now())
    if version is None:
        raise TariffRenderError(
            _("Tariff template %(template)s has no version in force: publish it first.") % {"template": template}
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
