"""The receiver view of a counterparty that pushes each kind to a URL of its own (`.../<name>`)."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from .middleware import inbox_receiver
from .protocol import inbox_protocol
from .receiver import inbound_method_refused, inbound_receive


def kind_receiver(vendor: str):
    """A plain view for `vendor`'s pushes at `<prefix>/<name>`: the body is the receiver's to store and verify as it
    came, the kind is the URL's (an unknown name is stored and refused like any push we cannot read), and the
    replies speak Chinese, which the vendors' engineers read, whatever the admin's language."""

    @inbox_receiver
    @csrf_exempt
    def receive(request, name: str):
        protocol = inbox_protocol(vendor)
        with translation.override("zh-hans"):
            if request.method != "POST":
                reply, status = inbound_method_refused(protocol=protocol, method=request.method)
            else:
                reply, status = inbound_receive(protocol=protocol, request=request, kind=name[:64])
        response = JsonResponse(reply, status=status, json_dumps_params={"ensure_ascii": False})
        if status == 405:
            response["Allow"] = "POST"
        return response

    return receive
