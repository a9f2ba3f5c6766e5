"""The daily close in the admin: the morning list of days, a day's statements side by side, its
differences and their resolution, closing and reopening.

The business day changelist is the overview of the last 31 days (whether a day has a row or not: a row
exists only once a day has been closed). Each day's page shows every counterparty's totals beside ours
and the way to each difference; the buttons call the services, which check the permissions again.
"""

import json
from datetime import date
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_q.tasks import async_task

from backoffice.adminkit import ReadOnlyAdminMixin, admin_link, local_time
from backoffice.days import business_day_bounds, business_day_of
from backoffice.errors import REFUSALS, error_message
from orders.models import BusinessDay, DayEvent, LineAction, LineState, OrderStatus, Statement, StatementLine
from orders.models.close import UNRESOLVED_STATES
from orders.reconciliation.selectors import business_days_overview, day_statements
from orders.reconciliation.services import (
    business_day_blockers,
    business_day_close,
    business_day_reopen,
    statement_line_accept,
    statement_line_correct,
    statement_line_send_back,
)
from orders.selectors import business_day_closed
from orders.services.progress import SESSION_AMOUNT_MAX_FEN, SESSION_ENERGY_MAX_WH
from tariffs.units import format_fen, format_wh


def _figures_text(figures: dict) -> str:
    """A side's figures in words: energy in kWh, amount in yuan, status by its label."""
    if not figures:
        return "—"
    if "records" in figures:
        return " | ".join(_figures_text(record) for record in figures["records"])
    parts = []
    if figures.get("energy_wh") is not None:
        parts.append(f"{format_wh(figures['energy_wh'])} kWh")
    if figures.get("amount_fen") is not None:
        parts.append(gettext("%(yuan)s yuan") % {"yuan": format_fen(figures["amount_fen"])})
    if figures.get("status"):
        status = figures["status"]
        parts.append(str(OrderStatus(status).label) if status in OrderStatus.values else status)
    return ", ".join(parts) or "—"


def _day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
        business_day_bounds(day)  # the instants of the day exist
    except (ValueError, OverflowError):
        raise Http404(gettext("%(value)s is not a date (YYYY-MM-DD).") % {"value": value[:20]}) from None
    if not 2000 <= day.year <= 2099:
        raise Http404(gettext("%(value)s is not a business day of ours.") % {"value": value[:20]})
    return day


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             help_text=_("Why the closed day must change; kept with the reopening."))


@admin.register(BusinessDay)
class BusinessDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The morning list of days and each day's page; closing and reopening are buttons on the day."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("day/<str:day>/", wrap(partial(day_view, self)), name="orders_businessday_day"),
            path("day/<str:day>/build/", wrap(partial(day_build_view, self)), name="orders_businessday_build"),
            path("day/<str:day>/close/", wrap(partial(day_close_view, self)), name="orders_businessday_close"),
            path("day/<str:day>/reopen/", wrap(partial(day_reopen_view, self)), name="orders_businessday_reopen"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Daily close"),
            "days": business_days_overview(),
        }
        return TemplateResponse(request, "admin/orders/businessday/overview.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A closed day's row opens as the day's page."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        business_day = BusinessDay.objects.filter(pk=int(object_id)).first() if object_id.isdigit() and len(
            object_id) < 19 else None
        if business_day is None:
            raise Http404(gettext("No such business day."))
        return HttpResponseRedirect(reverse("admin:orders_businessday_day", args=[business_day.day.isoformat()]))


def _statement_rows(day: date):
    rows = []
    for source, statement, counts in day_statements(day=day):
        totals = None
        if statement is not None:
            totals = [
                (gettext("orders"), statement.our_orders, statement.their_orders,
                 statement.their_orders - statement.our_orders),
                ("kWh", format_wh(statement.our_energy_wh), format_wh(statement.their_energy_wh),
                 format_wh(statement.their_energy_wh - statement.our_energy_wh)),
                (gettext("yuan"), format_fen(statement.our_amount_fen), format_fen(statement.their_amount_fen),
                 format_fen(statement.their_amount_fen - statement.our_amount_fen)),
            ]
        states = [(LineState(state).label, counts.get(state, 0), state) for state in LineState.values]
        rows.append({"source": source, "statement": statement, "totals": totals, "states": states,
                     "unresolved": sum(counts.get(state, 0) for state in UNRESOLVED_STATES)})
    return rows


def day_view(model_admin, request, day):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    day = _day(day)
    business_day = BusinessDay.objects.filter(day=day).first()
    closed = business_day is not None and business_day.closed
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Business day %(day)s") % {"day": day.isoformat()},
        "day": day,
        "closed": closed,
        "business_day": business_day,
        "statements": _statement_rows(day),
        "blockers": [] if closed else business_day_blockers(day=day),
        "events": DayEvent.objects.filter(day__day=day).select_related("user"),
        "can_build": request.user.has_perm("orders.resolve_statementline") and not closed,
        "can_close": request.user.has_perm("orders.close_day") and not closed,
        "can_reopen": request.user.has_perm("orders.reopen_day") and closed,
        "can_export": request.user.has_perm("orders.export_orders"),
        "reopen_form": ReopenForm(),
    }
    return TemplateResponse(request, "admin/orders/businessday/day.html", context)


