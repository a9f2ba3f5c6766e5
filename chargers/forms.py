"""Admin forms for chargers: importing the chargers a vendor cloud already knows."""

from django import forms
from django.utils.translation import gettext_lazy as _

from chargers.models import Vendor
from chargers.vendor import registry
from stations.models import Station


def vendor_choices():
    """The vendors an adapter is registered for, by their display name where we have one."""
    labels = dict(Vendor.choices)
    return [(code, labels.get(code, code)) for code in registry.codes()]


class VendorChoiceForm(forms.Form):
    """Which vendor's chargers to list; read from the query string, so the listing is a plain GET."""

    vendor = forms.ChoiceField(label=_("vendor"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].choices = vendor_choices()


class ChargerImportForm(forms.Form):
    """The vendor's chargers to add, and the station they stand in.

    Only serials the vendor listed and the back office lacks are valid choices, so a stale or
    crafted post cannot import a charger twice or one the vendor does not know.
    """

    station = forms.ModelChoiceField(label=_("station"), queryset=Station.objects.order_by("code"))
    serials = forms.MultipleChoiceField(
        label=_("chargers"), error_messages={"required": _("Tick at least one charger to import.")}
    )

    def __init__(self, *args, serials=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["serials"].choices = [(serial, serial) for serial in serials]
