"""What a login and a logout note beside axes' own records, connected in AccountsConfig.ready after axes' receivers
(axes comes first in INSTALLED_APPS), so that its record of the login exists when ours looks for it."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import services


@receiver(user_logged_in, dispatch_uid="accounts.logins.remember")
def login_remember(sender, request, user, **kwargs):
    if request is not None:
        services.login_record_remember(request=request, user=user)


@receiver(user_logged_out, dispatch_uid="accounts.logins.logout")
def logout_record(sender, request, user, **kwargs):
    if request is not None:
        services.login_record_logout(request=request)
