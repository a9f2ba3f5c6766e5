"""4pyun (P云, the parking platform) in the admin: the stations mapped to it, the orders at them with the charging
records we sent and what 4pyun answered, a report of the last 31 business days, and the reports 4pyun pushed.

Pages (URL names under `admin:`):

- `fourpyun_fourpyunstation_changelist`: the mapped stations, their chargers, the last device sync written and the
  syncs given up; the code links to the station's own page, where its 4pyun station UUID is edited; the action
  writes a device sync of every charger of the selected stations now.
- `fourpyun_fourpyunorder_changelist`: the orders at mapped stations by day (date hierarchy), with the state of
  each one's newest final record and 4pyun's answer to it, filtered by that state and by whether the record can
  grant a parking-fee reduction; the action sends the selected orders' final records again.
- `fourpyun_fourpyunorder_report`: per business day, the ended orders and how many of their final records 4pyun
  confirmed, each count a link to the list of those orders.
- `fourpyun_fourpyunorder_change`: an order's 4pyun page: its figures, every record with every attempt and
  4pyun's code, message and hint, the reports 4pyun pushed about it; its buttons send the final record again
  (`fourpyun_fourpyunorder_resend`) and add the plate before sending it (`fourpyun_fourpyunorder_plate`).
- `fourpyun_statusreport_changelist`: the reports 4pyun pushed, as applied.

Each button and action checks its permission, calls one service (`records.order_records_resend`,
`orders.services.order_vehicle_set`, `devices.devices_sync`) and says what 4pyun answered.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import (
    VENDOR_ACTION_LIMIT,
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    listed,
    local_time,
    pre,
    short_error,
    too_many_selected,
)
from backoffice.days import BEIJING, business_day_bounds, business_day_of
from backoffice.errors import REFUSALS, error_message
from chargers.models import Charger
from integrations.models import DeliveryAttempt, DeliveryStatus, OutboundDelivery
from orders.models import TERMINAL_STATUSES, Order
from orders.plates import NEW_ENERGY_PATTERN, ORDINARY_PATTERN
from orders.services.vehicle import order_vehicle_set
from stations.models import Station
from tariffs.models import VehicleKind
from tariffs.units import format_duration, format_fen, format_wh

from .devices import DEVICE_KIND, devices_sync
from .models import DeviceSync, FourpyunOrder, FourpyunStation, StatusReport
from .payloads import reduction_problem
from .records import FINAL, enabled, order_records_resend, records_of
from .statement import refusal_of

REPORT_DAYS = 31
ENDED = ",".join(TERMINAL_STATUSES)

NOT_CONFIGURED = _("4pyun is not configured (FOURPYUN_BASE_URL is empty): nothing was sent.")


def _row(model, object_id):
    """The row of `model` an address's id names, whatever the admin's list holds; None for an id that names none."""
    try:
        return model._default_manager.filter(pk=model._meta.pk.to_python(object_id)).first()
    except (ValidationError, ValueError, OverflowError):
        return None


def _yuan(fen):
    return gettext("%(yuan)s yuan") % {"yuan": format_fen(fen)} if fen is not None else None


def _kwh(wh):
    return f"{format_wh(wh)} kWh" if wh is not None else None


# --- 4pyun stations -------------------------------------------------------------------------------------


@admin.register(FourpyunStation)
class FourpyunStationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The stations 4pyun knows (a 4pyun station UUID set on the station's own page) and how their chargers'
    device syncs went. Nothing is added, changed or deleted here: a station is mapped on its own page."""

    list_display = ("station_link", "name", "fourpyun_station_uuid", "chargers", "last_sync", "syncs_given_up")
    list_display_links = None
    search_fields = ("code", "name", "fourpyun_station_uuid")
    search_help_text = _("Station code, name or 4pyun station UUID.")
    ordering = ("code",)
    actions = ("sync_devices",)

    def get_queryset(self, request):
        chargers = Charger.objects.filter(station=OuterRef("pk")).order_by().values("station")
        newest_sync = DeviceSync.objects.filter(charger__station=OuterRef("pk")).order_by("-changed_at")
        # The serials of the station's chargers, two levels out: the station of the list's row.
        serials = Charger.objects.filter(station=OuterRef(OuterRef("pk"))).values("serial")
        given_up = (OutboundDelivery.objects.filter(kind=DEVICE_KIND, status=DeliveryStatus.DEAD,
                                                    charger_serial__in=serials)
                    .order_by().values("kind").annotate(n=Count("pk")).values("n"))
        return (
            super().get_queryset(request).exclude(fourpyun_station_uuid="")
            .annotate(charger_count=Coalesce(Subquery(chargers.annotate(n=Count("pk")).values("n")), Value(0)),
                      last_sync_at=Subquery(newest_sync.values("changed_at")[:1]),
                      syncs_dead=Coalesce(Subquery(given_up), Value(0)))
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A row opens as the station's own page: that is where its 4pyun station UUID is edited (or set, for a
        station 4pyun does not know yet)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        station = _row(Station, object_id)
        if station is None:
            raise Http404(gettext("No station has this id."))
        return HttpResponseRedirect(reverse("admin:stations_station_change", args=[station.pk]))

    def has_sync_devices_permission(self, request):
        # Writing what 4pyun is told of a station's chargers is changing the station, as pushing it to a vendor is.
        opts = Station._meta
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    @admin.display(description=_("station code"), ordering="code")
    def station_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:stations_station_change", args=[obj.pk]), obj.code)

    @admin.display(description=_("chargers"), ordering="charger_count")
    def chargers(self, obj):
        return obj.charger_count

    @admin.display(description=_("last device sync written"), ordering="last_sync_at")
    def last_sync(self, obj):
        return local_time(obj.last_sync_at)

    @admin.display(description=_("device syncs given up"), ordering="syncs_dead")
    def syncs_given_up(self, obj):
        if not obj.syncs_dead:
            return 0
        query = urlencode({"kind": DEVICE_KIND, "status__exact": DeliveryStatus.DEAD})
        url = f"{reverse('admin:integrations_outbounddelivery_changelist')}?{query}"
        return format_html('<a href="{}">{}</a>', url, obj.syncs_dead)

    @admin.action(description=_("Sync devices to 4pyun now"), permissions=("sync_devices",))
    def sync_devices(self, request, queryset):
        if not enabled():
            self.message_user(request, NOT_CONFIGURED, messages.ERROR)
            return
        stations = list(queryset.values_list("pk", flat=True))
        chargers = list(Charger.objects.filter(station__in=stations).values_list("pk", flat=True))
        count = devices_sync(chargers=chargers, force=True)
        self.message_user(request, ngettext(
            "%(count)d device sync was written for 4pyun; the outbox sends it now (its delivery shows the answer).",
            "%(count)d device syncs were written for 4pyun; the outbox sends them now (their deliveries show the "
            "answers).", count) % {"count": count}, messages.SUCCESS if count else messages.WARNING)


