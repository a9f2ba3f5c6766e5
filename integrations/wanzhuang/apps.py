"""Wanzhuang, enabled by `"integrations.wanzhuang.apps.WanzhuangConfig"` in INSTALLED_APPS: all the folder
provides, named once."""

from django.core.checks import Tags
from django.urls import path
from django.utils.translation import gettext_lazy as _

from integrations.counterparty import CounterpartyConfig, PeriodicTask, StartupCheck


class WanzhuangConfig(CounterpartyConfig):
    name = "integrations.wanzhuang"
    label = "wanzhuang"
    verbose_name = _("Wanzhuang")
    counterparty = "wanzhuang"

    def adapter(self):
        from .adapter import WanzhuangAdapter

        return WanzhuangAdapter

    def inbox(self):
        from .inbox import WanzhuangInbox

        return WanzhuangInbox()

    def statement_source(self):
        from .statement import WanzhuangStatementSource

        return WanzhuangStatementSource()

    def urlpatterns(self):
        from .views import wanzhuang_callback

        return [path("callback/<str:name>", wanzhuang_callback, name="wanzhuang_callback")]

    def schedules(self):
        return (
            PeriodicTask("wanzhuang_sessions_poll", "integrations.wanzhuang.tasks.sessions_poll", minutes=2),
            PeriodicTask("wanzhuang_finish_callbacks_reconcile",
                         "integrations.wanzhuang.tasks.finish_callbacks_reconcile", minutes=10),
            PeriodicTask("wanzhuang_devices_sync", "integrations.wanzhuang.tasks.devices_sync", minutes=60),
        )

    def startup_checks(self):
        from .checks import wanzhuang_callbacks_open_check, wanzhuang_settings_check

        return (
            StartupCheck(wanzhuang_settings_check),
            StartupCheck(wanzhuang_callbacks_open_check, deploy=True, tags=(Tags.security,)),
        )
