"""The admin of tariff templates and versions; their pages are `publish.py`, `preview.py` and `push.py`."""

from functools import partial

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import HistoryAdminMixin, ReadOnlyAdminMixin
from tariffs.comparison import tariff_changes
from tariffs.display import render_changes, render_tariff
from tariffs.forms import TariffDetailForm, TariffDetailFormSet, TariffTemplateForm
from tariffs.models import TariffDetail, TariffTemplate, TariffVersion
from tariffs.selectors import (
    tariff_template_draft,
    tariff_version_in_force,
    tariff_version_in_force_subquery,
    tariff_version_latest,
)
from tariffs.services import tariff_template_renumber
from tariffs.units import format_duration, format_fen

from .preview import tariff_preview_view
from .publish import tariff_publish_view
from .push import tariff_version_push_view, tariff_version_pushes_context

COMPARE_SHOWN_CHARS = 20
VERSION_NUMBER_DIGITS = 9  # a version number is a PositiveIntegerField


class TariffDetailInline(admin.TabularInline):
    model = TariffDetail
    form = TariffDetailForm
    formset = TariffDetailFormSet
    ordering = ("position",)
    extra = 0
    verbose_name = _("period or power tier")
    verbose_name_plural = _("periods (EV, or e-bike by energy) or power tiers (e-bike)")


@admin.register(TariffTemplate)
class TariffTemplateAdmin(HistoryAdminMixin, admin.ModelAdmin):
    form = TariffTemplateForm
    change_form_template = "admin/tariffs/tarifftemplate/change_form.html"
    list_display = (
        "external_id",
        "name",
        "kind",
        "free_time",
        "min_balance",
        "version_in_force",
        "latest_version",
        "station_count",
        "detail_count",
        "updated_at",
    )
    list_display_links = ("external_id", "name")
    list_filter = ("kind",)
    search_fields = ("external_id", "name")
    readonly_fields = ("publication", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("external_id", "name", "kind", "publication")}),
        (_("Charging rules"), {"fields": ("free_charge_seconds", "min_balance_fen")}),
        (
            _("E-bike settings"),
            {
                "fields": ("start_fee_fen", "max_pay_fen", "refundable", "free_charging"),
                "description": _(
                    "Used by e-bike templates (Wanzhuang charge modes); EV templates leave them as they are."
                ),
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (TariffDetailInline,)
    # Its periods and tiers are edited on its page: their history is on its history page too.
    history_related = ((TariffDetail, "template"),)

    def get_queryset(self, request):
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                detail_count=Count("details", distinct=True),
                station_count=Count("stations", distinct=True),
                in_force_number=tariff_version_in_force_subquery(template_ref="pk", at=now, field="number"),
                latest_number=Subquery(
                    TariffVersion.objects.filter(template=OuterRef("pk")).order_by("-number").values("number")[:1]
                ),
            )
        )

    @admin.display(description=_("free charging time"), ordering="free_charge_seconds")
    def free_time(self, obj):
        return format_duration(obj.free_charge_seconds)

    @admin.display(description=_("minimum balance (yuan)"), ordering="min_balance_fen")
    def min_balance(self, obj):
        return format_fen(obj.min_balance_fen)

    @admin.display(description=_("in force"), ordering="in_force_number")
    def version_in_force(self, obj):
        return f"v{obj.in_force_number}" if obj.in_force_number else "—"

    @admin.display(description=_("latest version"))
    def latest_version(self, obj):
        return f"v{obj.latest_number}" if obj.latest_number else "—"

    @admin.display(description=_("stations"), ordering="station_count")
    def station_count(self, obj):
        return obj.station_count

    @admin.display(description=_("rows"), ordering="detail_count")
    def detail_count(self, obj):
        return obj.detail_count

    @admin.display(description=_("publication"))
    def publication(self, obj):
        if obj.pk is None:
            return gettext("Save the template, then publish it.")
        latest = tariff_version_latest(template=obj)
        draft = tariff_template_draft(template=obj)
        if latest is None:
            return gettext("Never published: sessions cannot be priced with it until it is.")
        changes = tariff_changes(latest.tariff, draft)
        if not changes:
            return gettext("The working copy is the same as version %(number)s.") % {"number": latest.number}
        return format_html(
            "{}{}",
            gettext("Changed since version %(number)s, not yet published:") % {"number": latest.number},
            render_changes(changes),
        )

    # --- saving: rows are numbered by time or power, whatever order they were typed in ----------------

    def save_formset(self, request, form, formset, change):
        if formset.model is not TariffDetail:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        top = max(TariffDetail.objects.filter(template=form.instance).values_list("position", flat=True), default=0)
        for number, instance in enumerate(instances, start=1):
            if instance.pk is None:
                instance.position = top + number
            instance.save()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        tariff_template_renumber(template=form.instance)

    # --- publish, preview ------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/publish/", wrap(partial(tariff_publish_view, self)), name="tariffs_tarifftemplate_publish"),
            path("<int:pk>/preview/", wrap(partial(tariff_preview_view, self)), name="tariffs_tarifftemplate_preview"),
            *super().get_urls(),
        ]

