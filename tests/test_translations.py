"""The admin reads naturally in Chinese: every string of ours has a zh-hans translation that loads."""

from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.utils import translation
from simple_history.models import HistoricalChanges

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"
MO = PO.with_suffix(".mo")
OUR_APPS = ["tariffs", "stations", "chargers", "orders", "integrations"]


def test_catalogue_has_no_untranslated_or_fuzzy_entry():
    po = polib.pofile(str(PO))

    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_compiled_catalogue_matches_the_source():
    # The .mo is committed so a fresh machine needs no gettext; it must be rebuilt whenever the .po changes.
    def entries(catalogue):
        return {
            e.msgid: (e.msgstr, dict(e.msgstr_plural))
            for e in catalogue
            if e.msgid and (e.msgstr or any(e.msgstr_plural.values()))
        }

    po, mo = entries(polib.pofile(str(PO))), entries(polib.mofile(str(MO)))
    assert len(po) > 200

    assert mo == po


def _labels():
    """(description, lazy string) for every app, model, field and choice label of ours."""
    for label in OUR_APPS:
        config = apps.get_app_config(label)
        yield f"app {label}", config.verbose_name
        for model in config.get_models():
            if issubclass(model, HistoricalChanges):
                # simple-history's copies of our models: their fields are ours (translated above), their own
                # columns are read only through its translated history page.
                continue
            name = model._meta.label
            yield f"{name} verbose_name", model._meta.verbose_name
            yield f"{name} verbose_name_plural", model._meta.verbose_name_plural
            for field in model._meta.get_fields():
                if not hasattr(field, "verbose_name") or field.auto_created:
                    continue
                yield f"{name}.{field.name}", field.verbose_name
                if getattr(field, "help_text", ""):
                    yield f"{name}.{field.name} help", field.help_text
                for value, choice_label in field.flatchoices or ():
                    yield f"{name}.{field.name}={value}", choice_label


@pytest.mark.parametrize(("where", "text"), list(_labels()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_label_is_translated(where, text):
    with translation.override("en"):
        english = str(text)
    with translation.override("zh-hans"):
        chinese = str(text)

    assert chinese != english, f"{where}: {english!r} has no zh-hans translation"
