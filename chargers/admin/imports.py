"""The page that imports a vendor's chargers into a station, and places those awaiting one."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from backoffice.errors import REFUSALS, error_message, no_answer_message
from chargers.forms import ChargerImportForm, VendorChoiceForm
from chargers.models import Charger, ConnectorStatus
from chargers.services import charger_import_from_vendor
from chargers.vendor import VendorError, registry
from tariffs.models import VehicleKind


def charger_import_view(model_admin, request):
    """List a vendor's chargers, marking those we have, and add the ticked ones to a station."""
    if not model_admin.has_add_permission(request):
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
            model_admin.message_user(request, error_message(error, unknown=no_answer_message), messages.ERROR)
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
        except REFUSALS as error:
            # Importing reads each charger from its vendor: an unanswered read changed nothing.
            model_admin.message_user(request, error_message(error, unknown=no_answer_message), messages.ERROR)
        else:
            model_admin.message_user(
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
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
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
