"""The admin of chargers, connectors, their events and offline revenue; the import page is `imports.py`, the
discovery of a vendor's chargers `discover.py`."""

import json
from functools import partial

from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import (
    VENDOR_ACTION_LIMIT,
    HistoryAdminMixin,
    LargeTableAdminMixin,
    Operation,
    ReadOnlyAdminMixin,
    admin_link,
    html_message,
    operation_run,
    operation_run_selected,
    too_many_selected,
)
from backoffice.errors import no_answer_message
from chargers.forms import VendorChoiceForm
from chargers.models import DEVICE_DESCRIPTION_FIELDS, Charger, ChargerEvent, Connector, OfflineRevenueReading
from chargers.selectors import chargers_awaiting_station_count
from chargers.services import (
    charger_force_offline,
    charger_reboot,
    charger_register,
    charger_sync,
    charger_tariff_read,
    connector_fault_set,
)
from tariffs.units import format_fen

from .discover import can_discover, charger_discover_view
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

REGISTER = Operation(
    service=lambda charger: charger_register(charger=charger),
    done_count=ngettext_lazy(
        "%(count)d charger added to its vendor's account.", "%(count)d chargers added to their vendors' accounts.",
        "count",
    ),
)


def _reboot_unknown(error):
    return gettext(
        "the vendor did not answer, so whether the charger is rebooting is unknown (%(error)s). Look at its "
        "status in a few minutes before asking again: a second reboot interrupts the first."
    ) % {"error": error}


REBOOT = Operation(
    service=lambda charger: charger_reboot(charger=charger),
    done_count=ngettext_lazy(
        "%(count)d charger asked to reboot; it is offline for a while.",
        "%(count)d chargers asked to reboot; they are offline for a while.",
        "count",
    ),
    unknown=_reboot_unknown,
)

FORCE_OFFLINE = Operation(
    service=lambda charger: charger_force_offline(charger=charger),
    done_count=ngettext_lazy(
        "%(count)d charger disconnected by its vendor; it connects again by itself.",
        "%(count)d chargers disconnected by their vendors; they connect again by themselves.",
        "count",
    ),
)

# Each charger's answer is a message of its own (same or different); the count is not told.
TARIFF_READ = Operation(service=lambda charger: charger_tariff_read(charger=charger), done_count="",
                        unknown=no_answer_message)


def _tariff_value(value):
    """A field's value as a vendor keeps it, for a message: structures as compact JSON, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def tariff_read_tell(model_admin, request, charger, tariff):
    """Tell one charger's tariff as its vendor keeps it: the same as ours, or each field that differs."""
    link = admin_link(charger)
    if tariff.same:
        model_admin.message_user(
            request,
            html_message(gettext("%(object)s: its vendor's tariff is the same as the tariff in force."), object=link),
            messages.SUCCESS,
        )
        return
    differences = "; ".join(
        gettext("%(field)s: the vendor has %(held)s, ours is %(ours)s")
        % {"field": name, "held": _tariff_value(tariff.held.get(name)), "ours": _tariff_value(tariff.ours.get(name))}
        for name in tariff.differences
    )
    model_admin.message_user(
        request,
        html_message(
            gettext("%(object)s: its vendor's tariff differs from the tariff in force (%(differences)s). Sending "
                    "the tariff to the charger again sets ours."),
            object=link,
            differences=differences,
        ),
        messages.WARNING,
    )


@admin.register(Charger)
class ChargerAdmin(HistoryAdminMixin, admin.ModelAdmin):
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
    # Its connectors' numbers and names are edited on its page: their history is on its history page too.
    history_related = ((Connector, "charger"),)
    actions = ("sync_from_vendor", "register_at_vendor", "reboot", "force_offline", "read_tariff")
    change_list_template = "admin/chargers/charger/change_list_tools.html"

    @admin.display(description=_("station"), ordering="station__name")
    def placement(self, obj):
        if obj.station_id is None:
            return format_html('<strong class="awaiting-station">{}</strong>', gettext("Awaiting a station"))
        return obj.station

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "awaiting_count": chargers_awaiting_station_count()}
        if can_discover(self, request):
            extra_context["discover_form"] = VendorChoiceForm()
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request, obj=None):
        readonly = (*CHARGER_VENDOR_FIELDS, "created_at", "updated_at")
        if obj is not None:
            # The vendor and its serial are how the vendor cloud knows the device; changing them
            # would silently re-point the charger's history at another device.
            readonly = ("vendor", "serial", *readonly)
        return readonly

    # --- asking the vendor: sync, register, reboot, disconnect, read the tariff of the selected chargers;
    # import the ones it has and we lack; discover them all ---------------------------------------------

    @admin.action(description=_("Sync from vendor"), permissions=("change",))
    def sync_from_vendor(self, request, queryset):
        operation_run_selected(self, request, queryset.order_by("serial"), SYNC)

    @admin.action(description=_("Add to the vendor's account"), permissions=("change",))
    def register_at_vendor(self, request, queryset):
        operation_run_selected(self, request, queryset.order_by("serial"), REGISTER)

    @admin.action(description=_("Reboot"), permissions=("change",))
    def reboot(self, request, queryset):
        operation_run_selected(self, request, queryset.order_by("serial"), REBOOT)

    @admin.action(description=_("Force offline"), permissions=("change",))
    def force_offline(self, request, queryset):
        operation_run_selected(self, request, queryset.order_by("serial"), FORCE_OFFLINE)

    @admin.action(description=_("Read back the tariff"), permissions=("change",))
    def read_tariff(self, request, queryset):
        chargers = list(queryset.select_related("station").order_by("serial")[: VENDOR_ACTION_LIMIT + 1])
        if too_many_selected(self, request, chargers):
            return
        for charger in chargers:
            done, tariff = operation_run(self, request, charger, TARIFF_READ)
            if done:
                tariff_read_tell(self, request, charger, tariff)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(partial(charger_import_view, self)), name="chargers_charger_import"),
            path("discover/", wrap(partial(charger_discover_view, self)), name="chargers_charger_discover"),
            *super().get_urls(),
        ]

