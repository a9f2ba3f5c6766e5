"""Start-up checks of Wanzhuang's settings: each wrong value is named before the first call fails."""

from integrations.wanzhuang.checks import wanzhuang_callbacks_open_check, wanzhuang_settings_check


def ids(errors):
    return [error.id for error in errors]


def test_the_defaults_are_fine(settings):
    assert wanzhuang_settings_check(None) == []


def test_an_unknown_sign_method_is_named(settings):
    settings.WANZHUANG_SIGN_METHOD = "md5"

    assert ids(wanzhuang_settings_check(None)) == ["wanzhuang.E001"]


def test_paths_must_be_known_operations_with_absolute_paths(settings):
    settings.WANZHUANG_PATHS = {"reboot": "/open/device/reboot"}
    assert wanzhuang_settings_check(None) == []

    settings.WANZHUANG_PATHS = {"rebot": "/open/device/reboot", "charge_start": "open/charge/start"}
    assert ids(wanzhuang_settings_check(None)) == ["wanzhuang.E003", "wanzhuang.E004"]

    settings.WANZHUANG_PATHS = ["/open/device/reboot"]
    assert ids(wanzhuang_settings_check(None)) == ["wanzhuang.E002"]


def test_the_energy_unit_the_start_states_and_a_required_signature_need_sensible_values(settings):
    settings.WANZHUANG_ENERGY_UNIT_WH = 0
    settings.WANZHUANG_START_OK_STATES = []
    settings.WANZHUANG_APP_ID = "3a7030ea45a08d"
    settings.WANZHUANG_APP_SECRET = ""
    settings.WANZHUANG_BASE_URL = "https://dev-api-open.wanzhuangkj.com"

    assert ids(wanzhuang_settings_check(None)) == ["wanzhuang.E005", "wanzhuang.E006", "wanzhuang.E007"]


def test_a_configured_wanzhuang_needs_its_app_id_and_key(settings):
    settings.WANZHUANG_BASE_URL = "https://dev-api-open.wanzhuangkj.com"
    settings.WANZHUANG_APP_ID = ""
    settings.WANZHUANG_APP_SECRET = ""

    (error,) = wanzhuang_settings_check(None)

    assert error.id == "wanzhuang.E007"
    assert "WANZHUANG_APP_ID and WANZHUANG_APP_SECRET" in error.msg


def test_a_configured_wanzhuang_whose_callbacks_anyone_may_send_is_a_deploy_error(settings):
    settings.WANZHUANG_BASE_URL = ""
    assert wanzhuang_callbacks_open_check(None) == []

    settings.WANZHUANG_BASE_URL = "https://dev-api-open.wanzhuangkj.com"
    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = False
    settings.WANZHUANG_CALLBACK_ALLOWED_IPS = []
    assert ids(wanzhuang_callbacks_open_check(None)) == ["wanzhuang.E008"]

    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = True
    assert wanzhuang_callbacks_open_check(None) == []
    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = False

    settings.WANZHUANG_CALLBACK_ALLOWED_IPS = ["203.0.113.7"]
    assert wanzhuang_callbacks_open_check(None) == []
