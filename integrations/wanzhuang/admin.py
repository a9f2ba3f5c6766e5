"""Wanzhuang's device settings in the admin: what each device is sent with its charge mode (saveMode)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import DeviceSettings


@admin.register(DeviceSettings)
class DeviceSettingsAdmin(admin.ModelAdmin):
    """One row per Wanzhuang device that needs other than the defaults; saved here, sent with the next tariff."""

    list_display = ("charger", "serial", "station", "charge_mode", "is_not_disturb", "updated_at")
    list_select_related = ("charger__station",)
    list_filter = ("charge_mode", "is_not_disturb", "is_outage")
    search_fields = ("charger__serial", "charger__name", "charger__station__name")
    ordering = ("charger__serial",)
    # The model limits the choices to Wanzhuang's chargers; the autocomplete asks the same limit.
    autocomplete_fields = ("charger",)
    readonly_fields = ("updated_at",)
    fieldsets = (
        (None, {
            "fields": ("charger", "charge_mode"),
            "description": _("The device gets these settings with its charge mode, the next time its station's "
                             "tariff is sent to it."),
        }),
        (_("Do not disturb"), {"fields": ("is_not_disturb", "not_disturb_start", "not_disturb_end",
                                          "not_disturb_volume")}),
        (_("Power-off"), {"fields": ("is_outage", "auto_off_wait_time", "auto_off_lower_power")}),
        (_("Floating charge"), {"fields": ("floating_charge_time", "floating_charge_power")}),
        (_("Detection"), {"fields": ("detect_time", "check_time")}),
        (_("Billing and display"), {"fields": ("inc_time", "count_mode", "display_delay")}),
        (_("Record"), {"fields": ("updated_at",)}),
    )

    @admin.display(description=_("vendor serial"), ordering="charger__serial")
    def serial(self, obj):
        return obj.charger.serial

    @admin.display(description=_("station"), ordering="charger__station__name")
    def station(self, obj):
        station = obj.charger.station
        return station.name if station is not None else _("Awaiting a station")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # A row is one device's: another device gets a row of its own.
            return ("charger", *self.readonly_fields)
        return self.readonly_fields
