import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Exists, Max, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chargers.models import Charger, ChargerEvent, Connector
from chargers.paginators import LargeTablePaginator

# What the vendor cloud reports about a device; a sync overwrites it, so people must not edit it.
CHARGER_VENDOR_FIELDS = (
    "device_type_code",
    "device_type_name",
    "model",
    "hardware_version",
    "firmware_version",
    "communication_type",
    "online",
    "status",
    "vendor_status",
    "last_seen_at",
)
CONNECTOR_VENDOR_FIELDS = ("status", "vendor_status", "parking_status", "status_changed_at")


# --- shared by the admins of vendor-written, large tables: events here, orders and samples in orders ---


class ReadOnlyAdminMixin:
    """For rows that only vendors and services write: people may look, never add, change or delete.

    Viewing stays governed by the view permission; not even a superuser gets the other three,
    because an edit here would contradict the vendor's record and the money derived from it.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _next_period(start, kind):
    if kind == "year":
        return start.replace(year=start.year + 1)
    if kind == "month":
        if start.month == 12:
            return start.replace(year=start.year + 1, month=1)
        return start.replace(month=start.month + 1)
    return start + dt.timedelta(days=1)


def _truncate(moment, kind):
    if kind == "year":
        return moment.replace(month=1, day=1)
    if kind == "month":
        return moment.replace(day=1)
    return moment


class ProbedDatesMixin:
    """A QuerySet whose `datetimes()` probes each period instead of scanning every row.

    The admin's date hierarchy lists the years, months or days that have rows with
    `SELECT DISTINCT trunc(field)`, which reads every row of the filtered queryset: on an orders
    table a month is hundreds of thousands of rows. Here the first and last value come from the
    index (MIN/MAX), and one query asks EXISTS for each candidate period between them (at most 12
    months or 31 days at the levels the hierarchy shows), each an index range probe. Only
    `datetimes()` is probed, which the hierarchy uses for DateTimeFields; `dates()` is Django's.
    """

    PROBED_KINDS = ("year", "month", "day")
    MAX_PROBES = 400  # beyond this many periods a single scan is cheaper than the probes

    def aggregate(self, *args, **kwargs):
        # The date hierarchy asks MIN/MAX of the same queryset twice (once itself, once here);
        # when a filter is not indexed each costs a scan, so the second is answered from memory.
        # A filtered clone is a new instance and starts without this memo.
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return super().aggregate(*args, **kwargs)
        memo = self.__dict__.setdefault("_aggregate_memo", {})
        if key not in memo:
            memo[key] = super().aggregate(*args, **kwargs)
        return dict(memo[key])

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if kind not in self.PROBED_KINDS or order not in ("ASC", "DESC"):
            return super().datetimes(field_name, kind, order, tzinfo)
        tzinfo = (tzinfo or timezone.get_current_timezone()) if settings.USE_TZ else None
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        first, last = bounds["first"], bounds["last"]
        if tzinfo is not None:
            first, last = first.astimezone(tzinfo), last.astimezone(tzinfo)
        start = _truncate(first.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None), kind)
        end = last.replace(tzinfo=None)
        periods = []
        while start <= end:
            periods.append(start.replace(tzinfo=tzinfo))
            start = _next_period(start, kind)
        found = self._probe(field_name, periods, kind)
        if found is None:
            return super().datetimes(field_name, kind, order, tzinfo)
        return found if order == "ASC" else found[::-1]

    def _probe(self, field_name, periods, kind):
        if len(periods) > self.MAX_PROBES:
            return None
        probes = {
            f"period_{i}": Exists(
                self.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": _next_period(start, kind)})
            )
            for i, start in enumerate(periods)
        }
        # One row of the table carries the uncorrelated EXISTS columns; the database evaluates
        # each once. The table has rows: the MIN above found one.
        row = self.model._base_manager.using(self.db).order_by().annotate(**probes).values_list(*probes)[:1]
        flags = next(iter(row))
        return [start for start, present in zip(periods, flags, strict=True) if present]


_probed_classes = {}


def with_probed_dates(queryset):
    """The same queryset, of a subclass of its own class with ProbedDatesMixin's datetimes()."""
    cls = queryset.__class__
    if cls not in _probed_classes:
        _probed_classes[cls] = type(f"ProbedDates{cls.__name__}", (ProbedDatesMixin, cls), {})
    clone = queryset._chain()
    clone.__class__ = _probed_classes[cls]
    return clone


class LargeTableChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        return with_probed_dates(super().get_queryset(request, exclude_parameters))


class LargeTableAdminMixin:
    """Keeps the changelist of a table with millions of rows to a few indexed queries.

    No full COUNT(*) (neither of the filtered nor of the whole table), no facet counts, which
    would each scan the table on every page view, and a date hierarchy that probes the index
    instead of reading every row (ProbedDatesMixin).
    """

    paginator = LargeTablePaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_changelist(self, request, **kwargs):
        return LargeTableChangeList


# --- chargers, connectors, events ---------------------------------------------------------------


class ConnectorInline(admin.TabularInline):
    model = Connector
    fields = ("number", "name", *CONNECTOR_VENDOR_FIELDS)
    readonly_fields = CONNECTOR_VENDOR_FIELDS
    ordering = ("number",)
    extra = 0

    def get_queryset(self, request):
        # Each row's title is str(connector), which names its charger.
        return super().get_queryset(request).select_related("charger")


@admin.register(Charger)
class ChargerAdmin(admin.ModelAdmin):
    list_display = (
        "serial",
        "name",
        "vendor",
        "station",
        "kind",
        "current_type",
        "rated_power_w",
        "online",
        "status",
        "last_seen_at",
    )
    list_display_links = ("serial", "name")
    list_select_related = ("station",)
    list_filter = ("vendor", "kind", "current_type", "online", "status", "station")
    search_fields = ("serial", "name", "station__name")
    fieldsets = (
        (None, {"fields": ("station", "vendor", "serial", "name")}),
        (_("Electrical"), {"fields": ("kind", "current_type", "rated_power_w")}),
        (_("Reported by the vendor"), {"fields": CHARGER_VENDOR_FIELDS}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ConnectorInline,)

    def get_readonly_fields(self, request, obj=None):
        readonly = (*CHARGER_VENDOR_FIELDS, "created_at", "updated_at")
        if obj is not None:
            # The vendor and its serial are how the vendor cloud knows the device; changing them
            # would silently re-point the charger's history at another device.
            readonly = ("vendor", "serial", *readonly)
        return readonly


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
        return obj.charger.station.name


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
        return obj.charger.station.name

    @admin.display(description=_("connector"))
    def connector_number(self, obj):
        return obj.connector.number if obj.connector_id else None