# --- orders at 4pyun stations ---------------------------------------------------------------------------


def _newest_final():
    """The newest final record of the order of the outer row (the same records `records_of` reads)."""
    return records_of(OuterRef("order_no"), FINAL)


def with_final_record(orders: QuerySet) -> QuerySet:
    """`orders` with the status (`final_status`, None without one) and last error of each one's newest final record,
    from the list's own query (the deliveries' order-number index serves each)."""
    newest = _newest_final()
    return orders.annotate(final_status=Subquery(newest.values("status")[:1]),
                           final_error=Subquery(newest.values("last_error")[:1]))


# A plate 4pyun can match: an e-bike's record never grants a reduction, so it is never counted as impossible.
# The patterns are the ones `orders.plates` checks with; both databases run them.
REDUCTION_POSSIBLE = (Q(charger__kind=VehicleKind.EBIKE) | Q(plate__regex=ORDINARY_PATTERN)
                      | Q(plate__regex=NEW_ENERGY_PATTERN))
REDUCTION_IMPOSSIBLE = (~Q(charger__kind=VehicleKind.EBIKE) & ~Q(plate__regex=ORDINARY_PATTERN)
                        & ~Q(plate__regex=NEW_ENERGY_PATTERN))


class FinalRecordFilter(admin.SimpleListFilter):
    """The newest final record's state. "Not confirmed" is what the daily close finds missing on 4pyun's side: ended
    orders whose newest final record 4pyun has not confirmed (none written, waiting, refused or given up)."""

    title = _("final record")
    parameter_name = "final"
    CONFIRMED, NOT_CONFIRMED, GIVEN_UP, NONE = "confirmed", "not_confirmed", "given_up", "none"

    def lookups(self, request, model_admin):
        return [
            (self.CONFIRMED, _("Confirmed by 4pyun")),
            (self.NOT_CONFIRMED, _("Not confirmed (ended orders)")),
            (self.GIVEN_UP, _("Refused or given up")),
            (self.NONE, _("None written")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.CONFIRMED:
            return queryset.filter(final_status=DeliveryStatus.DELIVERED)
        if value == self.NOT_CONFIRMED:
            # Spelled out: NOT (status = 'delivered') would leave out the orders without a record (NULL).
            return queryset.filter(Q(final_status__isnull=True) | Q(final_status__in=[
                DeliveryStatus.PENDING, DeliveryStatus.DEAD]), status__in=TERMINAL_STATUSES)
        if value == self.GIVEN_UP:
            return queryset.filter(final_status=DeliveryStatus.DEAD)
        if value == self.NONE:
            return queryset.filter(final_status__isnull=True)
        return queryset


class ReductionFilter(admin.SimpleListFilter):
    """Whether the order's record can grant a parking-fee reduction: not for an EV session without a plate, or with
    one that is none (e-bikes are never listed as impossible)."""

    title = _("parking-fee reduction")
    parameter_name = "reduction"
    POSSIBLE, NOT_POSSIBLE = "possible", "not_possible"

    def lookups(self, request, model_admin):
        return [(self.POSSIBLE, _("Possible")), (self.NOT_POSSIBLE, _("Not possible"))]

    def queryset(self, request, queryset):
        if self.value() == self.POSSIBLE:
            return queryset.filter(REDUCTION_POSSIBLE)
        if self.value() == self.NOT_POSSIBLE:
            return queryset.filter(REDUCTION_IMPOSSIBLE)
        return queryset


FINAL_WORDS = {
    None: _("None written"),
    DeliveryStatus.PENDING: _("Waiting for 4pyun"),
    DeliveryStatus.DELIVERED: _("Confirmed by 4pyun"),
    DeliveryStatus.DEAD: _("Refused or given up"),
}


def _answer_of(status, last_error) -> str:
    """What 4pyun answered the newest final record, as `refusal_of` says it ("" once confirmed)."""
    if status is None:
        return ""
    return refusal_of(OutboundDelivery(status=status, last_error=last_error or ""))


class PlateForm(forms.Form):
    plate = forms.CharField(label=_("licence plate"), max_length=20,
                            help_text=_("As on the vehicle, e.g. 粤B12345 or 粤BD12345; spaces and dots are dropped."))
    vin = forms.CharField(label=_("VIN"), max_length=24, required=False, help_text=_("Optional: 17 characters."))


def _form_error(form: forms.Form, error: ValidationError) -> None:
    """The service's refusal on the field it names (its code is the field's name), else on the form."""
    code = getattr(error, "code", None)
    form.add_error(code if code in form.fields else None, error)


@admin.register(FourpyunOrder)
class FourpyunOrderAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """The orders at mapped stations with their records for 4pyun; read-only, as orders are everywhere."""

    list_display = ("order_link", "station", "status", "ended", "plate", "final_record", "answer", "reduction")
    list_display_links = None
    list_select_related = ("station", "charger")
    list_filter = ("status", FinalRecordFilter, ReductionFilter)
    date_hierarchy = "created_at"
    # Exact and prefix lookups only, each served by an index (orders' plate index has the pattern opclass).
    search_fields = ("order_no__exact", "plate__startswith")
    search_help_text = _("Exact order number, or the start of a plate.")
    ordering = ("-created_at", "-id")
    sortable_by = ()
    actions = ("resend_final",)
    change_list_template = "admin/fourpyun/fourpyunorder/change_list.html"

    def get_queryset(self, request):
        return with_final_record(super().get_queryset(request).exclude(station__fourpyun_station_uuid=""))

    def has_resend_record_permission(self, request, obj=None):
        return request.user.has_perm(f"{self.opts.app_label}.resend_record")

    def _url_name(self, page):
        return f"{self.opts.app_label}_{self.opts.model_name}_{page}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("report/", wrap(self.report_view), name=self._url_name("report")),
            path("<path:object_id>/resend/", wrap(self.resend_view), name=self._url_name("resend")),
            path("<path:object_id>/plate/", wrap(self.plate_view), name=self._url_name("plate")),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        context = {"report_url": reverse(f"admin:{self._url_name('report')}"),
                   "report_label": gettext("Report by business day")}
        return super().changelist_view(request, extra_context={**context, **(extra_context or {})})

    # --- columns ------------------------------------------------------------------------------------

    @admin.display(description=_("order number"))
    def order_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.pk]), obj.order_no)

    @admin.display(description=_("ended at"))
    def ended(self, obj):
        return local_time(obj.ended_at)

    @admin.display(description=_("final record"))
    def final_record(self, obj):
        url = reverse(f"admin:{self._url_name('change')}", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, FINAL_WORDS[obj.final_status])

    @admin.display(description=_("4pyun's answer"))
    def answer(self, obj):
        return short_error(_answer_of(obj.final_status, obj.final_error))

    @admin.display(description=_("parking-fee reduction"))
    def reduction(self, obj):
        # In Python, on the page's rows only: their chargers came with the list's query.
        return reduction_problem(obj) or None

    # --- sending the final record again ------------------------------------------------------------

    def _resend(self, order, *, by_name: str) -> tuple[int, str]:
        """Send the order's final record again now; (message level, what 4pyun answered, in words)."""
        values = {"order": order.order_no}
        try:
            delivery = order_records_resend(order=order, by_name=by_name)
        except REFUSALS as error:
            return messages.ERROR, gettext("Order %(order)s: %(error)s") % {**values, "error": error_message(error)}
        if delivery is None:
            if not enabled():
                return messages.ERROR, str(NOT_CONFIGURED)
            if order.status not in TERMINAL_STATUSES:
                return messages.WARNING, gettext(
                    "Order %(order)s has not ended: its final record is written and sent when it ends.") % values
            return messages.INFO, gettext(
                "4pyun confirmed the newest final record of order %(order)s already; nothing was sent.") % values
        if delivery.status == DeliveryStatus.DELIVERED:
            return messages.SUCCESS, gettext("4pyun confirmed the final record of order %(order)s.") % values
        answer = refusal_of(delivery)
        if delivery.status == DeliveryStatus.DEAD:
            return messages.ERROR, gettext(
                "4pyun refused the final record of order %(order)s: %(answer)s") % {**values, "answer": answer}
        return messages.WARNING, gettext(
            "4pyun has not confirmed the final record of order %(order)s yet, and it is sent again by and by: "
            "%(answer)s") % {**values, "answer": answer}

    @admin.action(description=_("Resend the final record to 4pyun"), permissions=("resend_record",))
    def resend_final(self, request, queryset):
        orders = list(queryset.select_related(None).order_by("order_no")[: VENDOR_ACTION_LIMIT + 1])
        if too_many_selected(self, request, orders, limit=VENDOR_ACTION_LIMIT):
            return
        told: dict[int, list[str]] = {}
        for order in orders:
            level, text = self._resend(order, by_name=request.user.get_username())
            told.setdefault(level, []).append(text)
        confirmed = len(told.pop(messages.SUCCESS, []))
        if confirmed:
            self.message_user(request, ngettext(
                "4pyun confirmed %(count)d final record.", "4pyun confirmed %(count)d final records.", confirmed,
            ) % {"count": confirmed}, messages.SUCCESS)
        for level in (messages.INFO, messages.WARNING, messages.ERROR):
            if texts := told.get(level):
                self.message_user(request, listed(texts), level)

    def _order(self, request, object_id):
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404(gettext("No order at a station mapped to 4pyun has this id."))
        return order

    def _page_url(self, order):
        return reverse(f"admin:{self._url_name('change')}", args=[order.pk])

    def resend_view(self, request, object_id):
        """The page's button: the final record sent again now, and what 4pyun answered."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_resend_record_permission(request):
            raise PermissionDenied
        order = self._order(request, object_id)
        level, text = self._resend(order, by_name=request.user.get_username())
        self.message_user(request, text, level)
        return redirect(self._page_url(order))

    def plate_view(self, request, object_id):
        """The page's plate form: the plate (and VIN) saved through the order service, whose signal writes the new
        final record, which is then sent now. A refusal is shown on the form, in the field it names."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_resend_record_permission(request):
            raise PermissionDenied
        order = self._order(request, object_id)
        form = PlateForm(request.POST)
        if form.is_valid():
            try:
                order = order_vehicle_set(order=order, plate=form.cleaned_data["plate"], vin=form.cleaned_data["vin"])
            except ValidationError as error:
                _form_error(form, error)
            else:
                self.message_user(request, gettext("The plate of order %(order)s is %(plate)s now.") % {
                    "order": order.order_no, "plate": order.plate}, messages.SUCCESS)
                level, text = self._resend(order, by_name=request.user.get_username())
                self.message_user(request, text, level)
                return redirect(self._page_url(order))
        return self._records_page(request, order, plate_form=form)

    # --- the order's 4pyun page ---------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        order = self.get_object(request, object_id)
        if order is None:
            # An order of ours elsewhere: 4pyun is told nothing of it; its own page has all there is.
            other = _row(Order, object_id)
            if other is None:
                raise Http404(gettext("No order has this id."))
            self.message_user(request, gettext(
                "Order %(order)s is not at a station mapped to 4pyun: nothing of it is sent to 4pyun.") % {
                "order": other.order_no}, messages.WARNING)
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[other.pk]))
        return self._records_page(request, order)

    def _records_page(self, request, order, *, plate_form=None):
        may_resend = self.has_resend_record_permission(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Order %(order)s at 4pyun") % {"order": order.order_no},
            "order": order,
            "order_url": reverse("admin:orders_order_change", args=[order.pk]),
            "figures": _order_figures(order),
            "problem": reduction_problem(order),
            "ebike": order.charger.kind == VehicleKind.EBIKE,
            "records": _records(order),
            "reports": [_report_row(report) for report in order.fourpyun_reports.order_by("-received_at", "-id")],
            "resend_url": reverse(f"admin:{self._url_name('resend')}", args=[order.pk]) if may_resend else None,
            "resend_label": gettext("Resend the final record"),
            "plate_form": (plate_form or PlateForm(initial={"plate": order.plate, "vin": order.vin}))
            if may_resend else None,
            "plate_url": reverse(f"admin:{self._url_name('plate')}", args=[order.pk]),
        }
        return TemplateResponse(request, "admin/fourpyun/fourpyunorder/records.html", context)

    # --- the report by day ----------------------------------------------------------------------------

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = reverse(f"admin:{self._url_name('changelist')}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("4pyun by business day"),
            "days": [_report_links(row, changelist) for row in fourpyun_days(days=REPORT_DAYS)],
            "changelist_url": changelist,
        }
        return TemplateResponse(request, "admin/fourpyun/fourpyunorder/report.html", context)


