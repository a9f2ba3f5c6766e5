"""The changelist's button that reads every charger a vendor lists into the back office."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext

from backoffice.adminkit import html_message
from backoffice.errors import REFUSALS, error_message, no_answer_message
from chargers.forms import VendorChoiceForm
from chargers.models import Vendor
from chargers.services import chargers_discover


def can_discover(model_admin, request) -> bool:
    # Discovering creates the chargers we lack (awaiting a station) and rewrites the description of the others.
    return model_admin.has_add_permission(request) and model_admin.has_change_permission(request)


def charger_discover_view(model_admin, request):
    """Read the chosen vendor's chargers (a POST: it writes), then tell how many there were and how many await a
    station, with the way to them."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not can_discover(model_admin, request):
        raise PermissionDenied
    changelist = reverse("admin:chargers_charger_changelist")
    form = VendorChoiceForm(request.POST)
    if not form.is_valid():
        model_admin.message_user(request, gettext("Choose a vendor whose chargers to discover."), messages.ERROR)
        return redirect(changelist)
    vendor = form.cleaned_data["vendor"]
    vendor_name = dict(Vendor.choices).get(vendor, vendor)
    try:
        chargers = chargers_discover(vendor=vendor)
    except REFUSALS as error:
        # A read: an unanswered listing changed nothing worth repeating for.
        model_admin.message_user(
            request,
            gettext("%(vendor)s: %(error)s") % {"vendor": vendor_name,
                                               "error": error_message(error, unknown=no_answer_message)},
            messages.ERROR,
        )
        return redirect(changelist)
    read = ngettext(
        "%(count)d charger read from %(vendor)s.", "%(count)d chargers read from %(vendor)s.", len(chargers)
    ) % {"count": len(chargers), "vendor": vendor_name}
    awaiting = sum(charger.station_id is None for charger in chargers)
    if not awaiting:
        model_admin.message_user(request, f"{read} {gettext('Each of them is in a station.')}", messages.SUCCESS)
        return redirect(changelist)
    show = format_html('<a href="{}?placement=awaiting">{}</a>', changelist, gettext("Show them"))
    waiting = ngettext(
        "%(count)d of them awaits a station: nothing is sold on it until it is assigned to one.",
        "%(count)d of them await a station: nothing is sold on them until they are assigned to one.",
        awaiting,
    )
    model_admin.message_user(
        request,
        # Sentences side by side, each translated whole; the link comes last.
        html_message(f"%(read)s {waiting} %(show)s", read=read, count=awaiting, show=show),
        messages.WARNING,
    )
    return redirect(changelist)
