"""What the history tests share: Tomda's pushes as its own tests send them, the admin's forms as a browser posts
them, and reading an object's records."""

import datetime as dt

import pytest
from django import forms
from django.utils import timezone

from tests.integrations.tomda.conftest import ebike_charger, push  # noqa: F401  (fixtures: a Tomda charger, a push)


def form_data(response, **changes):
    """The forms of an admin change page as the browser posts them, untouched but for `changes` (by posted name):
    the object's fields and every inline row, with the inlines' management forms."""
    page_forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        page_forms.extend(inline.formset.forms)
    for form in page_forms:
        for name, field in form.fields.items():
            if not field.disabled:
                data.update(_posted(form.add_prefix(name), field, form[name].value()))
    return {**data, **changes}


def _posted(name, field, value):
    widget = field.widget
    if isinstance(field, forms.BooleanField):
        return {name: "on"} if value else {}
    if isinstance(widget, forms.MultiWidget):
        parts = value if isinstance(value, list) else widget.decompress(value)
        return {f"{name}_{i}": sub.format_value(part) or "" for i, (sub, part) in enumerate(zip(widget.widgets, parts,
                                                                                               strict=True))}
    if isinstance(value, list | tuple) or isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        return {name: [str(item) for item in value or ()]}
    if value is None:
        return {name: ""}
    if isinstance(value, dt.date | dt.time):
        return {name: widget.format_value(value)}
    return {name: str(value)}


def records(obj):
    """The object's history records, oldest first."""
    return list(obj.history.order_by("history_date", "history_id"))


@pytest.fixture
def moment():
    """The span a test's request ran in, for the time of the record it wrote."""

    class Span:
        def __enter__(self):
            self.start = timezone.now()
            return self

        def __exit__(self, *exc):
            self.end = timezone.now()

        def __contains__(self, instant):
            return self.start <= instant <= self.end

    return Span()
