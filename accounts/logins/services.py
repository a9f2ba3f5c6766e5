"""Writes of the admin logins: a user name unlocked at an address, and the logout noted on its login's record.

The counting, the locking and the records themselves are axes' (its handler runs on Django's login signals); what
is ours is who may unlock (the admin) and a logout that axes alone would not find (`login_record_logout`).
"""

from __future__ import annotations

from collections.abc import Iterable

from axes.helpers import get_client_session_hash
from axes.models import AccessLog
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.admin.models import DELETION, LogEntry
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .models import LoginLockout

# The session's own login record, so that its logout finds it whatever became of the session key.
SESSION_RECORD_KEY = "accounts_login_record"


def _pair_order(pair: tuple[str | None, str | None]) -> tuple[str, str]:
    return pair[0] or "", pair[1] or ""


def login_lockout_unlock(*, lockouts: Iterable[LoginLockout], by) -> list[str]:
    """Unlock the user name of each of `lockouts` at its address: every row of that user name and address, whatever
    the browser, goes (axes' reset), and each is kept in the admin's log under `by`. A user name locked at another
    address stays locked there. Returns "name @ address" of each one unlocked; one unlocked meanwhile is left out."""
    unlocked = []
    with transaction.atomic():
        pairs = {(lockout.username, lockout.ip_address) for lockout in lockouts}
        for username, ip_address in sorted(pairs, key=_pair_order):
            rows = list(LoginLockout.objects.select_for_update()
                        .filter(username=username, ip_address=ip_address).order_by("pk"))
            if not rows:
                continue
            LogEntry.objects.log_actions(by.pk, rows, DELETION, change_message=gettext("Unlocked."))
            if username and ip_address:
                axes_reset(ip=ip_address, username=username)
            else:
                # axes' reset drops an empty criterion, which would unlock every user name at the address (or the
                # user name everywhere): only these rows go.
                LoginLockout.objects.filter(pk__in=[row.pk for row in rows]).delete()
            unlocked.append(str(rows[0]))
    return unlocked


def login_record_remember(*, request, user) -> None:
    """Note in the session the record axes just wrote of its login. axes finds a session's record at logout by a
    hash of the session key, which changes when the second factor is given or the password is changed."""
    if not settings.AXES_ENABLED or settings.AXES_DISABLE_ACCESS_LOG or not hasattr(request, "session"):
        return
    record = (AccessLog.objects.filter(username=user.get_username(), session_hash=get_client_session_hash(request),
                                       logout_time__isnull=True)
              .order_by("-pk").values_list("pk", flat=True).first())
    if record is not None:
        request.session[SESSION_RECORD_KEY] = record


def login_record_logout(*, request) -> None:
    """The logout time on the session's login record, when axes did not find it by the session key's hash."""
    if not settings.AXES_ENABLED or not hasattr(request, "session"):
        return
    record = request.session.get(SESSION_RECORD_KEY)
    if record is None:
        return
    at = getattr(request, "axes_attempt_time", None) or timezone.now()
    AccessLog.objects.filter(pk=record, logout_time__isnull=True).update(logout_time=at)
