"""Users' and groups' pages with their history: Django's UserAdmin and GroupAdmin as registered on the site, each
re-registered with the history admin (backoffice.adminkit.HistoryAdminMixin).

The classes are read from the site rather than imported, so that whatever another app (loaded before this one)
registered for them is kept.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext

from backoffice.adminkit import HistoryAdminMixin

User = get_user_model()


def _with_history(model):
    registered = type(admin.site.get_model_admin(model))
    admin.site.unregister(model)
    return registered


UserBaseAdmin = _with_history(User)
GroupBaseAdmin = _with_history(Group)


class PasswordChangeRecorded(UserBaseAdmin.change_password_form):
    """The admin's form that sets a user's password. The password's hash is kept out of history, so the change is
    recorded by its reason: who changed whose password, and when."""

    def save(self, commit=True):
        self.user._change_reason = gettext("Password changed")
        return super().save(commit)


@admin.register(User)
class UserHistoryAdmin(HistoryAdminMixin, UserBaseAdmin):
    change_password_form = PasswordChangeRecorded


@admin.register(Group)
class GroupHistoryAdmin(HistoryAdminMixin, GroupBaseAdmin):
    pass
