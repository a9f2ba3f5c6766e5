import re

from django import forms
from django.utils.translation import gettext_lazy as _

CODE = re.compile(r"\d{6}")


class CodeForm(forms.Form):
    """The six digits an authenticator app shows (spaces, as some apps group them, are dropped)."""

    code = forms.CharField(
        label=_("Code from the authenticator app"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                                      "size": 8}),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not CODE.fullmatch(code):
            raise forms.ValidationError(_("Enter the six digits the authenticator app shows."), code="format")
        return code
