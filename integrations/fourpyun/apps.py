"""4pyun (P云), the parking platform, enabled by `"integrations.fourpyun.apps.FourpyunConfig"` in INSTALLED_APPS:
all the folder provides, named once.

We send 4pyun each charging record of an order at a mapped station (a station whose 4pyun station UUID is set) and
each mapped charger's device state, through the outbox; 4pyun pushes what it knows of our orders to
/integrations/4pyun/push/<name>, through the inbox.
"""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from integrations.counterparty import CounterpartyConfig, PeriodicTask, StartupCheck


class FourpyunConfig(CounterpartyConfig):
    name = "integrations.fourpyun"
    label = "fourpyun"
    verbose_name = _("4pyun")
    counterparty = "fourpyun"
    url_prefix = "4pyun"
    # 4pyun keeps an order's newest record: it must never take an older one after a newer one.
    in_order_kinds = frozenset({"fourpyun_record"})

    def inbox(self):
        from .inbox import FourpyunInbox

        return FourpyunInbox()

    def urlpatterns(self):
        from .views import fourpyun_push

        return [path("push/<str:name>", fourpyun_push, name="fourpyun_push")]

    def delivery_handlers(self):
        from .devices import DEVICE_KIND, device_send
        from .records import RECORD_KIND, record_send

        return {RECORD_KIND: record_send, DEVICE_KIND: device_send}

    def statement_source(self):
        from .statement import FourpyunStatementSource

        return FourpyunStatementSource()

    def schedules(self):
        return (
            PeriodicTask("fourpyun_devices_sync", "integrations.fourpyun.tasks.devices_sync", minutes=1),
        )

    def startup_checks(self):
        from .checks import fourpyun_settings_check

        return (StartupCheck(fourpyun_settings_check),)

    def ready(self):
        super().ready()
        from .records import records_connect

        records_connect()
