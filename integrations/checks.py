"""Start-up checks every counterparty shares: the senders' allow-lists and the trusted proxies.

A counterparty's own settings are checked by the checks its folder names (`CounterpartyConfig.startup_checks`).
"""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from integrations.inbox.protocol import protocols_registered
from integrations.inbox.senders import networks_parse


@register()
def push_sender_settings_check(app_configs, **kwargs):
    """Every allow-list and the trusted proxies must be addresses or CIDR ranges."""
    errors = []
    names = ["TRUSTED_PROXIES", *sorted({p.allowed_ips_setting for p in protocols_registered().values()})]
    for setting in names:
        if not hasattr(settings, setting):
            errors.append(Error(f"{setting} is not set; an empty list allows any sender.", id="integrations.E002"))
            continue
        try:
            networks_parse(getattr(settings, setting), setting=setting)
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="integrations.E001"))
    return errors