@admin.register(TariffVersion)
class TariffVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Published versions: read-only history; publishing happens on the template's page."""

    # The version page with the tariff push below it (extends admin/tariffs/tariffversion/change_form.html).
    change_form_template = "admin/tariffs/version_push_change_form.html"

    list_display = (
        "template",
        "number",
        "state",
        "effective_from",
        "published_by_name",
        "published_at",
        "note",
        "order_count",
    )
    list_display_links = ("template", "number")
    list_select_related = ("template",)
    list_filter = ("template__kind", "template")
    search_fields = ("template__external_id", "template__name", "name")
    ordering = ("template__name", "-number")
    fields = (
        "template",
        "number",
        "name",
        "state",
        "effective_from",
        "published_at",
        "published_by_name",
        "note",
        "tariff_table",
        "usage",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                in_force_id=tariff_version_in_force_subquery(template_ref="template_id", at=now),
                order_count=Count("orders"),
            )
        )

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.in_force_id == obj.pk:
            return gettext("in force")
        if obj.effective_from > timezone.now():
            return gettext("scheduled")
        return gettext("superseded")

    @admin.display(description=_("orders"), ordering="order_count")
    def order_count(self, obj):
        return obj.order_count

    @admin.display(description=_("tariff"))
    def tariff_table(self, obj):
        return render_tariff(obj.tariff)

    @admin.display(description=_("used by"))
    def usage(self, obj):
        now = timezone.now()
        current = tariff_version_in_force(template=obj.template_id, at=now)
        stations = obj.template.stations.annotate(charger_count=Count("chargers")).order_by("code")
        return render_to_string(
            "admin/tariffs/includes/usage.html",
            {"stations": stations, "in_force": current is not None and current.pk == obj.pk, "version": obj},
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        if version is not None:
            extra_context = {
                **(extra_context or {}),
                **self._comparison(request, version, request.GET.get("compare", "")),
                **tariff_version_pushes_context(request, version),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- sending the version to the chargers, and what each charger answered ----------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/push/", wrap(partial(tariff_version_push_view, self)), name="tariffs_tariffversion_push"),
            *super().get_urls(),
        ]

    def _comparison(self, request, version, compare):
        """The difference to the version before it, or to `?compare=<number>` when the operator picks one.

        A `compare` that is no other version of the template (a typo, a number of 5,000 digits, "²") is
        said so, and the version before is compared.
        """
        others = version.template.versions.exclude(pk=version.pk).order_by("-number")
        number = _version_number(compare)
        other = others.filter(number=number).first() if number is not None else None
        if compare and other is None:
            self.message_user(
                request,
                gettext("“%(compare)s” is not another version of this template to compare with.")
                % {"compare": Truncator(compare).chars(COMPARE_SHOWN_CHARS)},
                messages.WARNING,
            )
        other = other or others.filter(number__lt=version.number).first()
        context = {"other_numbers": list(others.values_list("number", flat=True)), "compared": other}
        if other is not None:
            before, after = sorted((other, version), key=lambda v: v.number)
            context.update(
                before=before, after=after, changes=render_changes(tariff_changes(before.tariff, after.tariff))
            )
        return context


def _version_number(text):
    """The version number `text` writes in ASCII digits, or None (int() also reads "²" as a digit, and
    refuses 5,000 of them)."""
    if text.isascii() and text.isdigit() and len(text) <= VERSION_NUMBER_DIGITS:
        return int(text)
    return None
