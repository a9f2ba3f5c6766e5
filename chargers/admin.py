import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, Max, Min
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chargers.forms import ChargerImportForm, VendorChoiceForm
from chargers.models import Charger, ChargerEvent, Connector, ConnectorStatus
from chargers.paginators import LargeTablePaginator
from chargers.services import charger_import_from_vendor, charger_sync
from chargers.vendor import VendorError, VendorUnavailable, registry
from tariffs.models import VehicleKind

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


# --- shared by the admin actions that call a vendor cloud: here, in stations, tariffs and orders ---

# Each selected row costs a call to the vendor while the operator waits; more than this is bulk work
# for a task, not for a click.
VENDOR_ACTION_LIMIT = 50


def html_message(text, **values):
    """A translated message (plain text with %(name)s placeholders) whose values may be links.

    The text and plain values are escaped; values already marked safe (format_html links) are not.
    """
    escaped = {name: conditional_escape(value) for name, value in values.items()}
    return mark_safe(conditional_escape(text) % escaped)  # noqa: S308 - the text and every value are escaped


def admin_link(obj, text=None):
    """A link to the admin change page of `obj`."""
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


def too_many_selected(model_admin, request, rows):
    """Tell the operator and return True when `rows` (at most LIMIT + 1 of them) exceed the limit."""
    if len(rows) <= VENDOR_ACTION_LIMIT:
        return False
    model_admin.message_user(
        request,
        gettext("Select at most %(limit)d rows at a time: each one is a call to the vendor.")
        % {"limit": VENDOR_ACTION_LIMIT},
        messages.ERROR,
    )
    return True


def unknown_outcome_text(error):
    """What to tell when a vendor did not answer a request that is safe to send again."""
    return gettext(
        "The vendor did not answer, so whether it received this is unknown (%(error)s). Sending it again is safe."
    ) % {"error": error}


def _no_answer_to_a_read(error):
    return gettext("The vendor did not answer (%(error)s). Try again later.") % {"error": error}


def failure_text(error, *, unavailable=unknown_outcome_text):
    """An operator's words for a refused request: our rule's messages, or the vendor's code and message."""
    if isinstance(error, VendorUnavailable):
        return unavailable(error)
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


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
        awaiting = Charger.objects.filter(station__isnull=True).count()
        extra_context = {**(extra_context or {}), "awaiting_count": awaiting}
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
        chargers = list(queryset.order_by("serial")[: VENDOR_ACTION_LIMIT + 1])
        if too_many_selected(self, request, chargers):
            return
        synced = 0
        for charger in chargers:
            try:
                charger_sync(charger=charger)
            except (ValidationError, VendorError) as error:
                text = failure_text(error, unavailable=_no_answer_to_a_read)
            else:
                synced += 1
                continue
            self.message_user(
                request, html_message(gettext("%(charger)s: %(error)s"), charger=admin_link(charger), error=text),
                messages.ERROR,
            )
        if synced:
            self.message_user(
                request,
                ngettext(
                    "%(count)d charger synced from its vendor.", "%(count)d chargers synced from their vendors.", synced
                )
                % {"count": synced},
                messages.SUCCESS,
            )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="chargers_charger_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """List a vendor's chargers, marking those we have, and add the ticked ones to a station."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        codes = registry.codes()
        # With one vendor there is nothing to choose: list its chargers at once.
        vendor_form = VendorChoiceForm(request.GET or ({"vendor": codes[0]} if len(codes) == 1 else None))
        vendor = vendor_form.cleaned_data["vendor"] if vendor_form.is_bound and vendor_form.is_valid() else None
        listed = None
        if vendor:
            try:
                listed = list(registry.get(vendor).charger_list())
            except VendorError as error:
                self.message_user(request, str(error), messages.ERROR)
        known = {}
        if listed:
            known = {
                charger.serial: charger
                for charger in Charger.objects.filter(vendor=vendor, serial__in=[info.serial for info in listed])
                .select_related("station")
            }
        # Chargers we lack, and those we know from their pushes that await a station: ticking either places it.
        new_serials = [
            info.serial for info in listed or ()
            if info.serial not in known or known[info.serial].station_id is None
        ]
        form = ChargerImportForm(request.POST if request.method == "POST" else None, serials=new_serials)
        if request.method == "POST" and listed is not None and form.is_valid():
            station = form.cleaned_data["station"]
            try:
                imported = charger_import_from_vendor(
                    station=station, vendor=vendor, serials=form.cleaned_data["serials"]
                )
            except VendorError as error:
                self.message_user(request, str(error), messages.ERROR)
            except ValidationError as error:
                for text in error.messages:
                    self.message_user(request, text, messages.ERROR)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d charger imported into %(station)s.",
                        "%(count)d chargers imported into %(station)s.",
                        len(imported),
                    )
                    % {"count": len(imported), "station": station},
                    messages.SUCCESS,
                )
                changelist = reverse("admin:chargers_charger_changelist")
                return redirect(f"{changelist}?{urlencode({'station__id__exact': station.pk})}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import chargers from the vendor"),
            "vendor_form": vendor_form,
            "vendor": vendor,
            "form": form,
            "rows": [
                {
                    "info": info,
                    "charger": known.get(info.serial),
                    "selectable": info.serial in new_serials,
                    "kind": dict(VehicleKind.choices).get(info.kind, info.kind),
                    "status": dict(ConnectorStatus.choices).get(info.status if info.online else "offline", ""),
                }
                for info in listed or ()
            ],
            "new_count": len(new_serials),
            "listed": listed is not None,
        }
        return TemplateResponse(request, "admin/chargers/charger/import.html", context)


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
