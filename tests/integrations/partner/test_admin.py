"""The admin of partner access: a partner's access is edited on its page, its secret issued there and shown once,
and the tokens, refused attempts and reconciliation answers are listed read-only (never a token's hash).

Rotating a secret: the partner's page shows both secrets (hint, issued, works until, last used, tokens got with
each), the rotation shows the new secret once and says until when the old one works, and the previous secret is
retired from the page. Only who may change the partner may do either."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from backoffice.adminkit import local_time
from integrations.models import PartnerAuthFailure, PartnerCheck, PartnerToken
from integrations.partnerkit.access import (
    Caller,
    PartnerDenied,
    digest,
    partner_access_get,
    partner_authenticate,
    partner_secret_issue,
    partner_secret_previous_retire,
    partner_token_issue,
)
from integrations.partnerkit.models import AuthFailureReason, PartnerAccess
from orders.models import Partner
from tests.integrations.factories import OutboundDeliveryFactory
from tests.orders.factories import PartnerFactory
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.django_db

PARTNERS = reverse("admin:orders_partner_changelist")
TOKENS = reverse("admin:integrations_partnertoken_changelist")
FAILURES = reverse("admin:integrations_partnerauthfailure_changelist")
CHECKS = reverse("admin:integrations_partnercheck_changelist")
DELIVERIES = reverse("admin:integrations_outbounddelivery_changelist")
SECRET_IN_MESSAGE = re.compile(r"<code>([A-Za-z0-9_-]{20,})</code>")


@pytest.fixture
def staff(admin_client):
    """A superuser's browser, asking for English pages."""
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


