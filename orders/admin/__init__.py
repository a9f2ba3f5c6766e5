"""The admin of partners, orders and their samples; commands on sessions and the start page are `sessions.py`,
charging cards `cards.py`, the vendor's log of a session `vendor_log.py`."""

from functools import partial
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import (
    HistoryAdminMixin,
    LargeTableAdminMixin,
    Operation,
    ReadOnlyAdminMixin,
    admin_link,
    operation_run_selected,
)
from chargers.vendor import ChargeStrategy
from orders.models import ConflictKind, Order, OrderConflict, OrderSample, OrderSettlement, OrderStatus, Partner
from orders.selectors import order_price_breakdown, order_price_stored, order_samples
from orders.services import order_settlement_resend
from tariffs.display import render_breakdown
from tariffs.units import format_duration, format_fen, format_tenths, format_wh

from . import cards, close  # noqa: F401  (register the charging cards' and the daily close's admin)
from .curve import order_curve_field
from .exports import orders_export_csv, orders_export_xlsx
from .sessions import SESSION_COMMANDS, session_operation_view, session_start_view
from .vendor_log import order_vendor_log_view

SETTLEMENT_RESEND = Operation(
    service=lambda order: order_settlement_resend(order=order),
    done_count=ngettext_lazy(
        "The vendor was asked to send the settlement of %(count)d session again; it arrives as a push.",
        "The vendor was asked to send the settlements of %(count)d sessions again; they arrive as pushes.",
        "count",
    ),
    unknown=lambda error: gettext(
        "the vendor did not answer, so whether it will send the settlement again is unknown (%(error)s). Asking "
        "again is safe: a settlement is applied once."
    ) % {"error": error},
    label=lambda order: gettext("Order %(order)s") % {"order": order.order_no},
)


@admin.register(Partner)
class PartnerAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = ("name", "org_code", "enabled", "created_at")
    list_filter = ("enabled",)
    search_fields = ("name", "org_code")
    readonly_fields = ("created_at",)
    fields = ("name", "org_code", "enabled", "created_at")


class SampleDisplayMixin:
    """Columns of a progress reading in display units, shared by the inline and the changelist."""

    @admin.display(description=_("voltage (V)"))
    def voltage(self, obj):
        return format_tenths(obj.voltage_dv)

    @admin.display(description=_("current (A)"))
    def current(self, obj):
        return format_tenths(obj.current_da)

    @admin.display(description=_("cumulative energy (kWh)"))
    def energy(self, obj):
        return format_wh(obj.energy_wh)

    @admin.display(description=_("cumulative cost (yuan)"))
    def cost(self, obj):
        if obj.cost_fen is None:
            return self.get_empty_value_display()
        return format_fen(obj.cost_fen)


