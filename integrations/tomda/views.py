"""The one endpoint Tomda pushes to (§5): the inbox's receiver speaking Tomda's protocol."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.inbox import inbound_receive, inbox_protocol
from integrations.inbox.middleware import inbox_receiver
from integrations.models import Counterparty


@inbox_receiver
@csrf_exempt
@require_POST
def tomda_push(request):
    """POST /integrations/tomda/push: every Tomda push type, as JSON or as form fields.

    A plain view, not DRF's: the body is the receiver's to store and verify as it came, and the answer
    is Tomda's envelope, so DRF's parsers, negotiation and renderers would only cost time on the path
    every push of every charger takes.
    """
    # Tomda's engineers read Chinese; our replies speak it whatever the admin's language.
    with translation.override("zh-hans"):
        reply, status = inbound_receive(protocol=inbox_protocol(Counterparty.TOMDA), request=request)
    return JsonResponse(reply, status=status, json_dumps_params={"ensure_ascii": False})
