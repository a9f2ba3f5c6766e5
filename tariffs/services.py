from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tariffs.models import TariffDetail, TariffTemplate, TariffVersion
from tariffs.selectors import tariff_template_draft, tariff_version_latest
from tariffs.validation import tariff_validate


def tariff_template_renumber(*, template: TariffTemplate) -> None:
    """Number the template's rows in order of time (periods) or power (tiers), from 1.

    Positions are unique per template, so the rows are first moved out of the way.
    """
    with transaction.atomic():
        rows = list(TariffDetail.objects.select_for_update().filter(template=template))
        rows.sort(key=lambda row: (row.start_minute or 0, row.end_minute or 0, row.power_upper_w or 0, row.pk))
        offset = max((row.position for row in rows), default=0) + 1
        TariffDetail.objects.filter(template=template).update(position=F("position") + offset)
        for number, row in enumerate(rows, start=1):
            row.position = number
        TariffDetail.objects.bulk_update(rows, ["position"])


def tariff_version_publish(
    *,
    template: TariffTemplate,
    published_by=None,
    effective_from: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> TariffVersion:
    """Publish the template's working copy as its next version, in force from `effective_from` (now if None).

    Refuses a tariff that breaks a rule, a time in the past, and a working copy identical to the latest
    version (there would be nothing to publish).
    """
    now = now or timezone.now()
    effective_from = effective_from or now
    if effective_from < now:
        raise ValidationError(_("A version takes effect now or later, not in the past."))
    with transaction.atomic():
        # The lock serialises publishers of one template, so version numbers never collide.
        template = TariffTemplate.objects.select_for_update().get(pk=template.pk)
        tariff = tariff_template_draft(template=template)
        tariff_validate(tariff)
        content = tariff.to_content()
        latest = tariff_version_latest(template=template)
        if latest is not None and latest.content == content and latest.name == template.name:
            raise ValidationError(
                _("Nothing to publish: the template is the same as version %(number)s.") % {"number": latest.number}
            )
        number = (template.versions.aggregate(last=Max("number"))["last"] or 0) + 1
        # The template's history tells its publications among its edits, with the note as the reason.
        reason = _("Published as version %(number)s.") % {"number": number}
        TariffTemplate.history.bulk_history_create(
            [template], update=True, default_user=published_by, default_change_reason=f"{reason} {note}".strip(),
            default_date=now,
        )
        return TariffVersion.objects.create(
            template=template,
            number=number,
            name=template.name,
            effective_from=effective_from,
            content=content,
            note=note,
            published_at=now,
            published_by=published_by,
            published_by_name=published_by.get_username() if published_by is not None else "",
        )
