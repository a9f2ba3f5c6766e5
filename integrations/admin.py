"""Admin pages of what crossed the border: calls we made, pushes we received, deliveries we owe.

They are where the person on call looks first when a vendor or partner says something went wrong,
so each list answers "which counterparty, what kind, did it work, for which charger and order, and
why not" without opening a row, and each row shows its bodies readably (JSON indented, Chinese as
characters). The tables grow by millions of rows: lists use the large-table paginator and the probed
date hierarchy, searches are exact lookups an index serves, and no filter asks the table for its
distinct values. Vendor tokens are not shown: they are secrets.
"""

import json
from urllib.parse import parse_qsl

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chargers.admin import LargeTableAdminMixin, ReadOnlyAdminMixin
from integrations.inbox import inbound_replay, inbox_backlog
from integrations.models import (
    ApiCallLog,
    Counterparty,
    DeliveryStatus,
    InboundMessage,
    InboundStatus,
    OutboundDelivery,
)
from integrations.outbox import delivery_retry
from orders.models import Order

PRE_STYLE = "white-space: pre-wrap; word-break: break-all; margin: 0; max-height: 40em; overflow: auto;"
SHORT_ERROR_CHARS = 80
ERRORS_SHOWN = 5  # in an action's failure message; the rows' own pages have the rest


# --- presentation helpers -------------------------------------------------------------------------------


def local_time(value):
    """To the second in Beijing time: on call, seconds matter when lining our records up with a vendor's."""
    if value is None:
        return None
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def pretty_json(value):
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False, default=str)


def pretty_text(text, *, content_type=""):
    """A stored body for people: JSON indented, a form's fields decoded, anything else as it came."""
    if not text:
        return ""
    try:
        return pretty_json(json.loads(text))
    except ValueError:
        pass
    if "x-www-form-urlencoded" in content_type:
        fields = {}
        for name, value in parse_qsl(text, keep_blank_values=True):
            fields.setdefault(name, []).append(value)
        return pretty_json({name: values[0] if len(values) == 1 else values for name, values in fields.items()})
    return text


def pre(text):
    if text in (None, ""):
        return None
    return format_html('<pre style="{}">{}</pre>', PRE_STYLE, text)


def short_error(text):
    """The first line of an error, cut short for a list column; the full text is in its tooltip."""
    if not text:
        return None
    first_line = text.strip().splitlines()[0] if text.strip() else text
    return format_html(
        '<span title="{}">{}</span>',
        Truncator(text).chars(500),
        Truncator(first_line).chars(SHORT_ERROR_CHARS),
    )


def recent_values_filter(field_name, title, time_field, sample=1000):
    """A list filter over the values of a free-text column seen in the latest `sample` rows.

    Django's own filter for such a column asks SELECT DISTINCT over the whole table on every page
    view, a full scan of millions of rows. The latest rows come from the time index instead and hold
    every kind that is current; an older, rare value can still be filtered by its URL parameter, and
    then it is listed too.
    """

    class RecentValuesFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            newest_first = model_admin.model._default_manager.order_by(f"-{time_field}")
            latest = newest_first.values_list(field_name, flat=True)[:sample]
            values = {value for value in latest if value}
            if self.value():
                values.add(self.value())
            return [(value, value) for value in sorted(values)]

        def queryset(self, request, queryset):
            if self.value():
                return queryset.filter(**{field_name: self.value()})
            return queryset

    RecentValuesFilter.title = title
    return RecentValuesFilter


class OrderLinkMixin:
    """An `order_no` column that links to the order's page when we have that order.

    The order's id comes from a correlated subquery on the unique order number in the list's own
    query, so a page of a hundred rows costs no extra query.
    """

    def get_queryset(self, request):
        # order_by(): the order's default ordering would only add a sort to each lookup.
        orders = Order.objects.filter(order_no=OuterRef("order_no")).order_by().values("pk")[:1]
        return super().get_queryset(request).annotate(order_pk=Subquery(orders))

    @admin.display(description=_("order number"), ordering="order_no")
    def order_link(self, obj):
        if not obj.order_no:
            return None
        if getattr(obj, "order_pk", None) is None:
            return obj.order_no
        url = reverse("admin:orders_order_change", args=[obj.order_pk])
        return format_html('<a href="{}">{}</a>', url, obj.order_no)


class RowActionsAdminMixin:
    """Read-only rows that people with the change permission may act on from the list.

    ReadOnlyAdminMixin refuses the change permission outright, which would also hide the actions that
    require it (replay, retry). Here the model-level question, asked by the index, the list and its
    actions, gets the user's real change permission; the object-level one, asked by a row's page and
    its POST, stays refused. So the page of a row remains read-only and a posted change is refused,
    for superusers too.
    """

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False
        return admin.ModelAdmin.has_change_permission(self, request)

    def changelist_view(self, request, extra_context=None):
        # Rows are looked at here, not changed; the title should not say otherwise.
        title = gettext("Select %s to view") % self.opts.verbose_name
        return super().changelist_view(request, extra_context={"title": title, **(extra_context or {})})


