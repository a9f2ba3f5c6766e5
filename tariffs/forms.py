"""Admin forms for tariffs: operators type times as HH:MM and money as yuan; the database keeps integers."""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from tariffs.models import TariffDetail, TariffTemplate, TariffVersion
from tariffs.selectors import tariff_from_template
from tariffs.units import format_minute_of_day, format_scaled
from tariffs.validation import PERIODS, tariff_problems

_TIME = re.compile(r"^\s*(\d{1,2})[:：](\d{2})\s*$")
# The largest count of units a field reads, a 64-bit integer's (the model's own range is checked after): more
# is a typing mistake, and a number of thousands of digits would not even print (Python writes an int of at
# most 4,300 digits).
SCALED_MAX = 2**63 - 1
# The years a price preview takes: a time outside them is a typing mistake, and one in year 1 or 9999 has no
# whole Beijing day around it to price (the same years the integrations take from counterparties).
PREVIEW_YEARS = range(2000, 2100)


class MinuteOfDayField(forms.CharField):
    """A time of day as HH:MM (24:00 for the end of the day), kept as minutes after midnight."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 5, "placeholder": "HH:MM"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_minute_of_day(value) if isinstance(value, int) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        match = _TIME.match(value)
        if not match:
            raise ValidationError(_("Enter a time as HH:MM, e.g. 08:30 or 24:00."), code="invalid")
        hours, minutes = int(match[1]), int(match[2])
        if minutes > 59 or hours * 60 + minutes > 1440:
            raise ValidationError(_("Enter a time from 00:00 to 24:00."), code="invalid")
        return hours * 60 + minutes


class ScaledIntegerField(forms.CharField):
    """A decimal amount typed by people, kept as an integer count of 10^-places units (exact, no float)."""

    def __init__(self, *, places, **kwargs):
        self.places = places
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 8, "inputmode": "decimal"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_scaled(value, self.places) if isinstance(value, int) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            amount = Decimal(value.replace("，", "").replace(",", ""))
        except InvalidOperation:
            raise ValidationError(_("Enter a number, e.g. 0.6500."), code="invalid") from None
        if not amount.is_finite():
            raise ValidationError(_("Enter a number, e.g. 0.6500."), code="invalid")
        if amount < 0:
            raise ValidationError(_("Enter zero or more."), code="negative")
        if amount > Decimal(SCALED_MAX).scaleb(-self.places):
            raise ValidationError(_("Enter a smaller number."), code="too_large")
        scaled = amount.scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValidationError(
                _("Use at most %(places)s decimal places.") % {"places": self.places}, code="precision"
            )
        return int(scaled)


def price_field(label, help_text=""):
    return ScaledIntegerField(places=4, label=label, help_text=help_text)


def yuan_field(label, help_text="", required=True):
    return ScaledIntegerField(places=2, label=label, help_text=help_text, required=required)


class TariffTemplateForm(forms.ModelForm):
    min_balance_fen = yuan_field(_("minimum balance (yuan)"), _("Balance a driver needs to start charging."))
    start_fee_fen = yuan_field(_("start fee (yuan)"), _("E-bike: the least a billed session costs."))
    max_pay_fen = yuan_field(_("maximum payment (yuan)"), _("E-bike: the most a session costs; 0 for no cap."))

    class Meta:
        model = TariffTemplate
        fields = (
            "external_id",
            "name",
            "kind",
            "free_charge_seconds",
            "min_balance_fen",
            "start_fee_fen",
            "max_pay_fen",
            "refundable",
            "free_charging",
        )


class TariffDetailForm(forms.ModelForm):
    start_minute = MinuteOfDayField(label=_("from"), required=False)
    end_minute = MinuteOfDayField(label=_("to"), required=False)
    electricity_price_e4 = price_field(_("electricity price (yuan)"))
    service_price_e4 = price_field(_("service price (yuan)"))

    class Meta:
        model = TariffDetail
        fields = (
            "start_minute",
            "end_minute",
            "interval",
            "power_upper_w",
            "unit_seconds",
            "electricity_price_e4",
            "service_price_e4",
        )

    def _get_validation_exclusions(self):
        # The row's shape and times are checked by clean() and by the template rules in the formset, with
        # messages an operator can act on; the model's check constraints would only repeat them in database
        # words ("Constraint … is violated") and hide the rules' message, which never runs on a row in error.
        return super()._get_validation_exclusions() | {
            "start_minute",
            "end_minute",
            "interval",
            "power_upper_w",
            "unit_seconds",
        }

    def clean(self):
        data = super().clean()
        is_period = data.get("start_minute") is not None or data.get("end_minute") is not None
        is_tier = data.get("power_upper_w") is not None
        if is_period and is_tier:
            raise ValidationError(_("A row is a period (from, to, interval) or a power tier (upper bound), not both."))
        if not is_period and not is_tier and not self.errors:
            raise ValidationError(_("Fill in from, to and interval for a period, or the upper bound for a power tier."))
        if is_period:
            for field in ("start_minute", "end_minute", "interval"):
                if not data.get(field) and data.get(field) != 0 and field not in self.errors:
                    self.add_error(field, _("A period needs this."))
            data["unit_seconds"] = None
        if is_tier:
            if data.get("unit_seconds") is None:
                data["unit_seconds"] = 3600
            data["interval"] = ""
        return data


class TariffDetailFormSet(BaseInlineFormSet):
    """Checks the rows together with the template's settings, putting each problem on its row."""

    def clean(self):
        super().clean()
        row_forms = [
            form
            for form in self.forms
            if form.has_changed() or form.instance.pk
            if not (self.can_delete and self._should_delete_form(form))
        ]
        if any(form.errors for form in row_forms):
            return  # the rows' own errors come first
        # A valid form's instance already holds its cleaned row (ModelForm._post_clean).
        tariff = tariff_from_template(template=self.instance, rows=[form.instance for form in row_forms])
        period_forms = [form for form in row_forms if form.instance.is_period]
        tier_forms = [form for form in row_forms if not form.instance.is_period]
        general = []
        for problem in tariff_problems(tariff):
            if problem.row is None:
                general.append(problem.message)
                continue
            row_forms = period_forms if problem.rows == PERIODS else tier_forms
            if problem.row < len(row_forms):
                row_forms[problem.row].add_error(None, problem.message)
            else:
                general.append(problem.message)
        if general:
            raise ValidationError(general)


