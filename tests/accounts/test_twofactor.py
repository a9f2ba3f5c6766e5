"""Two-factor sign-in to the admin: optional for every staff user, required of the groups (and superusers) the
settings name, asked for before any admin page opens, throttled, and reset by a superuser when a phone is lost."""

import datetime as dt
from base64 import b32decode
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.logins.models import LoginFailure
from accounts.twofactor import selectors
from accounts.twofactor.qr import qr_svg
from tests.accounts.conftest import OFFICE, log_in, logged_in

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
ENROL = reverse("twofactor:enrol")
VERIFY = reverse("twofactor:verify")


def code_of(device, *, steps_ahead=0):
    """The code the user's phone shows now (or `steps_ahead` periods later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time += steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device):
    return f"{(int(code_of(device)) + 1) % 1_000_000:06d}"


def confirmed_device(user):
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def redirected_to(response, path):
    assert response.status_code == 302, response.status_code
    target = urlsplit(response["Location"])
    assert target.path == path, response["Location"]
    return parse_qs(target.query).get("next", [None])[0]


@pytest.fixture
def finance_required(settings):
    settings.ADMIN_2FA_REQUIRED_GROUPS = ["Finance"]


# --- without the settings: optional ----------------------------------------------------------------------


def test_without_the_settings_no_one_is_asked_for_a_code(client, superuser, operator, finance):
    for user in (superuser, operator, finance):
        client.force_login(user)
        assert client.get(INDEX).status_code == 200
        assert selectors.twofactor_required(user=user) is False


def test_every_admin_page_links_to_the_two_factor_page(client, operator):
    client.force_login(operator)

    html = client.get(INDEX).content.decode()

    assert 'id="twofactor-link"' in html and f'href="{ENROL}"' in html


def test_a_staff_user_enrols_voluntarily_with_a_code_of_the_scanned_secret(client, operator):
    client.force_login(operator)

    # When the operator opens the enrolment page
    page = client.get(ENROL, HTTP_ACCEPT_LANGUAGE="en")

    # Then it shows the QR code as inline SVG and the key in text, of a device not yet confirmed
    assert page.status_code == 200
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=operator)
    assert device.confirmed is False
    qr = html.split('id="twofactor-qr"', 1)[1]
    assert qr.startswith('><svg width="') and 'class="twofactor-qr"' in qr[:100]
    secret = page.context["secret"]
    assert b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8)) == device.bin_key
    assert 'id="twofactor-required"' not in html  # nobody requires it of an operator
    assert "充电后台:operator" in html

    # and the same secret on a second visit
    client.get(ENROL)
    assert TOTPDevice.objects.filter(user=operator).count() == 1

    # When a wrong code is given, the device stays unconfirmed
    refused = client.post(ENROL, {"code": wrong_code(device)})
    assert refused.status_code == 200 and refused.context["form"].errors["code"]
    device.refresh_from_db()
    assert device.confirmed is False

    # When, past the throttle, the right one is given (spaces allowed), it is confirmed and the session verified
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None, throttling_failure_count=0)
    code = code_of(device)
    done = client.post(ENROL, {"code": f"{code[:3]} {code[3:]}", "next": "/admin/orders/order/"})
    assert redirected_to(done, "/admin/orders/order/") is None
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get(INDEX).status_code == 200

    # and the page now says it is on, without a new secret
    on = client.get(ENROL)
    assert 'id="twofactor-on"' in on.content.decode() and "secret" not in on.context


def test_a_user_with_a_confirmed_device_is_asked_for_its_code_before_the_admin(client, operator):
    device = confirmed_device(operator)
    client.force_login(operator)

    # When the operator, signed in with the password only, opens the admin
    response = client.get("/admin/orders/order/?status=settled")

    # Then the code is asked for first, and the page asked for is opened once it is given
    next_url = redirected_to(response, VERIFY)
    assert next_url == "/admin/orders/order/?status=settled"
    assert client.get(VERIFY, {"next": next_url}).status_code == 200
    assert client.get(INDEX).status_code == 302
    session_before = client.session.session_key

    done = client.post(VERIFY, {"code": code_of(device), "next": next_url})

    assert redirected_to(done, "/admin/orders/order/") is None
    assert done["Location"] == next_url
    assert client.session.session_key != session_before  # a new key once the second factor is given
    assert client.session[SESSION_KEY] == str(operator.pk)
    assert client.get(INDEX).status_code == 200


def test_a_code_is_taken_once(client, operator):
    device = confirmed_device(operator)
    code = code_of(device)
    client.force_login(operator)
    assert client.post(VERIFY, {"code": code}).status_code == 302

    client.logout()
    client.force_login(operator)
    again = client.post(VERIFY, {"code": code})

    assert again.status_code == 200 and again.context["form"].errors["code"]


def test_wrong_codes_are_throttled_and_the_right_one_is_refused_within_the_throttle(client, settings, operator):
    # Given a throttle of 60 s after the first wrong code (doubling with each)
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    device = confirmed_device(operator)
    client.force_login(operator)

    # When wrong codes are tried, then the right one at once
    wrong = [client.post(VERIFY, {"code": wrong_code(device)}, HTTP_ACCEPT_LANGUAGE="en") for _ in range(3)]
    right = client.post(VERIFY, {"code": code_of(device)}, HTTP_ACCEPT_LANGUAGE="en")

    # Then every one is refused, the right one too, saying when a code is taken again
    assert [response.status_code for response in [*wrong, right]] == [200, 200, 200, 200]
    assert "after" in right.context["form"].errors["code"][0]
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert client.get(INDEX).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # tries within the throttle are not even checked

    # and once the throttle has passed, the right code opens the admin
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=device.throttling_failure_timestamp - dt.timedelta(seconds=61))
    assert client.post(VERIFY, {"code": code_of(device)}).status_code == 302
    assert client.get(INDEX).status_code == 200


def test_wrong_codes_are_failed_logins_and_the_fifth_ends_the_session_with_the_lockout(client, settings, operator):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # each code checked: the lockout, not the throttle, is what is shown
    device = confirmed_device(operator)
    assert logged_in(log_in(client, "operator", "pw-staff-1234"))

    # When four wrong codes are given, each is a failed login of the operator at the office's address
    for _ in range(4):
        assert client.post(VERIFY, {"code": wrong_code(device)}, REMOTE_ADDR=OFFICE).status_code == 200
    failures = LoginFailure.objects.filter(username="operator")
    assert list(failures.values_list("ip_address", "path_info").distinct()) == [(OFFICE, VERIFY)]
    assert failures.count() == 4

    # Then the fifth locks the user name at that address: the session ends and the lockout page says so
    fifth = client.post(VERIFY, {"code": wrong_code(device)}, REMOTE_ADDR=OFFICE)
    assert fifth.status_code == 429
    assert "operator" in fifth.content.decode()
    assert SESSION_KEY not in client.session
    # and the password with the right code no longer gets in from there
    assert log_in(Client(), "operator", "pw-staff-1234").status_code == 429


def test_a_malformed_code_is_refused_without_a_try(client, operator):
    device = confirmed_device(operator)
    client.force_login(operator)

    for code in ("12345", "1234567", "abcdef", ""):
        response = client.post(VERIFY, {"code": code})
        assert response.status_code == 200 and response.context["form"].errors["code"]

    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_the_password_alone_does_not_open_the_enrolment_page_of_a_user_with_a_device(client, operator):
    # Given a user with an authenticator, signed in with the password only
    confirmed_device(operator)
    client.force_login(operator)

    # Then the enrolment page (which would add a second authenticator) asks for the code first
    redirected_to(client.get(ENROL), VERIFY)
    redirected_to(client.post(ENROL, {"code": "123456"}), VERIFY)
    assert TOTPDevice.objects.filter(user=operator).count() == 1


def test_the_next_address_stays_on_this_site(client, operator):
    device = confirmed_device(operator)
    client.force_login(operator)

    response = client.post(VERIFY, {"code": code_of(device), "next": "https://evil.example/admin/"})

    assert response["Location"] == INDEX


def test_the_pages_are_for_signed_in_staff_only(client, django_user_model):
    for page in (ENROL, VERIFY):
        redirected_to(client.get(page), reverse("admin:login"))

    client.force_login(django_user_model.objects.create_user("driver", password="pw-driver-1234"))
    for page in (ENROL, VERIFY):
        redirected_to(client.get(page), reverse("admin:login"))
    assert not TOTPDevice.objects.exists()


def test_the_password_login_leads_to_the_code(client, operator):
    confirmed_device(operator)

    response = client.post(reverse("admin:login"), {"username": "operator", "password": "pw-staff-1234",
                                                    "next": INDEX}, follow=True)

    assert response.redirect_chain[-1][0].startswith(VERIFY)
    assert response.status_code == 200 and 'id="twofactor-verify"' in response.content.decode()


# --- required by the settings -----------------------------------------------------------------------------


def test_a_member_of_a_required_group_is_sent_to_enrol_from_every_admin_page(client, finance_required, finance,
                                                                            operator):
    client.force_login(finance)

    # Then the index, a model's list and a custom admin view (the daily close's day page) all send to enrolment
    for path in (INDEX, "/admin/orders/order/", reverse("admin:orders_businessday_day", args=["2026-11-03"])):
        assert redirected_to(client.get(path), ENROL) == path
    # while the login and logout pages stay open
    assert client.get(reverse("admin:login")).status_code in (200, 302)
    page = client.get(ENROL)
    assert page.status_code == 200 and 'id="twofactor-required"' in page.content.decode()

    # When the code of the new authenticator is given, the admin opens
    device = TOTPDevice.objects.get(user=finance)
    assert client.post(ENROL, {"code": code_of(device)}).status_code == 302
    assert client.get("/admin/orders/order/").status_code == 200

    # and an operator, of no required group, is not asked
    client.force_login(operator)
    assert client.get(INDEX).status_code == 200

    client.force_login(finance)
    assert client.post(reverse("admin:logout")).status_code == 200


def test_a_required_user_who_posts_to_an_admin_page_is_sent_to_enrol_without_the_post(client, finance_required,
                                                                                     finance):
    client.force_login(finance)

    response = client.post("/admin/orders/export/add/", {"kind": "orders"})

    assert redirected_to(response, ENROL) == INDEX


def test_superusers_are_required_when_the_setting_says_so(client, settings, superuser, operator):
    settings.ADMIN_2FA_REQUIRED_FOR_SUPERUSERS = True
    client.force_login(superuser)
    redirected_to(client.get(INDEX), ENROL)

    client.force_login(operator)
    assert client.get(INDEX).status_code == 200


# --- a lost phone ---------------------------------------------------------------------------------------------


def test_a_superuser_removes_the_device_of_a_user_who_lost_the_phone(client, finance_required, superuser, finance):
    # Given finance signed in with the second factor
    device = confirmed_device(finance)
    client.force_login(finance)
    assert client.post(VERIFY, {"code": code_of(device)}).status_code == 302
    assert client.get(INDEX).status_code == 200

    # When a superuser, in a browser of their own, removes finance's authenticator from the admin's list
    admin_client = Client()
    admin_client.force_login(superuser)
    changelist = reverse("admin:otp_totp_totpdevice_changelist")
    listed = admin_client.get(changelist)
    assert listed.status_code == 200 and str(finance) in listed.content.decode()
    assert device.key not in listed.content.decode()
    confirm = admin_client.post(changelist, {"action": "remove_selected", "_selected_action": [device.pk]})
    assert confirm.status_code == 200  # Django's confirmation page
    done = admin_client.post(changelist, {"action": "remove_selected", "_selected_action": [device.pk], "post": "yes"})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()

    # Then finance's session has lost its second factor: the next admin page sends to enrol a new authenticator
    redirected_to(client.get(INDEX), ENROL)


def test_operators_and_finance_cannot_see_or_remove_devices(client, operator, finance):
    device = confirmed_device(operator)
    changelist = reverse("admin:otp_totp_totpdevice_changelist")
    for user in (operator, finance):
        client.force_login(user)
        if user == operator:
            client.post(VERIFY, {"code": code_of(device)})
        assert client.get(changelist).status_code == 403
        delete = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_nobody_adds_or_edits_a_device_in_the_admin(client, superuser, operator):
    device = confirmed_device(operator)
    client.force_login(superuser)

    assert client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert device.key not in page.content.decode()


def test_the_qr_code_is_inline_svg_without_style_attributes():
    svg = qr_svg("otpauth://totp/x:y?secret=ABC", title="<QR>")

    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "style=" not in svg and "<script" not in svg
    assert "<title>&lt;QR&gt;</title>" in svg
