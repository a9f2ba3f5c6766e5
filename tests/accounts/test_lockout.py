"""A user name is locked out at an address after five failed admin logins there, for 30 minutes after the latest,
the right password too, with a page saying so; a success before that clears the count; other addresses and other
user names are not affected."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.db.models import F
from django.test import Client

from tests.accounts.conftest import INDEX, OFFICE, fail, log_in, logged_in

pytestmark = pytest.mark.django_db

PASSWORD = "pw-staff-1234"
HOME = "203.0.113.20"


def test_the_settings_read_from_the_environment_default_to_five_failures_and_thirty_minutes():
    # base.py as loaded by the suite, whose environment sets neither variable
    from config.settings import base

    assert base.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(minutes=30) == base.AXES_COOLOFF_TIME
    assert base.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert django_settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert django_settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_four_failures_still_let_the_right_password_in(client, operator):
    # Given four failed logins
    assert fail(client, "operator", 4).status_code == 200

    # When the operator gives the right password
    response = log_in(client, "operator", PASSWORD)

    # Then the admin opens
    assert logged_in(response)
    assert client.get(INDEX).status_code == 200


def test_a_success_clears_the_count(client, operator):
    # Given four failures, then a success
    fail(client, "operator", 4)
    assert logged_in(log_in(client, "operator", PASSWORD))
    assert not AccessAttempt.objects.filter(username="operator").exists()

    # When four more fail (eight in all)
    fresh = Client()
    fail(fresh, "operator", 4)

    # Then the right password still works: only failures since the last success count
    assert logged_in(log_in(fresh, "operator", PASSWORD))


def test_the_fifth_failure_locks_and_then_the_right_password_is_refused(client, operator):
    # Given four failed logins, the fifth one is answered with the lockout page
    fail(client, "operator", 4)
    fifth = fail(client, "operator", 1, HTTP_ACCEPT_LANGUAGE="en")
    assert fifth.status_code == 429
    assert 'id="login-locked"' in fifth.content.decode()

    # When the operator then gives the right password
    response = log_in(client, "operator", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")

    # Then it is refused with the same page, and no session is opened
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get(INDEX).status_code == 302


def test_the_lockout_page_says_why_for_how_long_and_whom_to_ask_in_the_admins_look(client, operator):
    fail(client, "operator", 5)

    page = log_in(client, "operator", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert page.status_code == 429
    assert 'id="site-name"' in html and "Charging back office" in html  # the admin's header
    assert 'id="login-form"' not in html
    assert "Too many failed login attempts were made with this user name from this address." in html
    assert "It is locked for 30 minutes, until " in html
    assert "ask an administrator to unlock it" in html
    assert "User name: operator" in html


def test_the_lockout_page_speaks_the_sites_language_by_default(client, operator):
    # zh-hans, the site's default: the page and its parts are the same, in the admin's Chinese frame
    fail(client, "operator", 5)

    page = log_in(client, "operator", PASSWORD)

    html = page.content.decode()
    assert page.status_code == 429
    assert '<html lang="zh-hans"' in html
    assert 'id="login-locked"' in html and 'id="login-locked-for"' in html and 'id="login-locked-ask"' in html


def test_another_address_is_not_locked_for_the_same_user_name(client, operator):
    # Given the operator's name locked at the office's address
    fail(client, "operator", 5)
    assert log_in(client, "operator", PASSWORD).status_code == 429

    # When the operator logs in from home
    response = log_in(Client(), "operator", PASSWORD, address=HOME)

    # Then the admin opens there
    assert logged_in(response)


def test_another_user_name_at_the_same_address_is_not_locked(client, operator, finance):
    # Given the operator's name locked at the office's address (one browser there guessing)
    fail(client, "operator", 5)

    # When a colleague logs in from the same address
    response = log_in(Client(), "finance", PASSWORD)

    # Then the admin opens: the lock is per user name and address
    assert logged_in(response)


def test_failures_with_other_browsers_add_up(client, operator):
    # A guesser does not get five more tries by changing its User-Agent
    for agent in ("curl/8", "python-requests/2", "Mozilla/5.0", "Wget/1", "Go-http-client/2"):
        last = fail(client, "operator", 1, HTTP_USER_AGENT=agent)

    assert last.status_code == 429
    assert log_in(Client(), "operator", PASSWORD, HTTP_USER_AGENT="Safari").status_code == 429


def test_the_lock_ends_thirty_minutes_after_the_latest_attempt(client, operator):
    fail(client, "operator", 5)

    # Twenty-nine minutes later it still holds
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=29))
    assert log_in(Client(), "operator", PASSWORD).status_code == 429

    # That attempt started the thirty minutes again; thirty-one minutes after it, the right password is let in
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=31))
    assert logged_in(log_in(Client(), "operator", PASSWORD))


def test_a_shorter_cool_off_is_taken_from_the_settings(client, operator, settings):
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=5)
    fail(client, "operator", 5)

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=6))

    assert logged_in(log_in(Client(), "operator", PASSWORD))


def test_without_a_cool_off_the_lock_holds_until_unlocked(client, operator, settings):
    # AXES_COOLOFF_MINUTES=0
    settings.AXES_COOLOFF_TIME = None
    fail(client, "operator", 5)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(days=30))

    page = log_in(Client(), "operator", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 429
    assert "It stays locked until an administrator unlocks it" in page.content.decode()


def test_the_failure_limit_is_taken_from_the_settings(client, operator, settings):
    settings.AXES_FAILURE_LIMIT = 3

    assert fail(client, "operator", 3).status_code == 429
    assert AccessAttempt.objects.get(username="operator", ip_address=OFFICE).failures_since_start == 3