def _order_figures(order) -> list[tuple[str, object]]:
    """The order as 4pyun is told it; `order` as the list's queryset read it (with its newest final record's
    status)."""
    return [
        (gettext("final record"), FINAL_WORDS[order.final_status]),
        (gettext("station"), f"{order.station.name} ({order.station.code}, {order.station.fourpyun_station_uuid})"),
        (gettext("charger"), f"{order.charger.serial} · {order.charger.get_kind_display()}"),
        (gettext("connector"), order.connector.number),
        (gettext("status"), order.get_status_display()),
        (gettext("started at"), local_time(order.started_at)),
        (gettext("ended at"), local_time(order.ended_at)),
        (gettext("charging time"), format_duration(order.charge_seconds)),
        (gettext("energy"), _kwh(order.energy_wh)),
        (gettext("electricity fee"), _yuan(order.electricity_fee_fen)),
        (gettext("service fee"), _yuan(order.service_fee_fen)),
        (gettext("total"), _yuan(order.total_fee_fen)),
        (gettext("licence plate"), order.plate),
        (gettext("VIN"), order.vin),
    ]


def _attempt_row(attempt: DeliveryAttempt) -> dict:
    """An attempt with 4pyun's code, message and hint when its answer is JSON (the first characters kept may cut a
    long answer off: then the error says it)."""
    try:
        answer = json.loads(attempt.response_head) if attempt.response_head else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = None
    return {
        "number": attempt.number,
        "started": local_time(attempt.started_at),
        "http_status": attempt.http_status,
        "succeeded": attempt.succeeded,
        "code": str(answer.get("code", "")) if answer else "",
        "message": str(answer.get("message") or "") if answer else "",
        "hint": str(answer.get("hint") or "") if answer else "",
        "answered": answer is not None,
        "error": pre(attempt.error) if answer is None else None,
    }


