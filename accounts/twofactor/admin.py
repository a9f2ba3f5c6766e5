"""The authenticators in the admin, for superusers only: who has one, since when, last used; removing one when its
phone is lost (the user then adds a new one). Nobody adds or edits one here, and no secret is ever shown: a
device is made by its user on the enrolment page.

This replaces django-otp's own TOTP device admin, which shows the secret and its QR code and lets anyone with
the model's permissions add one for another user.
"""

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.adminkit import ReadOnlyAdminMixin, SuperusersOnlyAdminMixin, is_superuser

from . import services

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.action(description=_("Remove the selected authenticators (lost phone)"))
def remove_selected(modeladmin, request, queryset):
    # Django's confirmation page first; its deletion goes through delete_queryset, the service.
    return delete_selected(modeladmin, request, queryset)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(SuperusersOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "confirmed", "created_at", "last_used_at", "throttling_failure_count"]
    list_filter = ["confirmed"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count",
              "throttling_failure_timestamp"]
    readonly_fields = fields
    actions = [remove_selected]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # ours says what removing one means
        return actions

    def has_delete_permission(self, request, obj=None):  # removing one is what this page is for
        return is_superuser(request)

    def delete_model(self, request, obj):
        services.totp_device_remove(device=obj)

    def delete_queryset(self, request, queryset):
        for device in queryset:
            services.totp_device_remove(device=device)
        self.message_user(request, gettext(
            "The user signs in with the password alone now, or, where a second factor is required, is asked to add "
            "a new authenticator."), messages.INFO)
