"""The shared start-up check of every counterparty's senders' allow-list."""

from integrations.checks import push_sender_settings_check


def test_an_allow_list_setting_a_counterparty_names_but_nobody_set_is_reported_not_a_crash(partner_processor):
    # Given a registered protocol whose allow-list setting does not exist (PARTNER_PUSH_ALLOWED_IPS)
    # When the start-up checks run
    errors = push_sender_settings_check(None)

    # Then the missing setting is an error naming it
    assert [(error.id, "PARTNER_PUSH_ALLOWED_IPS" in error.msg) for error in errors] == [("integrations.E002", True)]
