"""Every admin login, logout and failed login is kept with its time, user name and the client's address (through
the load balancer too), and shown to superusers only, read-only, in Beijing time."""

import datetime as dt

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backoffice.adminkit import local_time
from tests.accounts.conftest import OFFICE, fail, log_in, logged_in

pytestmark = pytest.mark.django_db

PASSWORD = "pw-staff-1234"
LB = "10.0.0.2"  # a load balancer, when TRUSTED_PROXIES names 10.0.0.0/8
CLIENT_BEHIND_LB = "203.0.113.9"
PAGES = {
    "accounts.loginlockout": reverse("admin:accounts_loginlockout_changelist"),
    "accounts.loginrecord": reverse("admin:accounts_loginrecord_changelist"),
    "accounts.loginfailure": reverse("admin:accounts_loginfailure_changelist"),
}


def near_now(moment) -> bool:
    return abs(timezone.now() - moment) < dt.timedelta(minutes=1)


def test_a_login_and_its_logout_are_kept_with_time_user_name_and_address(client, operator):
    # When the operator logs in and, later, out
    assert logged_in(log_in(client, "operator", PASSWORD))
    record = AccessLog.objects.get()
    assert (record.username, record.ip_address, record.logout_time) == ("operator", OFFICE, None)
    assert near_now(record.attempt_time)

    client.post(reverse("admin:logout"), REMOTE_ADDR=OFFICE)

    # Then the record has the logout's time
    record.refresh_from_db()
    assert record.logout_time is not None and record.logout_time >= record.attempt_time


def test_the_logout_is_kept_after_the_session_key_changed(client, operator):
    # Given a login whose session got a new key (here by a password change; the second factor does the same)
    assert logged_in(log_in(client, "operator", PASSWORD))
    key_at_login = client.session.session_key
    changed = client.post(reverse("admin:password_change"), {
        "old_password": PASSWORD, "new_password1": "a-new-pw-5678", "new_password2": "a-new-pw-5678"},
        REMOTE_ADDR=OFFICE)
    assert changed.status_code == 302 and client.session.session_key != key_at_login

    # When the operator logs out
    client.post(reverse("admin:logout"), REMOTE_ADDR=OFFICE)

    # Then the login's record still gets its logout
    assert AccessLog.objects.get().logout_time is not None


def test_each_failed_login_is_kept_with_time_user_name_address_and_whether_it_locked(client, operator):
    fail(client, "operator", 5)
    log_in(client, "nobody", "guess")

    failures = list(AccessFailureLog.objects.order_by("pk"))
    assert [(f.username, f.ip_address, f.locked_out) for f in failures] == [
        *[("operator", OFFICE, False)] * 4, ("operator", OFFICE, True), ("nobody", OFFICE, False)]
    assert all(near_now(f.attempt_time) for f in failures)


def test_behind_a_trusted_load_balancer_the_forwarded_client_is_recorded_and_locked(client, operator, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    # When a client behind the load balancer fails five times and a colleague behind it logs in
    fail(client, "operator", 5, address=LB, HTTP_X_FORWARDED_FOR=CLIENT_BEHIND_LB)
    colleague = log_in(Client(), "operator", PASSWORD, address=LB, HTTP_X_FORWARDED_FOR=f"{OFFICE}, 10.0.0.7")

    # Then the records name the clients, not the balancer, and only the guesser's address is locked
    assert set(AccessFailureLog.objects.values_list("ip_address", flat=True)) == {CLIENT_BEHIND_LB}
    assert logged_in(colleague)
    assert AccessLog.objects.get().ip_address == OFFICE
    assert log_in(Client(), "operator", PASSWORD, address=LB,
                  HTTP_X_FORWARDED_FOR=CLIENT_BEHIND_LB).status_code == 429


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(client, operator, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    # When a guesser not behind our balancer writes a new X-Forwarded-For on each try
    for n in range(5):
        last = log_in(client, "operator", "guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    # Then every failure is its own address's, and that address is locked
    assert last.status_code == 429
    assert set(AccessFailureLog.objects.values_list("ip_address", flat=True)) == {OFFICE}
    assert log_in(Client(), "operator", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_superusers_see_the_records_in_beijing_time_and_find_them_by_name_or_address(client, superuser, operator):
    assert logged_in(log_in(Client(), "operator", PASSWORD))
    fail(Client(), "operator", 1, address="192.0.2.5")
    login, failure = AccessLog.objects.get(), AccessFailureLog.objects.get()
    client.force_login(superuser)

    logins = client.get(PAGES["accounts.loginrecord"]).content.decode()
    failures = client.get(PAGES["accounts.loginfailure"]).content.decode()

    assert local_time(login.attempt_time) in logins and OFFICE in logins
    assert local_time(failure.attempt_time) in failures and "192.0.2.5" in failures

    def found(page, term):
        return [row.pk for row in client.get(PAGES[page], {"q": term}).context["cl"].result_list]

    assert found("accounts.loginfailure", "192.0.2.5") == [failure.pk]
    assert found("accounts.loginfailure", "operator") == [failure.pk]
    assert found("accounts.loginfailure", "opera") == []  # exact, as the index serves
    assert found("accounts.loginrecord", OFFICE) == [login.pk]
    assert found("accounts.loginrecord", "192.0.2.5") == []


def test_the_record_lists_count_as_large_tables_do(client, superuser):
    client.force_login(superuser)
    for url in PAGES.values():
        changelist = client.get(url).context["cl"]
        assert changelist.paginator.__class__.__name__ == "LargeTablePaginator"
        assert changelist.model_admin.show_full_result_count is False


@pytest.mark.parametrize("label", sorted(PAGES))
def test_nobody_adds_changes_or_deletes_a_record_and_only_superusers_look(client, label, operator, finance, superuser):
    # Given a lockout, its failures and a login
    fail(Client(), "operator", 5)
    assert logged_in(log_in(Client(), "finance", PASSWORD))
    row = apps.get_model(label).objects.first()
    model = label.split(".")[1]

    def statuses():
        return [client.get(reverse(f"admin:accounts_{model}_{name}", args=args)).status_code
                for name, args in (("changelist", []), ("add", []), ("change", [row.pk]), ("delete", [row.pk]))]

    # Then a superuser may look at the list and the row only, and operators and finance at nothing
    client.force_login(superuser)
    assert statuses() == [200, 403, 200, 403]
    for staff in (operator, finance):
        client.force_login(staff)
        assert statuses() == [403, 403, 403, 403]