# --- API calls ------------------------------------------------------------------------------------------


@admin.register(ApiCallLog)
class ApiCallLogAdmin(OrderLinkMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = (
        "called_at",
        "vendor",
        "operation",
        "outcome",
        "status_code",
        "vendor_code",
        "duration_ms",
        "charger_serial",
        "order_link",
        "error_summary",
    )
    list_filter = ("vendor", "outcome", recent_values_filter("operation", _("operation"), "created_at"))
    date_hierarchy = "created_at"
    # Exact lookups only: the admin's `=` prefix means iexact, UPPER() on PostgreSQL, which no index serves.
    search_fields = ("charger_serial__exact", "order_no__exact")
    search_help_text = _("Exact charger serial or order number.")
    ordering = ("-created_at", "-id")
    sortable_by = ("called_at",)
    fieldsets = (
        (
            None,
            {"fields": ("vendor", "operation", "method", "url", "called_at", "duration_ms", "outcome", "status_code")},
        ),
        (_("Vendor's answer"), {"fields": ("vendor_code", "vendor_message", "error")}),
        (_("Subject"), {"fields": ("charger_serial", "order_link")}),
        (_("Request"), {"fields": ("request_pretty",)}),
        (_("Response"), {"fields": ("response_pretty",)}),
    )
    readonly_fields = tuple(field for _title, options in fieldsets for field in options["fields"])

    @admin.display(description=_("called at"), ordering="created_at")
    def called_at(self, obj):
        return local_time(obj.created_at)

    @admin.display(description=_("error"))
    def error_summary(self, obj):
        return short_error(obj.error)

    @admin.display(description=_("request"))
    def request_pretty(self, obj):
        return pre(pretty_text(obj.request_body))

    @admin.display(description=_("response"))
    def response_pretty(self, obj):
        return pre(pretty_text(obj.response_body))


# --- inbound messages -----------------------------------------------------------------------------------


@admin.register(InboundMessage)
class InboundMessageAdmin(
    OrderLinkMixin, RowActionsAdminMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    list_display = (
        "received",
        "vendor",
        "kind",
        "status",
        "verification",
        "reject_reason",
        "charger_serial",
        "order_link",
        "error_summary",
    )
    list_filter = (
        "vendor",
        "status",
        recent_values_filter("kind", _("kind"), "received_at"),
        "reject_reason",
        "verification",
    )
    date_hierarchy = "received_at"
    search_fields = ("charger_serial__exact", "order_no__exact", "dedupe_key__exact")
    search_help_text = _("Exact charger serial, order number or dedupe key.")
    ordering = ("-received_at", "-id")
    sortable_by = ("received",)
    actions = ("replay",)
    fieldsets = (
        (None, {"fields": ("vendor", "kind", "status", "reject_reason", "error", "attempts")}),
        (
            _("Receipt"),
            {
                "fields": (
                    "received",
                    "processed",
                    "remote_addr",
                    "verification",
                    "dedupe_key",
                    "duplicate_of",
                    "content_type",
                )
            },
        ),
        (_("Subject"), {"fields": ("charger_serial", "order_link")}),
        (_("Push"), {"fields": ("headers_pretty", "body_pretty")}),
        (_("Our answer"), {"fields": ("reply_pretty",)}),
    )
    readonly_fields = tuple(field for _title, options in fieldsets for field in options["fields"])

    change_list_template = "admin/integrations/inboundmessage/change_list.html"

    def changelist_view(self, request, extra_context=None):
        backlog = inbox_backlog()
        context = {"backlog": backlog, "backlog_oldest": local_time(backlog.oldest_received_at)}
        return super().changelist_view(request, extra_context={**context, **(extra_context or {})})

    def get_search_results(self, request, queryset, search_term):
        """Exact serial, order number or dedupe key, each through an index.

        The dedupe key's only index is the unique one on (vendor, dedupe_key) for first arrivals, which
        a bare `dedupe_key = x` cannot use on PostgreSQL, and one unindexed branch turns the whole OR
        into a table scan. So the first arrivals with the key are found through that index first, and
        their duplicates through the foreign key's index.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        originals = list(
            InboundMessage.objects.filter(vendor__in=Counterparty.values, dedupe_key=term, duplicate_of__isnull=True)
            .exclude(dedupe_key="")
            .values_list("pk", flat=True)
        )
        matches = Q(charger_serial=term) | Q(order_no=term)
        if originals:
            matches |= Q(pk__in=originals) | Q(duplicate_of__in=originals)
        return queryset.filter(matches), False

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, obj):
        return local_time(obj.received_at)

    @admin.display(description=_("processed at"))
    def processed(self, obj):
        return local_time(obj.processed_at)

    @admin.display(description=_("error"))
    def error_summary(self, obj):
        return short_error(obj.error)

    @admin.display(description=_("headers"))
    def headers_pretty(self, obj):
        return pre(pretty_json(obj.headers)) if obj.headers else None

    @admin.display(description=_("body"))
    def body_pretty(self, obj):
        return pre(pretty_text(obj.body, content_type=obj.content_type))

    @admin.display(description=_("reply"))
    def reply_pretty(self, obj):
        return pre(pretty_json(obj.reply)) if obj.reply is not None else None

    @admin.action(description=_("Replay: process the selected messages again"), permissions=["change"])
    def replay(self, request, queryset):
        processed, copies, failures = 0, [], []
        # Oldest first: pushes about one session only make sense in the order they were sent.
        for selected in queryset.order_by("received_at", "id"):
            try:
                replayed = inbound_replay(message=selected)
            except ValidationError as error:
                failures.append(" ".join(error.messages))
                continue
            message = replayed.message
            if replayed.already_applied:
                applied = replayed.applied_as
                copies.append(f"#{selected.pk} → #{applied}" if applied != selected.pk else f"#{selected.pk}")
            elif message.status == InboundStatus.PROCESSED:
                processed += 1
                self.log_change(request, message, gettext("Replayed."))
            else:
                failures.append(f"#{message.pk}: {message.error or message.get_status_display()}")
        if processed:
            messages.success(
                request,
                ngettext("%(count)d message was processed.", "%(count)d messages were processed.", processed)
                % {"count": processed},
            )
        if copies:
            messages.success(
                request,
                ngettext(
                    "%(count)d message had been applied already: %(copies)s",
                    "%(count)d messages had been applied already: %(copies)s",
                    len(copies),
                )
                % {"count": len(copies), "copies": _listed(copies)},
            )
        if failures:
            messages.error(
                request,
                ngettext(
                    "%(count)d message failed again: %(errors)s",
                    "%(count)d messages failed again: %(errors)s",
                    len(failures),
                )
                % {"count": len(failures), "errors": _listed(failures)},
            )


def _listed(items):
    text = "; ".join(items[:ERRORS_SHOWN])
    return f"{text}; …" if len(items) > ERRORS_SHOWN else text


# --- outbound deliveries --------------------------------------------------------------------------------


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(
    OrderLinkMixin, RowActionsAdminMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    list_display = (
        "created",
        "vendor",
        "kind",
        "status",
        "attempts",
        "next_attempt",
        "charger_serial",
        "order_link",
        "error_summary",
    )
    list_filter = ("vendor", "status", recent_values_filter("kind", _("kind"), "created_at"))
    date_hierarchy = "created_at"
    search_fields = ("key__exact", "charger_serial__exact", "order_no__exact")
    search_help_text = _("Exact delivery id, charger serial or order number.")
    ordering = ("-created_at", "-id")
    sortable_by = ("created",)
    actions = ("retry_now",)
    fieldsets = (
        (None, {"fields": ("vendor", "kind", "key", "status", "last_error")}),
        (_("Attempts"), {"fields": ("created", "attempts", "next_attempt", "delivered")}),
        (_("Subject"), {"fields": ("charger_serial", "order_link")}),
        (_("Payload"), {"fields": ("payload_pretty",)}),
    )
    readonly_fields = tuple(field for _title, options in fieldsets for field in options["fields"])

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, obj):
        return local_time(obj.created_at)

    @admin.display(description=_("next attempt"))
    def next_attempt(self, obj):
        # Only a waiting row has one; on a delivered or given-up row the stored time means nothing.
        return local_time(obj.next_attempt_at) if obj.status == DeliveryStatus.PENDING else None

    @admin.display(description=_("delivered at"))
    def delivered(self, obj):
        return local_time(obj.delivered_at)

    @admin.display(description=_("last error"))
    def error_summary(self, obj):
        return short_error(obj.last_error)

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj):
        return pre(pretty_json(obj.payload))

    @admin.action(description=_("Retry now"), permissions=["change"])
    def retry_now(self, request, queryset):
        queued, refusals = 0, []
        for delivery in queryset.order_by("created_at", "id"):
            try:
                delivery_retry(delivery=delivery, by_name=request.user.get_username())
            except ValidationError as error:
                refusals.append(" ".join(error.messages))
                continue
            queued += 1
            self.log_change(request, delivery, gettext("Retried."))
        if queued:
            messages.success(
                request,
                ngettext(
                    "%(count)d delivery will be attempted now.", "%(count)d deliveries will be attempted now.", queued
                )
                % {"count": queued},
            )
        if refusals:
            messages.error(
                request,
                ngettext(
                    "%(count)d delivery was not retried: %(errors)s",
                    "%(count)d deliveries were not retried: %(errors)s",
                    len(refusals),
                )
                % {"count": len(refusals), "errors": _listed(refusals)},
            )