def _records(order) -> list[dict]:
    deliveries = records_of(order.order_no).prefetch_related(
        Prefetch("attempt_rows", queryset=DeliveryAttempt.objects.order_by("number", "id")))
    rows = []
    for delivery in deliveries:
        fields = delivery.payload.get("fields", {})
        rows.append({
            "event": delivery.payload.get("event", ""),
            "state": f"{delivery.payload.get('state', '')} {fields.get('state_desc', '')}".strip(),
            "key": delivery.key,
            "status": delivery.get_status_display(),
            "delivered": delivery.status == DeliveryStatus.DELIVERED,
            "created": local_time(delivery.created_at),
            "attempt_count": delivery.attempts,
            "answer": refusal_of(delivery),
            "plate": fields.get("plate", ""),
            "delivery_url": reverse("admin:integrations_outbounddelivery_change", args=[delivery.pk]),
            "attempts": [_attempt_row(attempt) for attempt in delivery.attempt_rows.all()],
        })
    return rows


def _report_row(report: StatusReport) -> dict:
    return {
        "received": local_time(report.received_at),
        "kind": report.get_kind_display(),
        "state": report.state,
        "state_desc": report.state_desc,
        "energy": _kwh(report.energy_wh),
        "total": _yuan(report.total_fee_fen),
        "plate": report.plate,
    }


