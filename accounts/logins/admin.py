"""Admin logins in the admin, for superusers only: lockouts (unlocked from the list) and the records of logins,
logouts and failed logins.

Superusers only, whatever permissions a group is given: the records say who works when and from where, and an
unlock lifts the guard against guessing passwords. Nobody adds, changes or deletes a record here; axes writes them.
These replace axes' own pages (AXES_ENABLE_ADMIN is off), which leave it to the models' permissions and show the
form fields of each attempt.
"""

import ipaddress

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import (
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    SuperusersOnlyAdminMixin,
    is_superuser,
    listed,
    local_time,
)
from backoffice.adminkit.tables import LargeTableChangeList

from . import selectors, services
from .models import LoginFailure, LoginLockout, LoginRecord

BROWSER_CHARS = 60


class LoginsAdminMixin(SuperusersOnlyAdminMixin, ReadOnlyAdminMixin, LargeTableAdminMixin):
    """Superusers look; an exact user name or address finds rows by their indexes."""

    search_fields = ("username",)  # shows the search box; the search itself is get_search_results
    search_help_text = _("An exact user name or IP address.")
    ordering = ("-attempt_time", "-id")
    sortable_by = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            address = ipaddress.ip_address(term)
        except ValueError:
            # Never compared with the address column: PostgreSQL refuses what is not an address there.
            return queryset.filter(username=term), False
        return queryset.filter(Q(username=term) | Q(ip_address=str(address))), False

    @admin.display(description=_("user name"), ordering="username")
    def user_name(self, obj):
        return obj.username

    @admin.display(description=_("address"), ordering="ip_address")
    def address(self, obj):
        return obj.ip_address

    @admin.display(description=_("browser"))
    def browser(self, obj):
        if not obj.user_agent:
            return None
        return format_html('<span title="{}">{}</span>', obj.user_agent, Truncator(obj.user_agent).chars(BROWSER_CHARS))

    @admin.display(description=_("page"))
    def page(self, obj):
        return obj.path_info


# --- lockouts -------------------------------------------------------------------------------------------------


class LockedFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", _("Locked")), ("no", _("Not locked"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return selectors.lockouts_filter_locked(queryset=queryset, locked=self.value() == "yes")
        return queryset


class LockoutChangeList(LargeTableChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The state of every row of the page in one query, not one per row.
        states = selectors.lockout_states(pairs={(row.username, row.ip_address) for row in self.result_list})
        for row in self.result_list:
            row.lockout_state = states[(row.username, row.ip_address)]


@admin.register(LoginLockout)
class LoginLockoutAdmin(LoginsAdminMixin, admin.ModelAdmin):
    list_display = ("last_failure", "user_name", "address", "failures", "state", "browser")
    list_filter = (LockedFilter,)
    sortable_by = ("last_failure",)
    actions = ("unlock",)
    fields = ("user_name", "address", "state", "failures", "last_failure", "page", "browser")
    readonly_fields = fields

    def get_changelist(self, request, **kwargs):
        return LockoutChangeList

    def has_unlock_permission(self, request, obj=None):
        return is_superuser(request)

    @admin.display(description=_("last failure"), ordering="attempt_time")
    def last_failure(self, obj):
        return local_time(obj.attempt_time)

    @admin.display(description=_("failed logins (this browser)"))
    def failures(self, obj):
        return obj.failures_since_start

    @admin.display(description=_("state"))
    def state(self, obj):
        if not selectors.lockout_counted(attempt=obj):
            return gettext("Expired: these failures count no more")
        state = getattr(obj, "lockout_state", None) or selectors.lockout_state(
            username=obj.username, ip_address=obj.ip_address)
        if not state.locked:
            left = state.attempts_left
            return ngettext("Not locked: %(count)d attempt left", "Not locked: %(count)d attempts left", left) % {
                "count": left}
        if state.until is None:
            return gettext("Locked until unlocked")
        return gettext("Locked until %(time)s") % {"time": local_time(state.until)}

    @admin.action(description=_("Unlock the selected user names at their addresses"), permissions=("unlock",))
    def unlock(self, request, queryset):
        unlocked = services.login_lockout_unlock(lockouts=queryset, by=request.user)
        if not unlocked:
            self.message_user(request, gettext("Nothing to unlock: the selected rows are gone."), messages.WARNING)
            return
        self.message_user(request, ngettext(
            "Unlocked %(count)d user name at its address: %(names)s. The user can log in again now.",
            "Unlocked %(count)d user names at their addresses: %(names)s. The users can log in again now.",
            len(unlocked)) % {"count": len(unlocked), "names": listed(unlocked)}, messages.SUCCESS)


# --- records --------------------------------------------------------------------------------------------------


class LoggedOutFilter(admin.SimpleListFilter):
    title = _("logged out")
    parameter_name = "logged_out"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No (still open, or ended without logging out)"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(logout_time__isnull=self.value() == "no")
        return queryset


@admin.register(LoginRecord)
class LoginRecordAdmin(LoginsAdminMixin, admin.ModelAdmin):
    list_display = ("login_at", "logout_at", "user_name", "address", "browser")
    list_filter = (LoggedOutFilter,)
    date_hierarchy = "attempt_time"
    sortable_by = ("login_at",)
    fields = ("user_name", "address", "login_at", "logout_at", "page", "browser")
    readonly_fields = fields

    @admin.display(description=_("login"), ordering="attempt_time")
    def login_at(self, obj):
        return local_time(obj.attempt_time)

    @admin.display(description=_("logout"))
    def logout_at(self, obj):
        return local_time(obj.logout_time)


class LockedOutFilter(admin.SimpleListFilter):
    title = _("locked out")
    parameter_name = "locked_out"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(locked_out=self.value() == "yes")
        return queryset


@admin.register(LoginFailure)
class LoginFailureAdmin(LoginsAdminMixin, admin.ModelAdmin):
    list_display = ("failed_at", "user_name", "address", "locked", "browser")
    list_filter = (LockedOutFilter,)
    date_hierarchy = "attempt_time"
    sortable_by = ("failed_at",)
    fields = ("user_name", "address", "failed_at", "locked", "page", "browser")
    readonly_fields = fields

    @admin.display(description=_("failed at"), ordering="attempt_time")
    def failed_at(self, obj):
        return local_time(obj.attempt_time)

    @admin.display(description=_("locked out"), boolean=True)
    def locked(self, obj):
        return obj.locked_out
