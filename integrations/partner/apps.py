"""The 2017 pile-operator interface we serve to partner platforms, enabled by
`"integrations.partner.apps.PartnerConfig"` in INSTALLED_APPS: all the folder provides, named once.

Its API lives at /api/partner/v1/ (config/urls.py includes `integrations.partner.urls`), not under
/integrations/: partners call an API of ours, they do not push to an inbox. What every partner interface shares
(access, tokens, callbacks, the statement's reading of them) is `integrations.partnerkit`'s.
"""

from django.utils.translation import gettext_lazy as _

from integrations.counterparty import CounterpartyConfig, PeriodicTask, StartupCheck


class PartnerConfig(CounterpartyConfig):
    name = "integrations.partner"
    label = "partner"
    verbose_name = _("Partner platforms")
    counterparty = "partner"
    # A partner's answer to a callback echoes nothing secret; the token and secret never leave in a callback.
    redacted_fields = frozenset({"token", "secret"})
    # A partner never reads an order's older figures after its newer ones.
    in_order_kinds = frozenset({"partner_callback"})

    def statement_source(self):
        from .statement import PartnerStatement2017

        return PartnerStatement2017()

    def delivery_handlers(self):
        from .callbacks import KIND, callback_send

        return {KIND: callback_send}

    def schedules(self):
        return (
            PeriodicTask("partner_access_prune", "integrations.partner.tasks.access_prune", minutes=60),
            PeriodicTask("partner_final_callbacks_redrive", "integrations.partner.tasks.final_callbacks_redrive",
                         minutes=24 * 60),
        )

    def startup_checks(self):
        from .checks import partner_settings_check

        return (StartupCheck(partner_settings_check),)

    def ready(self):
        super().ready()
        from integrations.models import Counterparty, PartnerProtocol
        from integrations.partnerkit.callbacks import CallbackFormat, callback_format_register, callbacks_connect

        from .callbacks import KIND, callback_body, callback_figures

        callback_format_register(PartnerProtocol.PILE_2017, CallbackFormat(
            vendor=Counterparty.PARTNER, kind=KIND, body=callback_body, figures=callback_figures))
        callbacks_connect()
