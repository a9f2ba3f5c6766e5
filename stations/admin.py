from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import HistoryAdminMixin, Operation, ReadOnlyAdminMixin, operation_run_selected
from backoffice.errors import REFUSALS, error_message
from chargers.models import Charger
from chargers.services import station_push
from stations.models import Station
from stations.services import station_tariff_assign
from tariffs.forms import StationTariffAssignForm
from tariffs.selectors import tariff_version_in_force_subquery


class ChargerInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The station's chargers at a glance; they are edited on their own page (the link)."""

    model = Charger
    fields = ("serial", "name", "vendor", "kind", "current_type", "rated_power_w", "online", "status", "last_seen_at")
    readonly_fields = fields
    ordering = ("serial",)
    show_change_link = True
    extra = 0


SEND_TO_VENDOR = Operation(
    service=lambda station: station_push(station=station),
    done_count=ngettext_lazy(
        "%(count)d station sent to the vendors of its chargers.",
        "%(count)d stations sent to the vendors of their chargers.",
        "count",
    ),
)


@admin.register(Station)
class StationAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "status",
        "access",
        "city_code",
        "tariff_template",
        "tariff_version_in_force",
        "charger_count",
    )
    list_display_links = ("code", "name")
    list_select_related = ("tariff_template",)
    list_filter = ("kind", "status", "access", "tariff_template")
    search_fields = ("code", "name", "address")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "status", "access")}),
        (_("Location"), {"fields": ("city_code", "address", "longitude", "latitude")}),
        (
            _("Service"),
            {"fields": ("service_hours", "service_phone", "parking_fee", "guide", "picture_url")},
        ),
        (_("Billing"), {"fields": ("tariff_template",)}),
        (_("Parking platform"), {"fields": ("fourpyun_station_uuid",)}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ChargerInline,)
    actions = ("assign_tariff_template", "send_to_vendor")
    # Django 6 makes https the default scheme of a URL typed without one; use it already.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                charger_count=Count("chargers"),
                version_number=tariff_version_in_force_subquery(
                    template_ref="tariff_template_id", at=timezone.now(), field="number"
                ),
            )
        )

    @admin.display(description=_("tariff version in force"))
    def tariff_version_in_force(self, obj):
        if obj.tariff_template_id is None:
            return None
        return f"v{obj.version_number}" if obj.version_number else gettext("not published")

    @admin.action(description=_("Assign a tariff template"), permissions=("change",))
    def assign_tariff_template(self, request, queryset):
        form = StationTariffAssignForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                changed = station_tariff_assign(
                    station_ids=list(queryset.values_list("pk", flat=True)), template=form.cleaned_data["template"]
                )
            except REFUSALS as error:
                self.message_user(request, error_message(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d station now uses %(template)s.",
                        "%(count)d stations now use %(template)s.",
                        changed,
                    )
                    % {"count": changed, "template": form.cleaned_data["template"]},
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Assign a tariff template"),
            "form": form,
            "stations": queryset.order_by("code"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/stations/assign_tariff.html", context)

    @admin.action(description=_("Send to vendor"), permissions=("change",))
    def send_to_vendor(self, request, queryset):
        operation_run_selected(self, request, queryset.order_by("code"), SEND_TO_VENDOR)

    @admin.display(description=_("chargers"), ordering="charger_count")
    def charger_count(self, obj):
        return obj.charger_count