class PublishForm(forms.Form):
    effective_from = forms.DateTimeField(
        label=_("takes effect"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Beijing time. Leave empty to take effect now."),
    )
    note = forms.CharField(label=_("note"), max_length=255, required=False, help_text=_("What changed and why."))


def _in_preview_years(moment):
    if moment.year not in PREVIEW_YEARS:
        raise ValidationError(
            _("Enter a time in the years %(first)s to %(last)s."),
            code="year",
            params={"first": PREVIEW_YEARS.start, "last": PREVIEW_YEARS.stop - 1},
        )


class PreviewForm(forms.Form):
    """A session to price: its start and end, and its energy or its curve of readings.

    It is refused when it lasts longer than the pricing engine prices (`PRICING_MAX_SESSION_HOURS`): the
    engine refuses it too, and a preview of years of periods would take minutes.
    """

    DRAFT = "draft"

    version = forms.ChoiceField(label=_("tariff"))
    started_at = forms.DateTimeField(
        label=_("start"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[_in_preview_years],
    )
    ended_at = forms.DateTimeField(
        label=_("end"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[_in_preview_years],
    )
    energy_wh = ScaledIntegerField(
        places=3, label=_("energy (kWh)"), required=False, help_text=_("Charged evenly from start to end.")
    )
    curve = forms.CharField(
        label=_("or a curve"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 40, "placeholder": "2026-11-21 22:10, 1.25"}),
        help_text=_("One reading per line: time (Beijing), cumulative kWh. The start counts as 0 kWh."),
    )
    peak_power_w = forms.IntegerField(label=_("peak power (W)"), required=False, min_value=0)

    def __init__(self, *args, template: TariffTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        choices = [(self.DRAFT, _("working copy (unpublished)"))]
        versions = TariffVersion.objects.filter(template=template).order_by("-number")
        choices += [(str(version.number), str(version)) for version in versions]
        self.fields["version"].choices = choices
        if template.versions.exists():
            self.fields["version"].initial = choices[1][0]
        if template.kind == "ev" or template.details.filter(end_minute__isnull=False).exists():
            del self.fields["peak_power_w"]

    def clean(self):
        data = super().clean()
        start, end = data.get("started_at"), data.get("ended_at")
        longest = dt.timedelta(hours=settings.PRICING_MAX_SESSION_HOURS)
        if start and end and end < start:
            self.add_error("ended_at", _("The end must not be before the start."))
        elif start and end and end - start > longest:
            self.add_error(
                "ended_at",
                _("A session lasts at most %(hours)s hours; the preview prices no longer one.")
                % {"hours": settings.PRICING_MAX_SESSION_HOURS},
            )
        if "peak_power_w" in self.fields:
            if data.get("peak_power_w") is None:
                self.add_error("peak_power_w", _("A power-tier tariff needs the session's peak power."))
            return data
        readings = []
        for number, line in enumerate((data.get("curve") or "").splitlines(), start=1):
            if not line.strip():
                continue
            moment, _sep, kwh = line.rpartition(",")
            try:
                at = forms.DateTimeField().clean(moment.strip())
                wh = ScaledIntegerField(places=3).clean(kwh.strip())
            except ValidationError:
                self.add_error(
                    "curve",
                    _("Line %(line)s: write a time and a kWh reading, e.g. 2026-11-21 22:10, 1.25.") % {"line": number},
                )
                return data
            if at.year not in PREVIEW_YEARS:
                self.add_error(
                    "curve",
                    _("Line %(line)s: enter a time in the years %(first)s to %(last)s.")
                    % {"line": number, "first": PREVIEW_YEARS.start, "last": PREVIEW_YEARS.stop - 1},
                )
                return data
            if start and abs(at - start) > longest:
                self.add_error(
                    "curve",
                    _("Line %(line)s: the reading is more than %(hours)s hours from the start; a session lasts "
                      "at most that long.") % {"line": number, "hours": settings.PRICING_MAX_SESSION_HOURS},
                )
                return data
            readings.append((at, wh))
        if readings:
            data["readings"] = readings
        elif data.get("energy_wh") is None and "energy_wh" not in self.errors:
            self.add_error("energy_wh", _("Enter the energy, or a curve."))
        return data


class StationTariffAssignForm(forms.Form):
    template = forms.ModelChoiceField(label=_("tariff template"), queryset=TariffTemplate.objects.all())
