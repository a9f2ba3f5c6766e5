"""Operators' commands on sessions: the changelist actions, the buttons of an order's page, the start page."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import Operation, admin_link, html_message, operation_run
from chargers.models import Connector
from chargers.vendor import VendorError, charge_strategies_for
from orders.forms import SessionReserveForm, SessionStartForm
from orders.models import Order, OrderStatus
from orders.services import order_refresh, order_reservation_cancel, order_reserve, order_start, order_stop


def _order_label(order):
    return gettext("Order %(order)s") % {"order": order.order_no}


@dataclass(frozen=True)
class SessionCommand:
    """A command on an existing order: how the admin runs it, and where the order's page offers it."""

    title: Promise  # the action's and the button's name
    statuses: tuple  # the order statuses the command is offered for
    done: Promise  # one order, from its page; %(order)s is a link, %(status)s its new status
    operation: Operation


def _command(*, service, title, statuses, done, done_count, unavailable) -> SessionCommand:
    """A SessionCommand; `unavailable` (with %(error)s) says what an unanswered command means."""

    def not_applicable(order):
        if order.status in statuses:
            return None
        return gettext("it is %(status)s, and “%(operation)s” does not apply to it.") % {
            "status": order.get_status_display(),
            "operation": title,
        }

    operation = Operation(
        service=service,
        done_count=done_count,
        unknown=lambda error: str(unavailable) % {"error": error},
        not_applicable=not_applicable,
        label=_order_label,
    )
    return SessionCommand(title=title, statuses=statuses, done=done, operation=operation)


SESSION_COMMANDS = {
    "stop": _command(
        service=lambda order: order_stop(order=order),
        title=_("Stop charging"),
        statuses=(OrderStatus.STARTING, OrderStatus.CHARGING, OrderStatus.STOPPING),
        done=_(
            "Order %(order)s: the charger was asked to stop; the order is %(status)s until the vendor reports the end."
        ),
        done_count=ngettext_lazy(
            "The vendor was asked to stop %(count)d session.",
            "The vendor was asked to stop %(count)d sessions.",
            "count",
        ),
        unavailable=_(
            "the vendor did not answer, so whether the session stopped is unknown (%(error)s). "
            "The system will ask the vendor."
        ),
    ),
    "cancel_reservation": _command(
        service=lambda order: order_reservation_cancel(order=order),
        title=_("Cancel reservation"),
        statuses=(OrderStatus.BOOKED,),
        done=_("Order %(order)s: the reservation is cancelled and the connector released."),
        done_count=ngettext_lazy("%(count)d reservation cancelled.", "%(count)d reservations cancelled.", "count"),
        unavailable=_(
            "the vendor did not answer, so whether it released the connector is unknown (%(error)s). "
            "The order stays booked."
        ),
    ),
    "refresh": _command(
        service=lambda order: order_refresh(order=order),
        title=_("Ask vendor for progress"),
        # A booked session has no progress yet, and an ended one has been settled or cancelled.
        statuses=(OrderStatus.STARTING, OrderStatus.CHARGING, OrderStatus.STOPPING, OrderStatus.FINISHED),
        done=_("Order %(order)s, as the vendor tells: %(status)s."),
        done_count=ngettext_lazy(
            "%(count)d order brought up to date from its vendor.",
            "%(count)d orders brought up to date from their vendors.",
            "count",
        ),
        unavailable=_("the vendor did not answer (%(error)s); nothing changed. Try again later."),
    ),
}


def session_operation_view(model_admin, request, pk, name):
    """One command on one order, from the buttons of its page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_operate_session_permission(request):
        raise PermissionDenied
    if name not in SESSION_COMMANDS:
        raise Http404
    command = SESSION_COMMANDS[name]
    order = get_object_or_404(Order.objects.select_related("charger", "connector"), pk=pk)
    done, updated = operation_run(model_admin, request, order, command.operation)
    if done:
        model_admin.message_user(
            request,
            html_message(
                str(command.done), order=admin_link(updated, updated.order_no), status=updated.get_status_display()
            ),
            messages.SUCCESS,
        )
    return redirect(reverse("admin:orders_order_change", args=[order.pk]))


def session_start_view(model_admin, request, connector_pk):
    """Start or reserve a session on a connector, as a driver's app would."""
    if not model_admin.has_operate_session_permission(request):
        raise PermissionDenied
    connector = get_object_or_404(Connector.objects.select_related("charger__station"), pk=connector_pk)
    posted = request.POST if request.method == "POST" else None
    start_form = SessionStartForm(
        posted if posted and "start" in posted else None,
        prefix="start",
        strategies=charge_strategies_for(connector.charger),
    )
    reserve_form = SessionReserveForm(posted if posted and "reserve" in posted else None, prefix="reserve")
    if start_form.is_bound and start_form.is_valid():
        data = start_form.cleaned_data
        _begin(
            model_admin,
            request,
            order_start,
            gettext("Order %(order)s was sent to %(connector)s. It shows charging once the charger reports; "
                    "without news the system asks the vendor."),
            connector=connector,
            strategy=data["strategy"],
            strategy_param=data["strategy_param"],
            authorized_amount_fen=data["authorized_amount_fen"],
            driver_id=data["driver_id"],
        )
        return redirect(request.path)
    if reserve_form.is_bound and reserve_form.is_valid():
        _begin(
            model_admin,
            request,
            order_reserve,
            gettext("Order %(order)s reserves %(connector)s."),
            connector=connector,
            driver_id=reserve_form.cleaned_data["driver_id"],
        )
        return redirect(request.path)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Start or reserve a session"),
        "subtitle": str(connector),
        "connector": connector,
        "connector_opts": Connector._meta,
        "start_form": start_form,
        "reserve_form": reserve_form,
        "recent_orders": Order.objects.filter(connector=connector).order_by("-created_at", "-id")[:10],
    }
    return TemplateResponse(request, "admin/orders/session_start.html", context)


def _begin(model_admin, request, service, done, **kwargs):
    connector = kwargs["connector"]
    try:
        order = service(**kwargs)
    except ValidationError as error:
        for text in error.messages:
            model_admin.message_user(request, text, messages.ERROR)
    except VendorError as error:
        # The order the vendor refused is kept (start failed or cancelled) and listed on the page.
        model_admin.message_user(
            request, gettext("The vendor refused: %(error)s") % {"error": error}, messages.ERROR
        )
    else:
        model_admin.message_user(
            request,
            html_message(done, order=admin_link(order, order.order_no), connector=str(connector)),
            messages.SUCCESS,
        )
