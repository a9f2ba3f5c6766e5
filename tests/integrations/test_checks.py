"""The Tomda push settings are checked at start-up, with the spec's formats."""

from integrations.checks import tomda_settings_check


def ids(settings):
    return [error.id for error in tomda_settings_check(None)]


def test_unset_push_settings_are_fine(settings):
    settings.TOMDA_PUSH_TOKEN, settings.TOMDA_PUSH_KEY, settings.TOMDA_PUSH_VERIFIER = "", "", "none"

    assert ids(settings) == []


def test_token_and_key_must_have_the_specs_shape(settings):
    settings.TOMDA_PUSH_TOKEN = "abc"  # 5 to 20 letters or digits
    settings.TOMDA_PUSH_KEY = "short-key"  # 32 letters or digits

    assert ids(settings) == ["tomda.E001", "tomda.E002"]


def test_the_token_verifier_needs_a_token_and_a_custom_one_must_import(settings):
    settings.TOMDA_PUSH_TOKEN, settings.TOMDA_PUSH_KEY = "", "A" * 32
    settings.TOMDA_PUSH_VERIFIER = "token"
    assert ids(settings) == ["tomda.E003"]

    settings.TOMDA_PUSH_VERIFIER = "nowhere.Verifier"
    assert ids(settings) == ["tomda.E004"]