def _back(day: date):
    return HttpResponseRedirect(reverse("admin:orders_businessday_day", args=[day.isoformat()]))


def _post_only(request):
    if request.method != "POST":
        raise PermissionDenied


def day_build_view(model_admin, request, day):
    """Build every statement of the day again: each source repairs (asks its counterparty), then compares."""
    _post_only(request)
    if not request.user.has_perm("orders.resolve_statementline"):
        raise PermissionDenied
    day = _day(day)
    if business_day_closed(day=day):
        messages.error(request, gettext("Business day %(day)s is closed: its statements cannot change.")
                       % {"day": day.isoformat()})
        return _back(day)
    if day > business_day_of(timezone.now()):
        messages.error(request, gettext("Business day %(day)s has not begun: there is nothing to compare yet.")
                       % {"day": day.isoformat()})
        return _back(day)
    transaction.on_commit(lambda: async_task("orders.tasks.statements_build_day", day.isoformat(),
                                             task_name=f"statements {day.isoformat()}"))
    messages.info(request, gettext("The statements of %(day)s are being built: each counterparty is asked for what "
                                   "is missing first. Reload this page in a moment.") % {"day": day.isoformat()})
    return _back(day)


def day_close_view(model_admin, request, day):
    """Close the day (the service checks that everything is accounted for, and says what is not)."""
    _post_only(request)
    if not request.user.has_perm("orders.close_day"):
        raise PermissionDenied
    day = _day(day)
    try:
        business_day_close(day=day, user=request.user)
    except PermissionDenied:
        raise
    except REFUSALS as exc:
        messages.error(request, error_message(exc))
        return _back(day)
    messages.success(request, gettext("Business day %(day)s is closed. Its orders and statements can no longer "
                                      "change.") % {"day": day.isoformat()})
    return _back(day)


def day_reopen_view(model_admin, request, day):
    _post_only(request)
    day = _day(day)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Reopening a closed day needs a reason."))
        return _back(day)
    try:
        business_day_reopen(day=day, user=request.user, reason=form.cleaned_data["reason"])
    except PermissionDenied:
        raise
    except REFUSALS as exc:
        messages.error(request, error_message(exc))
        return _back(day)
    messages.warning(request, gettext("Business day %(day)s is open again; the reason is on record. Close it again "
                                      "once it is settled.") % {"day": day.isoformat()})
    return _back(day)


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("day", "counterparty", "built_at", "repaired", "our_orders", "their_orders", "our_energy",
                    "their_energy", "our_amount", "their_amount", "differences")
    list_filter = ("counterparty",)
    date_hierarchy = "day"
    ordering = ("-day", "counterparty")

    @admin.display(description=_("our energy (kWh)"))
    def our_energy(self, obj):
        return format_wh(obj.our_energy_wh)

    @admin.display(description=_("their energy (kWh)"))
    def their_energy(self, obj):
        return format_wh(obj.their_energy_wh)

    @admin.display(description=_("our amount (yuan)"))
    def our_amount(self, obj):
        return format_fen(obj.our_amount_fen)

    @admin.display(description=_("their amount (yuan)"))
    def their_amount(self, obj):
        return format_fen(obj.their_amount_fen)

    @admin.display(description=_("differences"))
    def differences(self, obj):
        url = reverse("admin:orders_statementline_changelist")
        return format_html('<a href="{}?statement__id__exact={}">{}</a>', url, obj.pk, gettext("show"))


class LineActionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LineAction
    fields = ("at", "action", "user", "comment", "values")
    readonly_fields = fields
    extra = 0