@pytest.fixture
def viewer(client, django_user_model):
    """A staff user who may look at partners, not change them (as finance)."""
    user = django_user_model.objects.create_user("viewer", password="pw-viewer-1234", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_partner", content_type__app_label="orders"))
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def change_url(partner):
    return reverse("admin:orders_partner_change", args=[partner.pk])


def secret_url(partner):
    return reverse("admin:orders_partner_secret", args=[partner.pk])


def retire_url(partner):
    return reverse("admin:orders_partner_secret_retire", args=[partner.pk])


def posted(partner, **access):
    """The partner's change form as sent, its access inline included (`stations` a list of ids)."""
    current = partner_access_get(partner=partner)
    fields = {"protocol": current.protocol, "callback_url": current.callback_url, "city_codes": current.city_codes,
              "stations": [station.pk for station in current.stations.all()], **access}
    data = {
        "name": partner.name, "org_code": partner.org_code, "enabled": "on" if partner.enabled else "",
        "access-TOTAL_FORMS": "1", "access-INITIAL_FORMS": "1", "access-MIN_NUM_FORMS": "0",
        "access-MAX_NUM_FORMS": "1", "access-0-id": str(current.pk), "access-0-partner": str(partner.pk),
        "_save": "Save",
    }
    data.update({f"access-0-{name}": value for name, value in fields.items()})
    return data


def token_works(partner, secret):
    try:
        partner_token_issue(org=partner.org_code, secret=secret, caller=Caller("test"))
    except PartnerDenied:
        return False
    return True


def the_secret_shown(response):
    shown = [SECRET_IN_MESSAGE.search(str(message)) for message in response.context["messages"]]
    secrets = [match.group(1) for match in shown if match]
    assert len(secrets) == 1, [str(message) for message in response.context["messages"]]
    return secrets[0]


# --- the partner's page ---------------------------------------------------------------------------------


def test_the_partners_page_shows_its_access_and_the_secret_button(staff, partner):
    response = staff.get(change_url(partner))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="access-0-city_codes"' in content and 'value="440300"' in content
    hint = partner_access_get(partner=partner).secret_hint
    assert hint and hint in content  # the hint, read-only
    assert partner.secret not in content
    assert f'href="{secret_url(partner)}"' in content and "Rotate the secret" in content


def test_the_access_is_saved_with_the_partner_city_codes_tidied(staff, partner):
    station = StationFactory(code="BJ001", city_code="110000")

    response = staff.post(change_url(partner), posted(
        partner, city_codes="440300 110000、310000,110000", callback_url="https://didi.example.com/notify",
        stations=[station.pk]))

    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    access = partner_access_get(partner=partner)
    assert access.city_codes == "110000, 310000, 440300"
    assert access.city_code_list == ["110000", "310000", "440300"]
    assert access.callback_url == "https://didi.example.com/notify"
    assert list(access.stations.all()) == [station]


def test_a_bad_city_code_is_refused_with_the_reason(staff, partner):
    response = staff.post(change_url(partner), posted(partner, city_codes="440300, 4403"))

    assert response.status_code == 200
    assert "A city code is six digits (e.g. 440300); these are not: 4403." in response.content.decode()
    assert partner_access_get(partner=partner).city_codes == "440300"


def test_a_partner_is_added_as_orders_adds_it_and_its_access_set_on_its_page(staff):
    page = staff.get(reverse("admin:orders_partner_add"))
    response = staff.post(reverse("admin:orders_partner_add"), {"name": "快电", "org_code": "KD001", "enabled": "on"})

    assert page.status_code == 200 and "access-0-city_codes" not in page.content.decode()
    assert response.status_code == 302
    added = Partner.objects.get(org_code="KD001")
    assert "access-0-city_codes" in staff.get(change_url(added)).content.decode()


def test_the_stations_of_the_access_are_found_by_autocomplete(staff, partner):
    wanted = StationFactory(code="SZ777", name="科技园站")
    StationFactory(code="SZ778", name="大学城站")

    response = staff.get(reverse("admin:autocomplete"), {
        "app_label": "integrations", "model_name": "partneraccess", "field_name": "stations", "term": "SZ777"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(wanted.pk)]


def test_the_partner_list_tells_callback_cities_and_tokens_alive(staff, partner, token):
    access = partner_access_get(partner=partner)
    access.callback_url = "https://didi.example.com/notify"
    access.save()
    PartnerToken.objects.create(partner=partner, token_hash="0" * 64, expires_at=timezone.now() - timedelta(hours=1))
    bare = PartnerFactory(name="高德", org_code="AMAP")

    response = staff.get(PARTNERS)

    assert response.status_code == 200
    rows = {row.pk: row for row in response.context["cl"].result_list}
    admin_page = response.context["cl"].model_admin
    assert (admin_page.callback_set(rows[partner.pk]), admin_page.cities(rows[partner.pk]),
            admin_page.tokens_alive(rows[partner.pk])) == (True, "440300", 1)
    assert (admin_page.callback_set(rows[bare.pk]), admin_page.cities(rows[bare.pk]),
            admin_page.tokens_alive(rows[bare.pk])) == (False, None, 0)
    assert "滴滴充电" in response.content.decode() and "高德" in response.content.decode()


# --- issuing a secret -------------------------------------------------------------------------------------


def test_a_secret_in_use_is_replaced_only_after_confirming(staff, partner):
    before = partner_access_get(partner=partner).secret_hash

    page = staff.get(secret_url(partner))

    assert page.status_code == 200
    hint = partner_access_get(partner=partner).secret_hint
    assert hint and hint in page.content.decode()  # which secret stops working
    assert partner_access_get(partner=partner).secret_hash == before


def test_issuing_a_secret_shows_it_once_and_the_old_one_works_for_the_overlap(staff, partner):
    old = partner.secret

    response = staff.post(secret_url(partner), {"confirm": "1"}, follow=True)

    assert response.redirect_chain == [(change_url(partner), 302)]
    new = the_secret_shown(response)
    assert new != old
    assert "copy it now; it is not kept" in response.content.decode()
    assert token_works(partner, old)  # until the overlap ends (tests/integrations/partner/test_admin_rotation.py)
    assert token_works(partner, new)
    assert partner_access_get(partner=partner).secret_hint == new[-4:]
    # Once: the next page does not show it again.
    assert new not in staff.get(change_url(partner)).content.decode()


def test_the_list_action_asks_before_replacing_a_secret_in_use(staff, partner):
    selected = {"action": "issue_secret", "_selected_action": [partner.pk]}
    before = partner_access_get(partner=partner).secret_hash

    asked = staff.post(PARTNERS, selected)

    assert asked.status_code == 200
    assert 'name="confirm"' in asked.content.decode()
    assert partner_access_get(partner=partner).secret_hash == before

    done = staff.post(PARTNERS, {**selected, "confirm": "1"}, follow=True)

    new = the_secret_shown(done)
    assert token_works(partner, partner.secret)  # the previous secret, during its overlap
    assert token_works(partner, new)


def test_the_list_action_issues_a_first_secret_at_once(staff):
    fresh = PartnerFactory(name="高德", org_code="AMAP")

    response = staff.post(PARTNERS, {"action": "issue_secret", "_selected_action": [fresh.pk]}, follow=True)

    assert token_works(fresh, the_secret_shown(response))


def test_without_the_change_permission_no_secret_is_issued(client, django_user_model, partner):
    viewer = django_user_model.objects.create_user("viewer", password="pw-viewer-1234", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_partner", content_type__app_label="orders"))
    client.force_login(viewer)
    before = partner_access_get(partner=partner).secret_hash

    page = client.get(change_url(partner))
    asked = client.get(secret_url(partner))
    posted_secret = client.post(secret_url(partner), {"confirm": "1"})
    client.post(PARTNERS, {"action": "issue_secret", "_selected_action": [partner.pk], "confirm": "1"})

    assert page.status_code == 200 and secret_url(partner) not in page.content.decode()
    assert (asked.status_code, posted_secret.status_code) == (403, 403)
    assert partner_access_get(partner=partner).secret_hash == before
    assert token_works(partner, partner.secret)


# --- the read-only lists ------------------------------------------------------------------------------------


def test_the_token_list_and_page_never_show_a_hash(staff, partner, token):
    row = PartnerToken.objects.get()
    secret_hash = partner_access_get(partner=partner).secret_hash
    assert secret_hash

    listed = staff.get(TOKENS)
    page = staff.get(reverse("admin:integrations_partnertoken_change", args=[row.pk]))

    assert listed.status_code == 200 and page.status_code == 200
    assert [token.pk for token in listed.context["cl"].result_list] == [row.pk]
    for response in (listed, page):
        content = response.content.decode()
        assert row.token_hash not in content and token not in content
        assert secret_hash not in content


def test_the_failures_list_filters_by_reason(staff, partner):
    for secret in ("wrong-1", "wrong-2"):
        assert not token_works(partner, secret)
    with pytest.raises(PartnerDenied):
        partner_token_issue(org="NOBODY", secret="x", caller=Caller("test"))

    everything = staff.get(FAILURES)
    wrong = staff.get(FAILURES, {"reason__exact": AuthFailureReason.WRONG_SECRET})

    assert everything.status_code == 200 and wrong.status_code == 200
    assert len(everything.context["cl"].result_list) == 3
    assert {failure.reason for failure in wrong.context["cl"].result_list} == {AuthFailureReason.WRONG_SECRET}
    assert len(wrong.context["cl"].result_list) == 2
    failure = PartnerAuthFailure.objects.filter(reason=AuthFailureReason.UNKNOWN_ORG).get()
    assert staff.get(reverse("admin:integrations_partnerauthfailure_change", args=[failure.pk])).status_code == 200


def test_the_checks_list_shows_energy_in_kwh_and_amounts_in_yuan(staff, partner):
    now = timezone.now()
    check = PartnerCheck.objects.create(partner=partner, check_no="CK0001", window_start=now - timedelta(days=1),
                                        window_end=now, order_count=2, energy_wh=12345, amount_fen=1050,
                                        order_nos=["20261121100000000001", "20261121100000000002"])

    listed = staff.get(CHECKS)
    page = staff.get(reverse("admin:integrations_partnercheck_change", args=[check.pk]))

    assert listed.status_code == 200 and page.status_code == 200
    content = listed.content.decode()
    assert "CK0001" in content and "12.345" in content and "10.50" in content
    assert "20261121100000000002" in page.content.decode()


def test_every_list_renders_with_its_rows(staff, partner, token):
    assert not token_works(partner, "wrong")
    now = timezone.now()
    PartnerCheck.objects.create(partner=partner, check_no="CK0002", window_start=now - timedelta(hours=1),
                                window_end=now, order_count=0, energy_wh=0, amount_fen=0)

    for url in (PARTNERS, TOKENS, FAILURES, CHECKS):
        response = staff.get(url)
        assert response.status_code == 200, url
        assert len(response.context["cl"].result_list) >= 1, url


def test_an_orders_deliveries_are_found_by_its_order_number(staff):
    # The order page's link to its callbacks is this list searched by the order number.
    mine = OutboundDeliveryFactory(kind="partner_callback", order_no="20261121100000000001")
    OutboundDeliveryFactory(kind="partner_callback", order_no="20261121100000000009")

    response = staff.get(DELIVERIES, {"q": "20261121100000000001"})

    assert response.status_code == 200
    assert [delivery.pk for delivery in response.context["cl"].result_list] == [mine.pk]


def test_the_partners_tokens_are_revoked_from_the_list(staff, partner, token):
    response = staff.post(reverse("admin:orders_partner_changelist"),
                          {"action": "revoke_tokens", "_selected_action": [partner.pk]}, follow=True)

    assert response.status_code == 200
    assert not PartnerToken.objects.filter(partner=partner).exists()
    assert "1" in " ".join(str(message) for message in response.context["messages"])


# --- rotating a secret: both secrets on the partner's page, the new one shown once, the old one retired ------


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def access_of(partner):
    return PartnerAccess.objects.get(partner=partner)


def test_the_partners_page_shows_both_secrets_of_a_rotation_and_the_retire_button(staff, partner):
    # Given a rotation in progress: the old secret got a token, the new one not yet
    old = partner.secret
    partner_token_issue(org="DIDI", secret=old, caller=Caller("test"))
    new = partner_secret_issue(partner=partner)
    partner_token_issue(org="DIDI", secret=old, caller=Caller("test"))
    access = access_of(partner)

    content = staff.get(change_url(partner)).content.decode()

    # Then both secrets are there with their hints, times and use; never a secret or a hash
    assert 'class="partner-secrets"' in content
    for text in (new[-4:], old[-4:], local_time(access.secret_set_at), local_time(access.previous_secret_set_at),
                 local_time(access.previous_secret_valid_until), local_time(access.previous_secret_last_used_at),
                 "until the next rotation", "never", "last used to get a token"):
        assert text in content, text
    for hidden in (old, new, access.secret_hash, access.previous_secret_hash):
        assert hidden not in content
    assert f'href="{retire_url(partner)}"' in content and "Retire the previous secret now" in content


def test_without_a_rotation_in_progress_there_is_no_retire_button(staff, partner):
    content = staff.get(change_url(partner)).content.decode()

    assert f'href="{secret_url(partner)}"' in content
    assert retire_url(partner) not in content


def test_after_its_time_the_previous_secret_is_shown_as_no_longer_working_and_cannot_be_retired(staff, partner):
    partner_secret_issue(partner=partner, valid_until=timezone.now() - timedelta(minutes=1))

    content = staff.get(change_url(partner)).content.decode()

    assert "(no longer works)" in content
    assert retire_url(partner) not in content


def test_rotating_asks_until_when_the_old_secret_works_shows_the_new_one_once_and_says_until_when(staff, partner):
    old = partner.secret
    page = staff.get(secret_url(partner))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="valid_until"' in content and 'type="datetime-local"' in content
    assert old[-4:] in content and "keeps working until the time below" in content

    # When the operator gives the partner until a chosen time
    chosen = (timezone.localtime() + timedelta(hours=10)).replace(second=0, microsecond=0)
    done = staff.post(secret_url(partner), {"valid_until": chosen.strftime("%Y-%m-%dT%H:%M"), "confirm": "1"},
                      follow=True)

    # Then the new secret is shown once, with until when the old one works
    assert done.redirect_chain == [(change_url(partner), 302)]
    (message,) = messages_of(done)
    new = SECRET_IN_MESSAGE.search(message).group(1)
    assert f"keeps working until {local_time(chosen)}" in message and old[-4:] in message
    assert access_of(partner).previous_secret_valid_until == chosen
    assert token_works(partner, old) and token_works(partner, new)
    # And neither secret is written to the partner's history of changes
    logged = " ".join(LogEntry.objects.values_list("change_message", flat=True))
    assert "Rotated the secret" in logged
    assert old not in logged and new not in logged


def test_rotating_without_a_chosen_time_gives_the_overlap_of_the_setting(staff, partner, settings):
    settings.PARTNER_SECRET_OVERLAP_HOURS = 5
    before = timezone.now()

    staff.post(secret_url(partner), {"confirm": "1"})

    until = access_of(partner).previous_secret_valid_until
    assert before + timedelta(hours=5) <= until <= timezone.now() + timedelta(hours=5)


def test_a_rotation_during_another_says_the_secret_before_that_stops_at_once(staff, partner):
    partner_secret_issue(partner=partner)
    dropped = access_of(partner).previous_secret_hint

    page = staff.get(secret_url(partner)).content.decode()
    done = staff.post(secret_url(partner), {"confirm": "1"}, follow=True)

    assert f"the previous secret ending with {dropped}" in page and "stops working at once" in page
    assert f"The secret ending with {dropped}, replaced before, no longer works." in messages_of(done)[0]
    assert not token_works(partner, partner.secret)


def test_a_time_that_is_not_one_is_asked_again(staff, partner):
    response = staff.post(secret_url(partner), {"valid_until": "next tuesday", "confirm": "1"})

    assert response.status_code == 200 and "Enter a valid date/time." in response.content.decode()
    assert access_of(partner).previous_secret_hash == ""


def test_an_overlap_of_more_than_30_days_is_asked_again(staff, partner):
    too_long = timezone.localtime() + timedelta(days=31)

    response = staff.post(secret_url(partner), {"valid_until": too_long.strftime("%Y-%m-%dT%H:%M"), "confirm": "1"})

    assert response.status_code == 200
    assert "works at most 30 days after it" in response.content.decode()
    assert access_of(partner).previous_secret_hash == ""


def test_a_secret_that_leaked_is_rotated_with_a_time_past_and_its_tokens_stop_at_once(staff, partner):
    issued = partner_token_issue(org=partner.org_code, secret=partner.secret, caller=Caller("test"))
    past = timezone.localtime() - timedelta(minutes=5)

    done = staff.post(secret_url(partner), {"valid_until": past.strftime("%Y-%m-%dT%H:%M"), "confirm": "1"},
                      follow=True)

    assert "no longer works, and the tokens got with it are revoked" in messages_of(done)[0]
    assert not token_works(partner, partner.secret)
    with pytest.raises(PartnerDenied):
        partner_authenticate(token=issued.token, caller=Caller("test"))


def test_the_list_action_rotates_with_the_time_chosen_on_its_confirmation(staff, partner):
    chosen = (timezone.localtime() + timedelta(hours=30)).replace(second=0, microsecond=0)
    selected = {"action": "issue_secret", "_selected_action": [partner.pk]}

    asked = staff.post(PARTNERS, selected)
    done = staff.post(PARTNERS, {**selected, "confirm": "1", "valid_until": chosen.strftime("%Y-%m-%dT%H:%M")},
                      follow=True)

    assert 'name="valid_until"' in asked.content.decode()
    assert f"keeps working until {local_time(chosen)}" in messages_of(done)[0]
    assert access_of(partner).previous_secret_valid_until == chosen


def test_retiring_asks_first_then_ends_the_previous_secret_and_its_tokens(staff, partner):
    old = partner.secret
    new = partner_secret_issue(partner=partner)
    by_old = partner_token_issue(org="DIDI", secret=old, caller=Caller("test"))
    by_new = partner_token_issue(org="DIDI", secret=new, caller=Caller("test"))

    page = staff.get(retire_url(partner))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="revoke_tokens"' in content and "checked" in content  # revoking is what is offered first
    assert "tokens alive got with it: 1" in content
    assert access_of(partner).previous_secret_works(timezone.now())  # asking changed nothing

    done = staff.post(retire_url(partner), {"revoke_tokens": "on", "confirm": "1"}, follow=True)

    assert done.redirect_chain == [(change_url(partner), 302)]
    assert messages_of(done) == ["The previous secret of 滴滴充电 (DIDI) no longer works. 1 token got with it was "
                                 "revoked."]
    assert not token_works(partner, old) and token_works(partner, new)
    alive = set(PartnerToken.objects.values_list("token_hash", flat=True))
    assert digest(by_old.token) not in alive and digest(by_new.token) in alive


def test_retiring_without_revoking_leaves_the_tokens_to_expire(staff, partner):
    old = partner.secret
    partner_secret_issue(partner=partner)
    by_old = partner_token_issue(org="DIDI", secret=old, caller=Caller("test"))

    done = staff.post(retire_url(partner), {"confirm": "1"}, follow=True)

    assert "keep working until they expire" in messages_of(done)[0]
    assert not token_works(partner, old)
    assert PartnerToken.objects.filter(token_hash=digest(by_old.token)).exists()


def test_retiring_twice_says_there_is_nothing_to_retire(staff, partner):
    partner_secret_issue(partner=partner)
    partner_secret_previous_retire(partner=partner)

    page = staff.get(retire_url(partner), follow=True)
    posted = staff.post(retire_url(partner), {"confirm": "1"}, follow=True)

    for response in (page, posted):
        assert response.redirect_chain == [(change_url(partner), 302)]
        assert "there is nothing to retire" in messages_of(response)[0]


def test_the_token_list_tells_which_secret_got_each_token(staff, partner):
    old = partner.secret
    partner_secret_issue(partner=partner)
    partner_token_issue(org="DIDI", secret=old, caller=Caller("test"))

    listed = staff.get(TOKENS, {"by_previous_secret__exact": "1"})

    assert listed.status_code == 200
    assert [row.by_previous_secret for row in listed.context["cl"].result_list] == [True]


@pytest.mark.parametrize("who", ["viewer", "operator"])
def test_only_who_may_change_the_partner_rotates_or_retires(request, client, partner, who):
    # Given a rotation in progress, and a staff user without the change permission of partners: one who may only
    # look at them (as finance), and an operator (who may not see partners at all)
    partner_secret_issue(partner=partner)
    if who == "operator":
        client.force_login(request.getfixturevalue("operator"))
    else:
        client = request.getfixturevalue("viewer")
    before = access_of(partner)

    answers = [client.get(secret_url(partner)), client.post(secret_url(partner), {"confirm": "1"}),
               client.get(retire_url(partner)), client.post(retire_url(partner), {"confirm": "1"})]
    client.post(PARTNERS, {"action": "issue_secret", "_selected_action": [partner.pk], "confirm": "1"})

    # Then every page answers 403 and nothing changed
    assert [answer.status_code for answer in answers] == [403] * 4
    after = access_of(partner)
    assert (after.secret_hash, after.previous_secret_hash, after.previous_secret_valid_until) == (
        before.secret_hash, before.previous_secret_hash, before.previous_secret_valid_until)
    if who == "viewer":
        page = client.get(change_url(partner)).content.decode()
        assert 'class="partner-secrets"' in page  # who may look sees the state, not the buttons
        assert secret_url(partner) not in page and retire_url(partner) not in page
