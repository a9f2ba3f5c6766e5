from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from chargers.admin import ReadOnlyAdminMixin
from chargers.models import Charger
from stations.models import Station


class ChargerInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The station's chargers at a glance; they are edited on their own page (the link)."""

    model = Charger
    fields = ("serial", "name", "vendor", "kind", "current_type", "rated_power_w", "online", "status", "last_seen_at")
    readonly_fields = fields
    ordering = ("serial",)
    show_change_link = True
    extra = 0


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "status", "access", "city_code", "tariff_template", "charger_count")
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
    # Django 6 makes https the default scheme of a URL typed without one; use it already.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(charger_count=Count("chargers"))

    @admin.display(description=_("chargers"), ordering="charger_count")
    def charger_count(self, obj):
        return obj.charger_count