class OrderSampleInline(SampleDisplayMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """The session's progress curve, read-only.

    A long session has a thousand readings or more and each row of a read-only inline costs about a
    millisecond to render, so beyond `max_shown` rows the inline thins them evenly, always keeping
    the first and the last; the order's "samples" field links to all of them.
    """

    model = OrderSample
    fields = ("device_time", "voltage", "current", "power_w", "energy", "cost", "soc", "left_out", "received_at")
    readonly_fields = fields
    ordering = ("device_time", "id")
    extra = 0
    max_shown = 100

    def thinned_queryset(self, order):
        """The order's samples through the days they were received in (`order_samples`), thinned."""
        rows = order_samples(order=order).order_by(*self.ordering)
        ids = list(rows.values_list("pk", flat=True))
        total, shown = len(ids), self.max_shown
        if total <= shown:
            return rows
        return rows.filter(pk__in=[ids[i * (total - 1) // (shown - 1)] for i in range(shown)])


class SessionFiguresMixin:
    """A session's energy and charging time in display units, for the order and each of its settlements."""

    @admin.display(description=_("energy (kWh)"))
    def energy(self, obj):
        return format_wh(obj.energy_wh)

    @admin.display(description=_("charging time"))
    def charge_time(self, obj):
        return format_duration(obj.charge_seconds)


class OrderSettlementInline(SessionFiguresMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """Every closing word the order got, so that a close from a progress answer and the vendor's settlement
    that completed it are both there to compare."""

    model = OrderSettlement
    fields = ("recorded_at", "source", "applied", "started_at", "ended_at", "energy", "charge_time", "vendor_total",
              "close_reason", "vendor_close_code", "close_reason_text")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("vendor's total (yuan)"))
    def vendor_total(self, obj):
        if obj.vendor_total_fen is None:
            return self.get_empty_value_display()
        return format_fen(obj.vendor_total_fen)


class OrderConflictInline(ReadOnlyAdminMixin, admin.TabularInline):
    """What contradicts itself about the order: each is a difference in the day's reconciliation."""

    model = OrderConflict
    fields = ("recorded_at", "kind", "detail")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("detail"))
    def detail(self, obj):
        return obj.detail


class ConflictFilter(admin.SimpleListFilter):
    """Orders with a conflict for finance, of any kind or of one (an index on conflicts serves it)."""

    title = _("conflicts")
    parameter_name = "conflict"

    def lookups(self, request, model_admin):
        return [("any", _("Any conflict")), *ConflictKind.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        conflicts = OrderConflict.objects.filter(order=OuterRef("pk"))
        if value != "any":
            conflicts = conflicts.filter(kind=value)
        return queryset.filter(Exists(conflicts))


@admin.register(Order)
class OrderAdmin(SessionFiguresMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = (
        "order_no",
        "status",
        "station",
        "charger_serial",
        "connector_number",
        "partner",
        "started_at",
        "energy",
        "total",
        "close_reason",
    )
    list_select_related = ("station", "charger", "connector", "partner")
    list_filter = ("status", "strategy", "partner", "station", "close_reason", ConflictFilter)
    date_hierarchy = "created_at"
    # Only exact and prefix lookups, so an index can serve them: the admin's `=` and `^` prefixes
    # mean iexact/istartswith, i.e. UPPER(column) on PostgreSQL, which no plain index serves.
    search_fields = (
        "order_no__exact",
        "vendor_order_id__exact",
        "partner_order_no__exact",
        "driver_id__exact",
        "plate__startswith",
    )
    search_help_text = _("Exact order number, vendor order id, partner order number or driver id; or a plate's start.")
    ordering = ("-created_at", "-id")
    # Sorting by any other column would sort the whole table on every page.
    sortable_by = ("order_no", "started_at")
    raw_id_fields = ("partner", "station", "charger", "connector")
    fieldsets = (
        (
            _("Identity"),
            {"fields": ("order_no", "vendor_order_id", "status", "vendor_status", "created_at", "updated_at")},
        ),
        (_("Partner and driver"), {"fields": ("partner", "partner_order_no", "card_link", "driver_id", "mobile")}),
        (_("Place"), {"fields": ("station", "charger", "connector")}),
        (_("Strategy"), {"fields": ("strategy", "strategy_parameter", "authorized_amount")}),
        (
            _("Progress and money"),
            {
                "fields": (
                    "started_at",
                    "ended_at",
                    "charge_time",
                    "park_time",
                    "energy",
                    "soc",
                    "electricity_fee",
                    "service_fee",
                    "total",
                    "samples",
                    "curve",
                )
            },
        ),
        (_("Vehicle"), {"fields": ("plate", "vin")}),
        (_("Close"), {"fields": ("close_reason", "vendor_close_code", "close_reason_text", "settled_from")}),
        (_("Price"), {"fields": ("tariff_version_link", "price_breakdown")}),
    )
    readonly_fields = tuple(field for _title, options in fieldsets for field in options["fields"])
    curve = order_curve_field
    inlines = (OrderConflictInline, OrderSettlementInline, OrderSampleInline)
    actions = ("stop_charging", "cancel_reservation", "refresh_from_vendor", "resend_settlement", orders_export_csv,
               orders_export_xlsx)
    change_form_template = "admin/orders/order/change_form_tools.html"

    def has_operate_session_permission(self, request, obj=None):
        return request.user.has_perm("orders.operate_session")

    # --- commands on sessions: changelist actions, buttons on the order page, the start page ----------

    def _run_selected(self, request, queryset, name):
        orders = queryset.select_related("charger", "connector")
        operation_run_selected(self, request, orders, SESSION_COMMANDS[name].operation)

    @admin.action(description=_("Stop charging"), permissions=("operate_session",))
    def stop_charging(self, request, queryset):
        self._run_selected(request, queryset, "stop")

    @admin.action(description=_("Cancel reservation"), permissions=("operate_session",))
    def cancel_reservation(self, request, queryset):
        self._run_selected(request, queryset, "cancel_reservation")

    @admin.action(description=_("Ask vendor for progress"), permissions=("operate_session",))
    def refresh_from_vendor(self, request, queryset):
        self._run_selected(request, queryset, "refresh")

    @admin.action(description=_("Ask the vendor for the settlement again"), permissions=("operate_session",))
    def resend_settlement(self, request, queryset):
        operation_run_selected(self, request, queryset.select_related("charger", "connector"), SETTLEMENT_RESEND)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.card_id is not None:
            return self.fieldsets
        # Only a session started by a swipe has a card to show.
        return tuple(
            (title, {**options, "fields": tuple(name for name in options["fields"] if name != "card_link")})
            for title, options in self.fieldsets
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/vendor-log/", wrap(partial(order_vendor_log_view, self)), name="orders_order_vendor_log"),
            path("connector/<int:connector_pk>/start/", wrap(partial(session_start_view, self)),
                 name="orders_order_start"),
            path("<int:pk>/session/<str:name>/", wrap(partial(session_operation_view, self)),
                 name="orders_order_session"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        operations = []
        if obj is not None and self.has_operate_session_permission(request):
            operations = [(name, cmd.title) for name, cmd in SESSION_COMMANDS.items() if obj.status in cmd.statuses]
        context["session_operations"] = operations
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, OrderSampleInline) and obj is not None and obj.pk is not None:
            kwargs["queryset"] = inline.thinned_queryset(obj)
        return kwargs

    @admin.display(description=_("charger"))
    def charger_serial(self, obj):
        return obj.charger.serial

    @admin.display(description=_("connector"))
    def connector_number(self, obj):
        return obj.connector.number

    @admin.display(description=_("charging card"))
    def card_link(self, obj):
        if obj.card_id is None:
            return self.get_empty_value_display()
        return admin_link(obj.card)

    @admin.display(description=_("samples"))
    def samples(self, obj):
        total = order_samples(order=obj).count()
        if not total:
            return self.get_empty_value_display()
        text = ngettext("%(count)d sample", "%(count)d samples", total) % {"count": total}
        if total > OrderSampleInline.max_shown:
            text = _("%(all)s, %(shown)d of them evenly spaced below") % {
                "all": text,
                "shown": OrderSampleInline.max_shown,
            }
        url = f"{reverse('admin:orders_ordersample_changelist')}?{urlencode({'q': obj.order_no})}"
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description=_("total (yuan)"))
    def total(self, obj):
        return format_fen(obj.total_fee_fen)

    @admin.display(description=_("electricity fee (yuan)"))
    def electricity_fee(self, obj):
        return format_fen(obj.electricity_fee_fen)

    @admin.display(description=_("service fee (yuan)"))
    def service_fee(self, obj):
        return format_fen(obj.service_fee_fen)

    @admin.display(description=_("authorised amount (yuan)"))
    def authorized_amount(self, obj):
        if obj.authorized_amount_fen is None:
            return gettext("No limit")
        return format_fen(obj.authorized_amount_fen)

    @admin.display(description=_("parking time"))
    def park_time(self, obj):
        return format_duration(obj.park_seconds)

    @admin.display(description=_("strategy parameter"))
    def strategy_parameter(self, obj):
        value = obj.strategy_param
        if obj.strategy == ChargeStrategy.TIME:
            return _("%(minutes)d min") % {"minutes": value}
        if obj.strategy == ChargeStrategy.AMOUNT:
            return _("%(yuan)s yuan") % {"yuan": format_fen(value)}
        if obj.strategy == ChargeStrategy.ENERGY:
            return _("%(kwh)s kWh") % {"kwh": format_wh(value)}
        return self.get_empty_value_display()

    @admin.display(description=_("tariff version"))
    def tariff_version_link(self, obj):
        if obj.tariff_version_id is None:
            return self.get_empty_value_display()
        url = reverse("admin:tariffs_tariffversion_change", args=[obj.tariff_version_id])
        return format_html('<a href="{}">{}</a>', url, obj.tariff_version)

    @admin.display(description=_("our price, line by line"))
    def price_breakdown(self, obj):
        """As stored at settlement once the order is settled (readings after it change nothing); before,
        the price so far from the readings that price it."""
        if obj.tariff_version_id is None:
            return self.get_empty_value_display()
        breakdown = order_price_stored(order=obj) if obj.status == OrderStatus.SETTLED else None
        if breakdown is None and obj.conflicts.filter(kind=ConflictKind.NOT_PRICED).exists():
            return gettext("No price of ours was stored at settlement; the order's conflicts say why.")
        if breakdown is None:  # a live session, or one settled before prices were stored
            try:
                breakdown = order_price_breakdown(order=obj)
            except ValueError as error:
                return _("The samples cannot be priced: %(error)s") % {"error": error}
            if breakdown is None:
                return self.get_empty_value_display()
        return render_breakdown(breakdown, obj.tariff_version.tariff)


@admin.register(OrderSample)
class OrderSampleAdmin(SampleDisplayMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("order_no", "device_time", "voltage", "current", "power_w", "energy", "cost", "soc", "left_out")
    list_select_related = ("order",)
    search_fields = ("order__order_no__exact",)
    search_help_text = _("Exact order number.")
    ordering = ("-device_time", "-id")
    sortable_by = ("device_time",)
    raw_id_fields = ("order",)
    fields = (
        "order",
        "device_time",
        "voltage",
        "current",
        "power_w",
        "energy",
        "cost",
        "soc",
        "left_out",
        "received_at",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        """An exact order number: that order's samples through the days they were received in (`order_samples`),
        so that on PostgreSQL one partition's index answers, not one per day kept."""
        term = search_term.strip()
        if not term:
            return super().get_search_results(request, queryset, search_term)
        order = Order.objects.filter(order_no=term).only("pk", "created_at", "samples_until").first()
        if order is None:
            return queryset.none(), False
        return queryset & order_samples(order=order), False

    @admin.display(description=_("order"))
    def order_no(self, obj):
        return obj.order.order_no


@admin.register(OrderConflict)
class OrderConflictAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every conflict on every order, by day and kind: what finance counts."""

    list_display = ("recorded_at", "order_link", "kind", "detail")
    list_filter = ("kind",)
    date_hierarchy = "recorded_at"
    search_fields = ("order__order_no__exact",)
    search_help_text = _("Exact order number.")
    ordering = ("-recorded_at", "-id")
    sortable_by = ("recorded_at",)
    list_select_related = ("order",)
    fields = ("order_link", "kind", "recorded_at", "detail", "figures")
    readonly_fields = fields

    @admin.display(description=_("order"))
    def order_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]),
                           obj.order.order_no)

    @admin.display(description=_("detail"))
    def detail(self, obj):
        return obj.detail