# --- the report by day --------------------------------------------------------------------------------


def fourpyun_days(*, days: int = REPORT_DAYS, now: datetime | None = None) -> list[dict]:
    """The last `days` business days, newest first: the ended orders at mapped stations created in each (an order
    belongs to the day it was created in, as in the daily close), how many of their newest final records 4pyun
    confirmed, how many it has not, and how many grant no parking-fee reduction. One grouped query."""
    today = business_day_of(now or timezone.now())
    first = today - timedelta(days=days - 1)
    start, _ = business_day_bounds(first)
    _, end = business_day_bounds(today)
    orders = with_final_record(FourpyunOrder.objects.exclude(station__fourpyun_station_uuid="").filter(
        created_at__gte=start, created_at__lt=end, status__in=TERMINAL_STATUSES))
    by_day = (orders.annotate(day=TruncDate("created_at", tzinfo=BEIJING)).order_by().values("day")
              .annotate(ended=Count("pk"), confirmed=Count("pk", filter=Q(final_status=DeliveryStatus.DELIVERED)),
                        no_reduction=Count("pk", filter=REDUCTION_IMPOSSIBLE)))
    counts = {row["day"]: row for row in by_day}
    rows = []
    for offset in range(days):
        day = today - timedelta(days=offset)
        row = counts.get(day, {})
        ended, confirmed = row.get("ended", 0), row.get("confirmed", 0)
        rows.append({"day": day, "ended": ended, "confirmed": confirmed, "not_confirmed": ended - confirmed,
                     "no_reduction": row.get("no_reduction", 0)})
    return rows


