"""Admin forms for sessions an operator starts or reserves on a connector.

Operators type money in yuan and energy in kWh; the services take fen and Wh. The conversion is
exact (Decimal, no float) and happens here, at the edge, once.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from chargers.vendor import ChargeStrategy
from tariffs.forms import ScaledIntegerField

# What the operator types for each strategy, and in how many decimal places of it the service's
# unit is counted: minutes are whole, fen are 0.01 yuan, Wh are 0.001 kWh.
PARAMETER_PLACES = {
    ChargeStrategy.TIME: 0,
    ChargeStrategy.AMOUNT: 2,
    ChargeStrategy.ENERGY: 3,
}


# The operator's units, not the stored ones (ChargeStrategy's labels name fen and Wh).
STRATEGY_CHOICES = [
    (ChargeStrategy.FULL, _("Until full")),
    (ChargeStrategy.TIME, _("By time (minutes)")),
    (ChargeStrategy.AMOUNT, _("By amount (yuan)")),
    (ChargeStrategy.ENERGY, _("By energy (kWh)")),
]


class SessionStartForm(forms.Form):
    """A session's start as the operator types it. `strategies` are the ones the charger takes (its vendor
    says which for its kind of charger); only those are offered."""

    strategy = forms.ChoiceField(label=_("strategy"), choices=STRATEGY_CHOICES, initial=ChargeStrategy.FULL)
    parameter = forms.CharField(
        label=_("stop after"),
        required=False,
        widget=forms.TextInput(attrs={"size": 8, "inputmode": "decimal"}),
        help_text=_("Minutes by time, yuan by amount, kWh by energy; leave empty until full."),
    )
    authorized_amount = ScaledIntegerField(
        places=2,
        label=_("authorised amount (yuan)"),
        required=False,
        help_text=_("The most the driver may spend; the charger stops when it is used up. Empty: no limit."),
    )
    driver_id = forms.CharField(label=_("driver id"), max_length=64, required=False)

    def __init__(self, *args, strategies=tuple(ChargeStrategy.values), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["strategy"]
        field.choices = [(value, label) for value, label in STRATEGY_CHOICES if value in strategies]
        if ChargeStrategy.FULL not in strategies and field.choices:
            field.initial = field.choices[0][0]

    def clean_authorized_amount(self):
        amount = self.cleaned_data.get("authorized_amount")
        if amount is not None and amount <= 0:
            raise ValidationError(_("Enter more than zero, or leave it empty for no limit."))
        return amount

    def clean(self):
        data = super().clean()
        strategy = data.get("strategy")
        raw = (data.get("parameter") or "").strip()
        data["strategy_param"] = 0
        if strategy in PARAMETER_PLACES:
            if not raw:
                self.add_error("parameter", _("This strategy needs a value."))
                return data
            try:
                value = ScaledIntegerField(places=PARAMETER_PLACES[strategy]).clean(raw)
            except ValidationError as error:
                self.add_error("parameter", error)
                return data
            if value <= 0:
                self.add_error("parameter", _("Enter more than zero."))
                return data
            data["strategy_param"] = value
        data["authorized_amount_fen"] = data.get("authorized_amount")
        return data


class SessionReserveForm(forms.Form):
    driver_id = forms.CharField(label=_("driver id"), max_length=64, required=False)
