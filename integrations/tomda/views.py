"""The one endpoint Tomda pushes to (§5): the inbox's receiver speaking Tomda's protocol."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from integrations.inbox import inbound_method_refused, inbound_receive, inbox_protocol
from integrations.inbox.middleware import inbox_receiver
from integrations.models import Counterparty


@inbox_receiver
@csrf_exempt
def tomda_push(request):
    """POST /integrations/tomda/push: every Tomda push type, as JSON or as form fields.

    A plain view, not DRF's: the body is the receiver's to store and verify as it came, and the answer
    is Tomda's envelope, so DRF's parsers, negotiation and renderers would only cost time on the path
    every push of every charger takes.
    """
    protocol = inbox_protocol(Counterparty.TOMDA)
    # Tomda's engineers read Chinese; our replies speak it whatever the admin's language.
    with translation.override("zh-hans"):
        if request.method != "POST":
            reply, status = inbound_method_refused(protocol=protocol, method=request.method)
        else:
            reply, status = inbound_receive(protocol=protocol, request=request)
    response = JsonResponse(reply, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 405:
        response["Allow"] = "POST"
    return response
