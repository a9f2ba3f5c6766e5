"""Tomda, enabled by `"integrations.tomda.apps.TomdaConfig"` in INSTALLED_APPS: all the folder provides, named once."""

from django.core.checks import Tags
from django.urls import path
from django.utils.translation import gettext_lazy as _

from integrations.counterparty import CounterpartyConfig, PeriodicTask, StartupCheck


class TomdaConfig(CounterpartyConfig):
    name = "integrations.tomda"
    label = "tomda"
    verbose_name = _("Tomda")
    counterparty = "tomda"

    def adapter(self):
        from .adapter import TomdaAdapter

        return TomdaAdapter

    def inbox(self):
        from .inbox import TomdaInbox

        return TomdaInbox()

    def statement_source(self):
        from .statement import TomdaStatementSource

        return TomdaStatementSource()

    def urlpatterns(self):
        from .views import tomda_push

        return [path("push", tomda_push, name="tomda_push")]

    def schedules(self):
        return (
            PeriodicTask("tomda_sessions_poll", "integrations.tomda.tasks.sessions_poll", minutes=1),
            PeriodicTask("tomda_sessions_stuck_check", "integrations.tomda.tasks.sessions_stuck_check", minutes=10),
            PeriodicTask("tomda_token_refresh", "integrations.tomda.tasks.token_refresh", minutes=30),
        )

    def startup_checks(self):
        from .checks import tomda_push_open_check, tomda_settings_check

        return (
            StartupCheck(tomda_settings_check),
            StartupCheck(tomda_push_open_check, deploy=True, tags=(Tags.security,)),
        )
