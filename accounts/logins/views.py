"""The page a locked-out user gets instead of the admin: axes calls `lockout_response` (AXES_LOCKOUT_CALLABLE) for a
login it refused, from its middleware, after the admin's login view ran."""

import math

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext

from . import selectors


def lockout_response(request, original_response=None, credentials=None):
    """The admin's look, the reason, how long the lock lasts and whom to ask; axes' status (HTTP 429)."""
    username = get_client_username(request, credentials) or ""
    state = selectors.lockout_state(username=username, ip_address=getattr(request, "axes_ip_address", None))
    cool_off = get_cool_off(request)
    until = state.until
    if until is None and cool_off is not None:
        until = timezone.now() + cool_off  # the lock this very attempt renewed
    context = {
        **admin.site.each_context(request),
        "title": gettext("Login locked"),
        "username": username,
        # Whole minutes, rounded up: a lock of any length reads as at least one minute, never as none.
        "minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off is not None else None,
        "until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M") if until is not None else None,
        "login_url": request.get_full_path(),
    }
    return render(request, "admin/accounts/login_lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
