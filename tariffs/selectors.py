from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from tariffs.models import TariffTemplate, TariffVersion
from tariffs.pricing import Tariff


def tariff_from_template(*, template: TariffTemplate, rows) -> Tariff:
    """The template's settings with `rows` (its TariffDetail rows, saved or not) in the order given."""
    rows = list(rows)
    return Tariff(
        kind=template.kind,
        periods=tuple(row.as_period() for row in rows if row.is_period),
        tiers=tuple(row.as_tier() for row in rows if not row.is_period),
        free_charge_seconds=template.free_charge_seconds,
        min_balance_fen=template.min_balance_fen,
        start_fee_fen=template.start_fee_fen,
        max_pay_fen=template.max_pay_fen,
        refundable=template.refundable,
        free_charging=template.free_charging,
    )


def tariff_template_draft(*, template: TariffTemplate) -> Tariff:
    """The template's working copy as a tariff, rows in order of time or power, not yet validated."""
    rows = sorted(
        template.details.all(),
        key=lambda row: (row.start_minute or 0, row.end_minute or 0, row.power_upper_w or 0),
    )
    return tariff_from_template(template=template, rows=rows)


def _in_force(versions: QuerySet, at: datetime) -> QuerySet:
    return versions.filter(effective_from__lte=at).order_by("-effective_from", "-number")


def tariff_version_in_force(*, template: TariffTemplate | int, at: datetime) -> TariffVersion | None:
    """The version that prices a session of `template` starting at `at`: the latest to take effect by then."""
    return _in_force(TariffVersion.objects.filter(template=template), at).first()


def tariff_version_latest(*, template: TariffTemplate) -> TariffVersion | None:
    """The most recently published version, in force or scheduled."""
    return template.versions.order_by("-number").first()


def tariff_version_in_force_subquery(*, template_ref: str, at: datetime, field: str = "pk") -> Subquery:
    """One column of the version in force at `at`, for annotating rows that point at a template."""
    return Subquery(_in_force(TariffVersion.objects.filter(template=OuterRef(template_ref)), at).values(field)[:1])


def tariff_versions_scheduled(*, template: TariffTemplate, at: datetime) -> QuerySet:
    """Versions published to take effect after `at`, soonest first."""
    return template.versions.filter(effective_from__gt=at).order_by("effective_from", "number")
