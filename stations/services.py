from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from stations.models import Station
from tariffs.models import TariffTemplate


def station_tariff_assign(*, station_ids, template: TariffTemplate) -> int:
    """Give all the stations `template`, or none of them: each must serve the template's vehicle kind.

    Returns how many stations changed. Chargers learn the new tariff when it is pushed to their vendor.
    """
    with transaction.atomic():
        stations = list(Station.objects.select_for_update().filter(pk__in=station_ids).order_by("code"))
        wrong = [station for station in stations if station.kind != template.kind]
        if wrong:
            raise ValidationError(
                _("%(template)s is for %(kind)s; these stations are not: %(stations)s.")
                % {
                    "template": template,
                    "kind": template.get_kind_display(),
                    "stations": "、".join(str(station) for station in wrong),
                }
            )
        changed = [station for station in stations if station.tariff_template_id != template.pk]
        for station in changed:
            station.tariff_template = template
        # One statement for any number of stations, and a history record for each (by the request's user).
        bulk_update_with_history(changed, Station, ["tariff_template"])
        return len(changed)
