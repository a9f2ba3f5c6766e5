"""The pages of the second factor: the code asked for after the password, and adding an authenticator.

Both are outside the admin site's URLs (so that the gate in `middleware` lets them through) and open only to
signed-in active staff, as the admin does; a code is checked by `services`, never here.
"""

import logging

import django_otp
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import logout, user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .forms import CodeForm
from .qr import qr_svg

logger = logging.getLogger(__name__)


def _next_url(request) -> str:
    """Where the user was going: a page of this site, or the admin's index."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return candidate
    return reverse("admin:index")


def step_url(step: str, next_url: str) -> str:
    """The page of `step` (selectors.VERIFY or ENROL), going on to `next_url` once it is done."""
    return f"{reverse(f'twofactor:{step}')}?{urlencode({'next': next_url})}"


def _refused(request):
    """The admin's login for anyone who is not signed-in active staff."""
    if selectors.is_signed_in_staff(request.user):
        return None
    return redirect_to_login(request.get_full_path(), reverse("admin:login"))


def _context(request, **extra):
    # The admin's header and user tools, without its navigation: the apps do not open before the second factor.
    return {**admin.site.each_context(request), "is_nav_sidebar_enabled": False, "next": _next_url(request), **extra}


def _signed_in_with(request, device) -> None:
    # A new session key once the second factor is given, as at a password login.
    request.session.cycle_key()
    django_otp.login(request, device)


def _failed_login(request):
    """A wrong code is a failed login: kept with the address among the failed logins, and counted towards the
    lockout of the user name at that address. Once that locks, the session ends and the lockout page says so."""
    credentials = {"username": request.user.get_username()}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if not getattr(request, "axes_locked_out", False):
        return None
    logout(request)
    return get_lockout_response(request, credentials=credentials)


def _refusal_message(check: services.CodeCheck) -> str:
    if check.locked_until is not None and check.locked_until > timezone.now():
        return gettext("Wrong code, or too many wrong codes: the next code is taken after %(time)s.") % {
            "time": timezone.localtime(check.locked_until).strftime("%H:%M:%S")}
    return gettext("Wrong code. Enter the code the authenticator app shows now.")


@never_cache
@sensitive_post_parameters("code")
@sensitive_variables("form")
@require_http_methods(["GET", "POST"])
def verify(request):
    """After the password: the current code of the user's authenticator."""
    if (refused := _refused(request)) is not None:
        return refused
    next_url = _next_url(request)
    step = selectors.twofactor_step(user=request.user)
    if step == selectors.ENROL:
        return redirect(step_url(selectors.ENROL, next_url))
    if step is None:
        return redirect(next_url)

    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = services.totp_device_verify(user=request.user, token=form.cleaned_data["code"])
        if check.accepted:
            _signed_in_with(request, check.device)
            return redirect(next_url)
        logger.warning("Wrong two-factor code for user %s", request.user.pk)
        if (locked := _failed_login(request)) is not None:
            return locked
        form.add_error("code", _refusal_message(check))
    return TemplateResponse(request, "admin/accounts/twofactor_verify.html", _context(
        request, title=gettext("Two-factor authentication"), form=form))


@never_cache
@sensitive_post_parameters("code")
@sensitive_variables("form", "device")
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Add an authenticator (required of some, open to every staff user), or see that one is on."""
    if (refused := _refused(request)) is not None:
        return refused
    user = request.user
    next_url = _next_url(request)
    title = gettext("Two-factor authentication")
    confirmed = selectors.totp_device_confirmed(user=user)
    if confirmed is not None:
        if not user.is_verified():
            # Only the holder of the authenticator may see this page: the password alone gives the code page.
            return redirect(step_url(selectors.VERIFY, next_url))
        return TemplateResponse(request, "admin/accounts/twofactor_enrol.html", _context(
            request, title=title, device=confirmed, required=selectors.twofactor_required(user=user)))

    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            check = services.totp_device_confirm(user=user, token=form.cleaned_data["code"])
        except services.TwoFactorError as error:
            messages.error(request, error.message)
            return redirect(step_url(selectors.ENROL, next_url))
        if check.accepted:
            _signed_in_with(request, check.device)
            messages.success(request, gettext(
                "Two-factor authentication is on: from now on the admin asks for a code of this authenticator "
                "after your password."))
            return redirect(next_url)
        form.add_error("code", _refusal_message(check))

    device = services.totp_device_pending(user=user)
    return TemplateResponse(request, "admin/accounts/twofactor_enrol.html", _context(
        request, title=title, form=form, required=selectors.twofactor_required(user=user),
        qr=qr_svg(device.config_url, title=gettext("QR code of the authenticator")),
        secret=selectors.totp_device_secret(device=device), issuer=settings.OTP_TOTP_ISSUER,
        account=user.get_username()))