def _day_url(changelist: str, day: date, **filters) -> str:
    """The list of the day's ended orders (the date hierarchy's day, in Beijing time), filtered by `filters`."""
    query = {"created_at__year": day.year, "created_at__month": day.month, "created_at__day": day.day,
             "status__in": ENDED, **filters}
    return f"{changelist}?{urlencode(query)}"


def _report_links(row: dict, changelist: str) -> dict:
    day = row["day"]
    return {
        **row,
        "ended_url": _day_url(changelist, day),
        "confirmed_url": _day_url(changelist, day, final=FinalRecordFilter.CONFIRMED),
        "not_confirmed_url": _day_url(changelist, day, final=FinalRecordFilter.NOT_CONFIRMED),
        "no_reduction_url": _day_url(changelist, day, reduction=ReductionFilter.NOT_POSSIBLE),
    }


# --- 4pyun's reports ----------------------------------------------------------------------------------


class ReportStateFilter(admin.SimpleListFilter):
    """4pyun's replenish_state, the only states its pushes may carry (the inbox refuses others); a fixed list, so no
    page asks the table for its distinct values."""

    title = _("4pyun state")
    parameter_name = "state"
    STATES = {3: _("3 charging finished"), 2: _("2 charging"), 0: _("0 not charging"),
              -1: _("-1 start failed or charging fault")}

    def lookups(self, request, model_admin):
        return [(str(state), label) for state, label in self.STATES.items()]

    def queryset(self, request, queryset):
        if self.value() in {str(state) for state in self.STATES}:
            return queryset.filter(state=int(self.value()))
        return queryset


