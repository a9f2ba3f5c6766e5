"""axes' tables under the names the admin shows: proxies, so every row is axes' own and no table is added."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.utils.translation import gettext_lazy as _


class LoginLockout(AccessAttempt):
    """The failed logins of one user name from one address (and browser) counted towards a lockout."""

    class Meta:
        proxy = True
        verbose_name = _("login lockout")
        verbose_name_plural = _("login lockouts")

    def __str__(self):
        return f"{self.username} @ {self.ip_address}"


class LoginRecord(AccessLog):
    """A login (the password accepted) and, once the session logs out, its logout."""

    class Meta:
        proxy = True
        verbose_name = _("login")
        verbose_name_plural = _("logins and logouts")

    def __str__(self):
        return f"{self.username} @ {self.ip_address}"


class LoginFailure(AccessFailureLog):
    """One failed login, whether or not it locked the user name out."""

    class Meta:
        proxy = True
        verbose_name = _("failed login")
        verbose_name_plural = _("failed logins")

    def __str__(self):
        return f"{self.username} @ {self.ip_address}"
