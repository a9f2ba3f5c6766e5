"""Pushes are answered before the rest of the middleware, as load balancers' health probes are.

A vendor's cloud posting news needs no session, user, CSRF token, language, messages or security
headers, and every push of every charger pays for each of them: the receiver views are machine to
machine and speak their counterparty's protocol. Nor is a push redirected to HTTPS (a redirected POST
loses its body, and the vendor would resend it forever); whether pushes must come over TLS is for the
load balancer and the vendor's configuration to say. The Host header is still checked against
ALLOWED_HOSTS. Only views marked `@inbox_receiver`, reached by POST, are answered here; every other
request, including any other view under the same prefix, goes through the whole stack.
"""

from django.urls import Resolver404, resolve

RECEIVER_PREFIX = "/integrations/"


def inbox_receiver(view):
    """Mark a view as a push receiver, to be answered by `PushReceiverMiddleware`."""
    view.inbox_receiver = True
    return view


class PushReceiverMiddleware:
    """Placed right after the health check: a POST to a receiver view goes straight to it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path_info.startswith(RECEIVER_PREFIX):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and getattr(match.func, "inbox_receiver", False):
                request.get_host()  # ALLOWED_HOSTS still holds: a wrong Host is answered 400 by Django
                return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)