class ResolveForm(forms.Form):
    ACTIONS = (("accept", _("Accept: our figures stand")), ("correct", _("Correct the order's figures")),
               ("send_back", _("Send back to operations")))
    action = forms.ChoiceField(label=_("resolution"), choices=ACTIONS, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              max_length=2000, help_text=_("Required to correct or to send back."))
    energy_wh = forms.IntegerField(label=_("corrected energy (Wh)"), required=False, min_value=0,
                                   max_value=SESSION_ENERGY_MAX_WH)
    electricity_fee_fen = forms.IntegerField(label=_("corrected electricity fee (fen)"), required=False,
                                             min_value=0, max_value=SESSION_AMOUNT_MAX_FEN)
    service_fee_fen = forms.IntegerField(label=_("corrected service fee (fen)"), required=False, min_value=0,
                                         max_value=SESSION_AMOUNT_MAX_FEN)
    # The figures the page showed, so that a rebuild in between is not resolved unseen.
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("correct", "send_back") and not (data.get("comment") or "").strip():
            self.add_error("comment", gettext("A comment is required to correct or to send back."))
        if action == "correct":
            for name in ("energy_wh", "electricity_fee_fen", "service_fee_fen"):
                if data.get(name) is None:
                    self.add_error(name, gettext("A correction needs this value."))
        return data


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every difference of every statement; finance resolves each on its page, operators see the ones sent back."""

    list_display = ("day", "counterparty", "category", "order_link", "reference", "ours_text", "theirs_text",
                    "state", "resolve_link")
    list_filter = ("state", "category", "statement__counterparty", "statement__day")
    list_select_related = ("statement", "order")
    search_fields = ("key__startswith", "reference__exact")
    search_help_text = _("An order number (or its start), or the counterparty's reference.")
    ordering = ("-statement__day", "statement__counterparty", "category", "key")
    fields = ("statement", "category", "key", "order_link", "reference", "ours_text", "theirs_text", "detail",
              "state", "found_at")
    readonly_fields = fields
    inlines = (LineActionInline,)
    actions = ("accept_selected",)

    def has_resolve_permission(self, request, obj=None):
        return request.user.has_perm("orders.resolve_statementline")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<int:pk>/resolve/", wrap(partial(line_resolve_view, self)), name="orders_statementline_resolve"),
                *super().get_urls()]

    @admin.display(description=_("business day"), ordering="statement__day")
    def day(self, obj):
        return obj.statement.day

    @admin.display(description=_("counterparty"))
    def counterparty(self, obj):
        return obj.statement.counterparty

    @admin.display(description=_("order"))
    def order_link(self, obj):
        return admin_link(obj.order) if obj.order_id else self.get_empty_value_display()

    @admin.display(description=_("our figures"))
    def ours_text(self, obj):
        return obj.detail if obj.category not in _FIGURED else _figures_text(obj.ours)

    @admin.display(description=_("their figures"))
    def theirs_text(self, obj):
        return _figures_text(obj.theirs)

    @admin.display(description=_("resolve"))
    def resolve_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_statementline_resolve", args=[obj.pk]),
                           gettext("Resolve"))

    @admin.action(description=_("Accept the selected differences"), permissions=("resolve",))
    def accept_selected(self, request, queryset):
        done = 0
        for line in queryset.filter(state__in=UNRESOLVED_STATES):
            try:
                statement_line_accept(line=line, user=request.user)
                done += 1
            except REFUSALS as exc:
                messages.error(request, error_message(exc))
                return
        messages.success(request, gettext("%(count)s differences accepted.") % {"count": done})


# Categories whose lines carry figures on each side; a conflict's line carries its detail instead.
_FIGURED = {"missing_ours", "missing_theirs", "energy", "amount", "duplicate", "status", "price"}


def line_resolve_view(model_admin, request, pk):
    line = get_object_or_404(StatementLine.objects.select_related("statement", "order"), pk=pk)
    if not model_admin.has_view_permission(request, line):
        raise PermissionDenied
    can_resolve = model_admin.has_resolve_permission(request)
    initial = {"seen": json.dumps({"ours": line.ours, "theirs": line.theirs}, sort_keys=True)}
    if line.order is not None:
        initial |= {"energy_wh": line.theirs.get("energy_wh") or line.order.energy_wh,
                   "electricity_fee_fen": line.order.electricity_fee_fen,
                   "service_fee_fen": line.order.service_fee_fen}
    form = ResolveForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_resolve:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                seen = json.loads(data["seen"]) if data["seen"] else None
            except ValueError:
                seen = {}
            try:
                if data["action"] == "accept":
                    line = statement_line_accept(line=line, user=request.user, comment=data["comment"], seen=seen)
                elif data["action"] == "send_back":
                    line = statement_line_send_back(line=line, user=request.user, comment=data["comment"],
                                                    seen=seen)
                else:
                    line = statement_line_correct(line=line, user=request.user, comment=data["comment"],
                                                  energy_wh=data["energy_wh"],
                                                  electricity_fee_fen=data["electricity_fee_fen"],
                                                  service_fee_fen=data["service_fee_fen"], seen=seen)
            except PermissionDenied:
                raise
            except REFUSALS as exc:
                messages.error(request, error_message(exc))
            else:
                messages.success(request, gettext("The difference is %(state)s.")
                                 % {"state": LineState(line.state).label})
                return _back(line.statement.day)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Resolve a difference"),
        "line": line,
        "ours": _figures_text(line.ours) if line.category in _FIGURED else line.detail,
        "theirs": _figures_text(line.theirs),
        "form": form,
        "can_resolve": can_resolve and not business_day_closed(day=line.statement.day),
        "actions_done": line.actions.select_related("user"),
        "order_link": admin_link(line.order) if line.order_id else None,
        "local_time": local_time,
    }
    return TemplateResponse(request, "admin/orders/statementline/resolve.html", context)


@admin.register(DayEvent)
class DayEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("day", "action", "user", "at", "reason")
    list_filter = ("action",)
    list_select_related = ("day", "user")
