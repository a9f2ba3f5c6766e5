"""The push endpoints 4pyun posts to: the inbox's receiver speaking 4pyun's protocol."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from integrations.inbox import inbound_method_refused, inbound_receive, inbox_protocol
from integrations.inbox.middleware import inbox_receiver
from integrations.models import Counterparty


@inbox_receiver
@csrf_exempt
def fourpyun_push(request, name: str):
    """POST /integrations/4pyun/push/<name>: start-result, stop-result, charging-status, order-info.

    A plain view, as Wanzhuang's: the body is the receiver's to store and verify as it came, and the kind is
    the URL's. An unknown name is stored and refused like any push we cannot read.
    """
    protocol = inbox_protocol(Counterparty.FOURPYUN)
    # 4pyun's engineers read Chinese; our replies speak it whatever the admin's language.
    with translation.override("zh-hans"):
        if request.method != "POST":
            reply, status = inbound_method_refused(protocol=protocol, method=request.method)
        else:
            reply, status = inbound_receive(protocol=protocol, request=request, kind=name[:64])
    response = JsonResponse(reply, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 405:
        response["Allow"] = "POST"
    return response