@admin.register(StatusReport)
class StatusReportAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """What 4pyun pushed about our orders, as applied; the push itself is in the inbox (its link)."""

    list_display = ("received", "order_link", "kind", "state", "state_desc", "energy", "total")
    list_select_related = ("order",)
    list_filter = ("kind", ReportStateFilter)
    search_fields = ("order__order_no__exact",)
    search_help_text = _("Exact order number.")
    ordering = ("-received_at", "-id")
    sortable_by = ("received",)
    fields = ("order_link", "kind", "station_uuid", "state", "state_desc", "started", "ended_at_shown",
              "charge_time", "plate", "energy", "electricity_fee", "service_fee", "total", "push_link", "received")
    readonly_fields = fields

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, obj):
        return local_time(obj.received_at)

    @admin.display(description=_("order number"))
    def order_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]),
                           obj.order.order_no)

    @admin.display(description=_("started at"))
    def started(self, obj):
        return local_time(obj.started_at)

    @admin.display(description=_("ended at"))
    def ended_at_shown(self, obj):
        return local_time(obj.ended_at)

    @admin.display(description=_("charging time"))
    def charge_time(self, obj):
        return format_duration(obj.charge_seconds)

    @admin.display(description=_("energy (kWh)"))
    def energy(self, obj):
        return format_wh(obj.energy_wh)

    @admin.display(description=_("electricity fee (yuan)"))
    def electricity_fee(self, obj):
        return format_fen(obj.electricity_fee_fen)

    @admin.display(description=_("service fee (yuan)"))
    def service_fee(self, obj):
        return format_fen(obj.service_fee_fen)

    @admin.display(description=_("total (yuan)"))
    def total(self, obj):
        return format_fen(obj.total_fee_fen)

    @admin.display(description=_("push"))
    def push_link(self, obj):
        url = reverse("admin:integrations_inboundmessage_change", args=[obj.inbound_id])
        return format_html('<a href="{}">#{}</a>', url, obj.inbound_id)


