"""A superuser sees the lockouts in the admin and unlocks one user name at one address, which the admin's log keeps;
operators and finance neither see nor unlock them, whatever permissions their group is given."""

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import LoginLockout
from tests.accounts.conftest import OFFICE, fail, log_in, logged_in

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_loginlockout_changelist")
PASSWORD = "pw-staff-1234"
HOME = "203.0.113.20"


def locked(username, address=OFFICE):
    fail(Client(), username, 5, address=address)
    return LoginLockout.objects.get(username=username, ip_address=address)


def unlock(client, *lockouts):
    return client.post(CHANGELIST, {"action": "unlock", ACTION_CHECKBOX_NAME: [lockout.pk for lockout in lockouts]})


def test_a_superuser_sees_the_lockouts_with_their_state(client, superuser, operator, finance):
    locked("operator")
    fail(Client(), "finance", 2)
    client.force_login(superuser)

    page = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert page.status_code == 200
    assert "operator" in html and OFFICE in html and "Locked until " in html
    assert "Not locked: 3 attempts left" in html
    assert [row.username for row in client.get(CHANGELIST, {"locked": "yes"}).context["cl"].result_list] == [
        "operator"]
    assert [row.username for row in client.get(CHANGELIST, {"locked": "no"}).context["cl"].result_list] == [
        "finance"]


def test_a_superuser_unlocks_a_user_name_at_an_address_and_the_admins_log_keeps_it(client, superuser, operator):
    # Given the operator's name locked at the office and at home
    at_office = locked("operator")
    locked("operator", HOME)
    client.force_login(superuser)

    # When the superuser unlocks it at the office
    response = unlock(client, at_office)

    # Then the operator logs in at the office again, but home stays locked
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="operator", ip_address=OFFICE).exists()
    assert logged_in(log_in(Client(), "operator", PASSWORD))
    assert log_in(Client(), "operator", PASSWORD, address=HOME).status_code == 429
    # and the admin's log names who unlocked what
    entry = LogEntry.objects.get(content_type__model="loginlockout")
    assert (entry.user, entry.action_flag, entry.object_repr) == (superuser, DELETION, f"operator @ {OFFICE}")


def test_unlocking_takes_every_browsers_row_of_the_user_name_at_the_address(client, superuser, operator):
    for agent in ("curl/8", "Mozilla/5.0"):
        fail(Client(), "operator", 3, HTTP_USER_AGENT=agent)
    assert log_in(Client(), "operator", PASSWORD).status_code == 429
    client.force_login(superuser)

    unlock(client, LoginLockout.objects.first())

    assert not AccessAttempt.objects.exists()
    assert logged_in(log_in(Client(), "operator", PASSWORD))


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_operators_and_finance_neither_see_nor_unlock_lockouts(request, client, role):
    # Given a lockout, and a staff user whose group was even given every permission on lockouts
    lockout = locked("root")
    user = request.getfixturevalue(role)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["accounts", "axes"]))
    client.force_login(user)

    # Then the list and the row are refused, and so is the unlock
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(reverse("admin:accounts_loginlockout_change", args=[lockout.pk])).status_code == 403
    assert unlock(client, lockout).status_code == 403
    assert AccessAttempt.objects.filter(pk=lockout.pk).exists()
    assert "accounts" not in {app["app_label"] for app in client.get(reverse("admin:index")).context["app_list"]}


def test_the_unlock_action_is_offered_to_superusers_only(rf, superuser, operator):
    # The list is refused to others already; the action asks again, so that no change to viewing opens it.
    operator.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["accounts", "axes"]))
    lockouts_admin = admin.site._registry[LoginLockout]

    def offered(user):
        request = rf.get(CHANGELIST)
        request.user = user
        return "unlock" in lockouts_admin.get_actions(request)

    assert offered(superuser) is True
    assert offered(operator) is False


def test_axes_own_command_unlocks_a_user_name_everywhere(operator):
    locked("operator")
    locked("operator", HOME)

    call_command("axes_reset_username", "operator")

    assert not AccessAttempt.objects.exists()
    assert logged_in(log_in(Client(), "operator", PASSWORD, address=HOME))
