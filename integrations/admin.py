"""Admin pages of what crossed the border: calls we made, pushes we received, deliveries we owe.

They are where the person on call looks first when a vendor or partner says something went wrong,
so each list answers "which counterparty, what kind, did it work, for which charger and order, and
why not" without opening a row, and each row shows its bodies readably (JSON indented, Chinese as
characters). The tables grow by millions of rows: lists use the large-table paginator and the probed
date hierarchy, searches are exact lookups an index serves, and no filter asks the table for its
distinct values. Vendor tokens are not shown: they are secrets.
"""

from django.contrib import admin, messages
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from backoffice.adminkit import (
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    RowActionsAdminMixin,
    listed,
    local_time,
    pre,
    pretty_json,
    pretty_text,
    recent_values_filter,
    selection_in_background,
    short_error,
)
from integrations.bulk import deliveries_retry_selected, inbound_replay_selected
from integrations.inbox import inbox_backlog
from integrations.models import (
    ApiCallLog,
    Counterparty,
    DeliveryAttempt,
    DeliveryStatus,
    InboundMessage,
    OutboundDelivery,
)
from orders.models import Order

REPLAY_QUEUED = ngettext_lazy(
    "%(count)d message will be replayed in the background, oldest first; each row's status tells how it went.",
    "%(count)d messages will be replayed in the background, oldest first; each row's status tells how it went.",
    "count",
)
RETRY_QUEUED = ngettext_lazy(
    "%(count)d delivery will be attempted in the background; each row's status tells how it went.",
    "%(count)d deliveries will be attempted in the background; each row's status tells how it went.",
    "count",
)

# --- links to our records --------------------------------------------------------------------------------


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

        The dedupe key's only index is the unique one on (vendor, dedupe_key, day) for first arrivals, which
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
        oldest_first = queryset.order_by("received_at", "id")
        if selection_in_background(self, request, oldest_first, task="integrations.tasks.inbound_replay_selected",
                                   queued=REPLAY_QUEUED):
            return
        report = inbound_replay_selected(ids=list(oldest_first.values_list("pk", flat=True)), user_id=request.user.pk)
        processed, copies, failures = len(report.done), report.unchanged, report.failures
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
                % {"count": len(copies), "copies": listed(copies)},
            )
        if failures:
            messages.error(
                request,
                ngettext(
                    "%(count)d message failed again: %(errors)s",
                    "%(count)d messages failed again: %(errors)s",
                    len(failures),
                )
                % {"count": len(failures), "errors": listed(failures)},
            )


# --- outbound deliveries --------------------------------------------------------------------------------


class DeliveryAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A delivery's attempts, newest first: what each one got back, or why it failed."""

    model = DeliveryAttempt
    fields = ("started", "duration_ms", "http_status", "succeeded", "response_shown", "error_shown")
    readonly_fields = fields
    ordering = ("-number", "-id")
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        # An attempt is part of its delivery: whoever may look at the delivery sees its attempts.
        return self.admin_site.get_model_admin(OutboundDelivery).has_view_permission(request, obj)

    @admin.display(description=_("started at"))
    def started(self, obj):
        return local_time(obj.started_at)

    @admin.display(description=_("response"))
    def response_shown(self, obj):
        return pre(pretty_text(obj.response_head))

    @admin.display(description=_("error"))
    def error_shown(self, obj):
        return pre(obj.error)


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
    inlines = (DeliveryAttemptInline,)

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
        oldest_first = queryset.order_by("created_at", "id")
        if selection_in_background(self, request, oldest_first, task="integrations.tasks.deliveries_retry_selected",
                                   queued=RETRY_QUEUED):
            return
        report = deliveries_retry_selected(ids=list(oldest_first.values_list("pk", flat=True)), user_id=request.user.pk)
        queued, refusals = len(report.done), report.failures
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
                % {"count": len(refusals), "errors": listed(refusals)},
            )
