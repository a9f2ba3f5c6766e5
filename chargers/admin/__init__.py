"""The admin of chargers, connectors and their events; the import page is `imports.py`."""

from functools import partial

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import LargeTableAdminMixin, Operation, ReadOnlyAdminMixin, operation_run_selected
from backoffice.errors import no_answer_message
from chargers.models import DEVICE_DESCRIPTION_FIELDS, Charger, ChargerEvent, Connector
from chargers.selectors import chargers_awaiting_station_count
from chargers.services import charger_sync

from .imports import charger_import_view

# What the vendor cloud reports about a device; a sync overwrites it, so people must not edit it.
CHARGER_VENDOR_FIELDS = (
    *DEVICE_DESCRIPTION_FIELDS,
    "online",
    "status",
    "vendor_status",
    "last_seen_at",
)
CONNECTOR_VENDOR_FIELDS = ("status", "vendor_status", "parking_status", "status_changed_at")


# --- chargers, connectors, events ---------------------------------------------------------------


class ConnectorInline(admin.TabularInline):
    model = Connector
    fields = ("number", "name", *CONNECTOR_VENDOR_FIELDS, "session")
    readonly_fields = (*CONNECTOR_VENDOR_FIELDS, "session")
    ordering = ("number",)
    extra = 0

    def get_queryset(self, request):
        # Each row's title is str(connector), which names its charger.
        return super().get_queryset(request).select_related("charger")

    @admin.display(description=_("session"))
    def session(self, obj):
        if obj.pk is None:
            return None
        url = reverse("admin:orders_order_start", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Start or reserve"))


class AwaitingStationFilter(admin.SimpleListFilter):
    title = _("placement")
    parameter_name = "placement"

    def lookups(self, request, model_admin):
        return (("awaiting", _("Awaiting a station")), ("placed", _("In a station")))

    def queryset(self, request, queryset):
        if self.value() == "awaiting":
            return queryset.filter(station__isnull=True)
        if self.value() == "placed":
            return queryset.filter(station__isnull=False)
        return queryset


SYNC = Operation(
    service=lambda charger: charger_sync(charger=charger),
    done_count=ngettext_lazy(
        "%(count)d charger synced from its vendor.", "%(count)d chargers synced from their vendors.", "count"
    ),
    unknown=no_answer_message,
)


@admin.register(Charger)
class ChargerAdmin(admin.ModelAdmin):
    list_display = (
        "serial",
        "name",
        "vendor",
        "placement",
        "kind",
        "current_type",
        "rated_power_w",
        "online",
        "status",
        "last_seen_at",
    )
    list_display_links = ("serial", "name")
    list_select_related = ("station",)
    list_filter = (AwaitingStationFilter, "vendor", "kind", "current_type", "online", "status", "station")
    search_fields = ("serial", "name", "station__name")
    fieldsets = (
        (None, {"fields": ("station", "vendor", "serial", "name")}),
        (_("Electrical"), {"fields": ("kind", "current_type", "rated_power_w")}),
        (_("Reported by the vendor"), {"fields": CHARGER_VENDOR_FIELDS}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ConnectorInline,)
    actions = ("sync_from_vendor",)
    change_list_template = "admin/chargers/charger/change_list.html"

    @admin.display(description=_("station"), ordering="station__name")
    def placement(self, obj):
        if obj.station_id is None:
            return format_html('<strong class="awaiting-station">{}</strong>', gettext("Awaiting a station"))
        return obj.station

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "awaiting_count": chargers_awaiting_station_count()}
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request, obj=None):
        readonly = (*CHARGER_VENDOR_FIELDS, "created_at", "updated_at")
        if obj is not None:
            # The vendor and its serial are how the vendor cloud knows the device; changing them
            # would silently re-point the charger's history at another device.
            readonly = ("vendor", "serial", *readonly)
        return readonly

    # --- asking the vendor: sync the selected chargers, import the ones it has and we lack ---------------

    @admin.action(description=_("Sync from vendor"), permissions=("change",))
    def sync_from_vendor(self, request, queryset):
        operation_run_selected(self, request, queryset.order_by("serial"), SYNC)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(partial(charger_import_view, self)), name="chargers_charger_import"),
            *super().get_urls(),
        ]

@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    list_display = (
        "charger_serial",
        "number",
        "name",
        "station_name",
        "status",
        "vendor_status",
        "parking_status",
        "status_changed_at",
    )
    list_display_links = ("charger_serial", "number")
    list_select_related = ("charger__station",)
    list_filter = ("status", "parking_status", "charger__vendor")
    search_fields = ("charger__serial", "charger__name", "charger__station__name")
    ordering = ("charger__serial", "number")
    autocomplete_fields = ("charger",)
    fields = ("charger", "number", "name", *CONNECTOR_VENDOR_FIELDS)
    readonly_fields = CONNECTOR_VENDOR_FIELDS

    @admin.display(description=_("charger"), ordering="charger__serial")
    def charger_serial(self, obj):
        return obj.charger.serial

    @admin.display(description=_("station"), ordering="charger__station__name")
    def station_name(self, obj):
        station = obj.charger.station
        return station.name if station is not None else gettext("Awaiting a station")


@admin.register(ChargerEvent)
class ChargerEventAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = (
        "charger_serial",
        "station_name",
        "connector_number",
        "source",
        "code",
        "name",
        "state",
        "device_time",
    )
    list_select_related = ("charger__station", "connector")
    list_filter = ("state", "source", "charger__vendor")
    # Exact lookups keep the search on indexes/small tables; `=` would be iexact, i.e. UPPER() on
    # PostgreSQL, which no plain index serves.
    search_fields = ("charger__serial__exact", "code__exact")
    ordering = ("-device_time", "-id")
    sortable_by = ("device_time",)
    raw_id_fields = ("charger", "connector")
    fields = ("charger", "connector", "source", "code", "name", "state", "device_time", "received_at")
    readonly_fields = fields

    @admin.display(description=_("charger"))
    def charger_serial(self, obj):
        return obj.charger.serial

    @admin.display(description=_("station"))
    def station_name(self, obj):
        station = obj.charger.station
        return station.name if station is not None else gettext("Awaiting a station")

    @admin.display(description=_("connector"))
    def connector_number(self, obj):
        return obj.connector.number if obj.connector_id else None
