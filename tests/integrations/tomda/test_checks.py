"""The push settings are checked at start-up: Tomda's with the spec's formats, the senders' lists, and a deploy
warning for pushes anyone may send."""

from integrations.tomda.checks import tomda_settings_check


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


def test_a_configured_tomda_whose_pushes_anyone_may_send_is_a_deploy_warning(settings):
    from integrations.tomda.checks import tomda_push_open_check

    settings.TOMDA_BASE_URL = "https://sp.tom-da.com/Manage"
    settings.TOMDA_PUSH_VERIFIER, settings.TOMDA_PUSH_ALLOWED_IPS = "none", []
    assert [warning.id for warning in tomda_push_open_check(None)] == ["tomda.W001"]

    settings.TOMDA_PUSH_ALLOWED_IPS = ["203.0.113.0/24"]
    assert tomda_push_open_check(None) == []

    settings.TOMDA_PUSH_ALLOWED_IPS, settings.TOMDA_PUSH_VERIFIER = [], "token"
    assert tomda_push_open_check(None) == []

    settings.TOMDA_BASE_URL = ""  # Tomda off
    settings.TOMDA_PUSH_VERIFIER = "none"
    assert tomda_push_open_check(None) == []


def test_allow_lists_and_trusted_proxies_must_be_addresses_or_ranges(settings):
    from integrations.checks import push_sender_settings_check

    settings.TOMDA_PUSH_ALLOWED_IPS = ["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"]
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert push_sender_settings_check(None) == []

    settings.TOMDA_PUSH_ALLOWED_IPS = ["tomda.example.com"]
    settings.TRUSTED_PROXIES = ["10.0.0.0/33"]
    errors = push_sender_settings_check(None)
    assert [error.id for error in errors] == ["integrations.E001", "integrations.E001"]
    assert "TRUSTED_PROXIES" in errors[0].msg and "tomda.example.com" in errors[1].msg
