"""Sending a tariff version to the chargers from its page, and what each charger answered."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from backoffice.errors import DomainError, OutcomeUnknown, error_message
from chargers.selectors import tariff_push_result_counts, tariff_version_pushes_latest
from chargers.services import tariff_version_push


def _may_push(request):
    # Sending a tariff is an act on the chargers, so it is the chargers' change permission.
    return request.user.has_perm("chargers.change_charger")


def tariff_version_pushes_context(request, version) -> dict:
    """What the version's page shows of its pushes: whether it may be sent, and each charger's answer."""
    context = {"can_push": _may_push(request), "in_force": version.in_force_id == version.pk}
    if request.user.has_perm("chargers.view_chargertariffpush"):
        pushes = tariff_version_pushes_latest(version=version)
        context["acknowledgements"] = pushes
        context["acknowledgement_counts"] = tariff_push_result_counts(pushes)
    return context


def tariff_version_push_view(model_admin, request, pk):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not _may_push(request):
        raise PermissionDenied
    version = get_object_or_404(model_admin.get_queryset(request).select_related("template"), pk=pk)
    back = reverse("admin:tariffs_tariffversion_change", args=[version.pk]) + "#charger-acknowledgements"
    try:
        pushes = tariff_version_push(version=version, by_name=request.user.get_username())
    except (ValidationError, OutcomeUnknown) as error:
        model_admin.message_user(request, error_message(error), messages.ERROR)
    except DomainError as error:
        model_admin.message_user(
            request,
            gettext("A vendor refused %(version)s: %(error)s. The table below shows which chargers got it.")
            % {"version": version, "error": error_message(error)},
            messages.ERROR,
        )
    else:
        model_admin.message_user(
            request,
            ngettext(
                "%(version)s sent to %(count)d charger; its answer appears below when it comes.",
                "%(version)s sent to %(count)d chargers; their answers appear below as they come.",
                len(pushes),
            )
            % {"version": version, "count": len(pushes)},
            messages.SUCCESS,
        )
    return redirect(back)