FAULT_MARK = Operation(
    service=lambda connector: connector_fault_set(connector=connector, faulty=True),
    done_count=ngettext_lazy(
        "%(count)d connector marked faulty at its vendor: it takes no session, and its next status report shows it.",
        "%(count)d connectors marked faulty at their vendors: they take no session, and their next status reports "
        "show it.",
        "count",
    ),
)

FAULT_CLEAR = Operation(
    service=lambda connector: connector_fault_set(connector=connector, faulty=False),
    done_count=ngettext_lazy(
        "The fault mark of %(count)d connector was cleared at its vendor; its next status report shows it.",
        "The fault marks of %(count)d connectors were cleared at their vendors; their next status reports show it.",
        "count",
    ),
)


@admin.register(Connector)
class ConnectorAdmin(HistoryAdminMixin, admin.ModelAdmin):
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
    actions = ("mark_faulty", "clear_fault")

    @admin.action(description=_("Mark faulty at the vendor"), permissions=("change",))
    def mark_faulty(self, request, queryset):
        operation_run_selected(self, request, queryset.select_related("charger"), FAULT_MARK)

    @admin.action(description=_("Clear the fault mark"), permissions=("change",))
    def clear_fault(self, request, queryset):
        operation_run_selected(self, request, queryset.select_related("charger"), FAULT_CLEAR)

    @admin.display(description=_("charger"), ordering="charger__serial")
    def charger_serial(self, obj):
        return obj.charger.serial

    @admin.display(description=_("station"), ordering="charger__station__name")
    def station_name(self, obj):
        station = obj.charger.station
        return station.name if station is not None else gettext("Awaiting a station")


class ChargerColumnsMixin:
    """The charger and its station as columns of a large table of a charger's records (events, readings)."""

    @admin.display(description=_("charger"))
    def charger_serial(self, obj):
        return obj.charger.serial

    @admin.display(description=_("station"))
    def station_name(self, obj):
        station = obj.charger.station
        return station.name if station is not None else gettext("Awaiting a station")


@admin.register(ChargerEvent)
class ChargerEventAdmin(ChargerColumnsMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
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


    @admin.display(description=_("connector"))
    def connector_number(self, obj):
        return obj.connector.number if obj.connector_id else None


@admin.register(OfflineRevenueReading)
class OfflineRevenueReadingAdmin(ChargerColumnsMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """What the devices took by themselves (coins, offline cards), every reading as it came. Millions of rows in
    time: no date hierarchy, sorted only by the device's time (its index)."""

    list_display = (
        "charger_serial",
        "station_name",
        "device_time",
        "coin_total",
        "card_total",
        "coin",
        "card",
        "counted",
        "reset",
    )
    list_select_related = ("charger__station",)
    list_filter = ("counted", "reset", "charger__vendor")
    search_fields = ("charger__serial__exact",)
    search_help_text = _("Exact charger serial.")
    ordering = ("-device_time", "-id")
    sortable_by = ("device_time",)
    raw_id_fields = ("charger",)
    fields = ("charger", "device_time", "coin_total", "card_total", "coin", "card", "counted", "reset", "received_at")
    readonly_fields = fields


    @admin.display(description=_("coin total (yuan)"))
    def coin_total(self, obj):
        return format_fen(obj.coin_total_fen)

    @admin.display(description=_("offline card total (yuan)"))
    def card_total(self, obj):
        return format_fen(obj.card_total_fen)

    @admin.display(description=_("coins since the reading before (yuan)"))
    def coin(self, obj):
        return format_fen(obj.coin_fen)

    @admin.display(description=_("offline cards since the reading before (yuan)"))
    def card(self, obj):
        return format_fen(obj.card_fen)
