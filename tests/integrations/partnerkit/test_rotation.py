"""Rotating a partner's secret without an outage: the secret it replaces keeps getting tokens for an overlap, two
secrets at most, each token remembering which one got it; the overlap ends on its time or when the operator retires
the previous secret; tokens run until they expire, unless the previous secret is ended at once (one that leaked).

Time moves with the `now=` the services take: the secret is issued at T0 and every later step is stated from it.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from integrations.partnerkit.access import (
    Caller,
    PartnerDenied,
    digest,
    partner_access_get,
    partner_authenticate,
    partner_secret_issue,
    partner_secret_previous_retire,
    partner_token_issue,
    partner_tokens_alive_by_secret,
    partner_tokens_revoke,
)
from integrations.partnerkit.models import AuthFailureReason, PartnerAccess, PartnerAuthFailure, PartnerToken
from tests.orders.factories import PartnerFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(days=30)
HOUR = timedelta(hours=1)
CALLER = Caller("getToken", remote_addr="10.0.0.1")


@pytest.fixture
def partner():
    partner = PartnerFactory(org_code="DIDI")
    partner.secret = partner_secret_issue(partner=partner, now=T0)
    return partner


def token_of(partner, secret, at):
    return partner_token_issue(org=partner.org_code, secret=secret, caller=CALLER, now=at)


def refusal(partner, secret, at):
    with pytest.raises(PartnerDenied) as denied:
        token_of(partner, secret, at)
    return denied.value.reason


def access_of(partner):
    return PartnerAccess.objects.get(partner=partner)


def reasons():
    return list(PartnerAuthFailure.objects.order_by("id").values_list("reason", flat=True))


# --- rotating --------------------------------------------------------------------------------------------------


def test_a_rotation_keeps_the_secret_it_replaces_for_the_overlap_of_the_setting(partner, settings):
    settings.PARTNER_SECRET_OVERLAP_HOURS = 48
    before = access_of(partner)

    # When the secret is rotated a day after it was issued
    new = partner_secret_issue(partner=partner, now=T0 + 24 * HOUR)

    # Then the one in use became the previous one, valid 48 hours from the rotation, hash and hint only
    access = access_of(partner)
    assert new != partner.secret
    assert (access.previous_secret_hash, access.previous_secret_hint, access.previous_secret_set_at) == (
        before.secret_hash, partner.secret[-4:], T0)
    assert access.previous_secret_valid_until == T0 + 72 * HOUR
    assert (access.secret_hint, access.secret_set_at, access.secret_last_used_at) == (new[-4:], T0 + 24 * HOUR, None)
    assert partner.secret not in {access.secret_hash, access.previous_secret_hash, access.previous_secret_hint}


def test_the_default_overlap_is_72_hours():
    partner = PartnerFactory()
    partner_secret_issue(partner=partner, now=T0)

    partner_secret_issue(partner=partner, now=T0 + HOUR)

    assert access_of(partner).previous_secret_valid_until == T0 + 73 * HOUR


def test_during_the_overlap_both_secrets_get_tokens_each_recorded_with_the_secret_that_got_it(partner):
    new = partner_secret_issue(partner=partner, now=T0 + HOUR)

    # When one server still asks with the old secret and another already with the new one
    by_old = token_of(partner, partner.secret, T0 + 2 * HOUR)
    by_new = token_of(partner, new, T0 + 3 * HOUR)

    # Then both get a token, and we know which secret got which and when each secret was last used
    rows = dict(PartnerToken.objects.values_list("issued_at", "by_previous_secret"))
    assert rows == {T0 + 2 * HOUR: True, T0 + 3 * HOUR: False}
    access = access_of(partner)
    assert (access.previous_secret_last_used_at, access.secret_last_used_at) == (T0 + 2 * HOUR, T0 + 3 * HOUR)
    for issued in (by_old, by_new):
        assert partner_authenticate(token=issued.token, caller=CALLER, now=T0 + 3 * HOUR) == partner
    assert reasons() == []


def test_when_a_secret_was_last_used_is_kept_through_the_rotation_that_makes_it_the_previous_one(partner):
    token_of(partner, partner.secret, T0 + HOUR)

    partner_secret_issue(partner=partner, now=T0 + 2 * HOUR)

    access = access_of(partner)
    assert (access.previous_secret_last_used_at, access.secret_last_used_at) == (T0 + HOUR, None)


def test_recording_when_a_secret_was_used_is_no_change_of_the_access(partner):
    updated = access_of(partner).updated_at

    token_of(partner, partner.secret, T0 + HOUR)

    assert access_of(partner).updated_at == updated


def test_after_its_time_the_previous_secret_is_refused_with_its_own_reason_and_the_new_one_works(partner):
    new = partner_secret_issue(partner=partner, valid_until=T0 + 10 * HOUR, now=T0 + HOUR)

    # A second before the time it still works; at the time, it no longer does
    assert token_of(partner, partner.secret, T0 + 10 * HOUR - timedelta(seconds=1))
    assert refusal(partner, partner.secret, T0 + 10 * HOUR) == AuthFailureReason.PREVIOUS_SECRET_EXPIRED
    assert token_of(partner, new, T0 + 10 * HOUR)
    # And the log tells a server holding the old secret apart from a guess
    assert refusal(partner, "not-a-secret-of-ours", T0 + 10 * HOUR) == AuthFailureReason.WRONG_SECRET
    assert reasons() == [AuthFailureReason.PREVIOUS_SECRET_EXPIRED, AuthFailureReason.WRONG_SECRET]
    row = PartnerAuthFailure.objects.order_by("id").first()
    assert (row.partner, row.org, row.remote_addr) == (partner, "DIDI", "10.0.0.1")


def test_an_overlap_ending_in_the_past_ends_the_previous_secret_at_once(partner):
    # A secret that leaked: rotated with no overlap
    new = partner_secret_issue(partner=partner, valid_until=T0, now=T0 + HOUR)

    assert access_of(partner).previous_secret_valid_until == T0 + HOUR
    assert refusal(partner, partner.secret, T0 + HOUR) == AuthFailureReason.PREVIOUS_SECRET_EXPIRED
    assert token_of(partner, new, T0 + HOUR)


def test_a_rotation_that_ends_the_previous_secret_at_once_revokes_the_tokens_got_with_it(partner):
    before = token_of(partner, partner.secret, T0 + HOUR)
    second = partner_secret_issue(partner=partner, now=T0 + 2 * HOUR)
    during = token_of(partner, partner.secret, T0 + 2 * HOUR)  # the first secret, in its overlap
    current = token_of(partner, second, T0 + 2 * HOUR)

    # When the second secret leaks and is replaced with no overlap
    third = partner_secret_issue(partner=partner, valid_until=T0, now=T0 + 3 * HOUR)

    # Then no token got before this rotation opens any more, whichever secret got it
    for issued in (before, during, current):
        with pytest.raises(PartnerDenied):
            partner_authenticate(token=issued.token, caller=CALLER, now=T0 + 3 * HOUR)
    assert refusal(partner, second, T0 + 3 * HOUR) == AuthFailureReason.PREVIOUS_SECRET_EXPIRED
    fresh = token_of(partner, third, T0 + 3 * HOUR)
    assert partner_authenticate(token=fresh.token, caller=CALLER, now=T0 + 3 * HOUR)


def test_a_rotation_with_an_overlap_revokes_no_token(partner):
    issued = token_of(partner, partner.secret, T0 + HOUR)

    partner_secret_issue(partner=partner, now=T0 + 2 * HOUR)

    assert partner_authenticate(token=issued.token, caller=CALLER, now=T0 + 2 * HOUR)


def test_the_previous_secret_works_at_most_30_days_after_a_rotation(partner):
    with pytest.raises(ValidationError, match="30"):
        partner_secret_issue(partner=partner, valid_until=T0 + timedelta(days=30, seconds=1), now=T0)

    assert access_of(partner).previous_secret_hash == ""  # nothing rotated
    partner_secret_issue(partner=partner, valid_until=T0 + timedelta(days=30), now=T0)
    assert access_of(partner).previous_secret_valid_until == T0 + timedelta(days=30)


def test_a_third_secret_replaces_the_previous_one_two_secrets_at_most(partner):
    second = partner_secret_issue(partner=partner, now=T0 + HOUR)

    # When the operator rotates again during the overlap
    third = partner_secret_issue(partner=partner, now=T0 + 2 * HOUR)

    # Then the second is the previous one, in a new overlap, and the first no longer works
    access = access_of(partner)
    assert (access.secret_hint, access.previous_secret_hint) == (third[-4:], second[-4:])
    assert access.previous_secret_valid_until == T0 + 2 * HOUR + 72 * HOUR
    assert refusal(partner, partner.secret, T0 + 3 * HOUR) == AuthFailureReason.WRONG_SECRET
    assert token_of(partner, second, T0 + 3 * HOUR)
    assert token_of(partner, third, T0 + 3 * HOUR)


def test_giving_the_secret_in_use_again_rotates_nothing(partner):
    given = partner_secret_issue(partner=PartnerFactory(org_code="DEMO"), secret="demo-partner-secret", now=T0)
    demo = PartnerAccess.objects.get(partner__org_code="DEMO")

    # A deployment that sets the partner's given secret on every start
    partner_secret_issue(partner=demo.partner, secret=given, now=T0 + HOUR)

    again = PartnerAccess.objects.get(pk=demo.pk)
    assert (again.secret_set_at, again.previous_secret_hash, again.previous_secret_valid_until) == (T0, "", None)


def test_a_first_secret_has_no_previous_one():
    partner = PartnerFactory()
    partner_access_get(partner=partner)

    partner_secret_issue(partner=partner, now=T0)

    access = access_of(partner)
    assert (access.previous_secret_hash, access.previous_secret_valid_until) == ("", None)


# --- tokens ----------------------------------------------------------------------------------------------------


def test_a_token_got_before_the_rotation_works_until_it_expires(partner, settings):
    issued = token_of(partner, partner.secret, T0 + HOUR)

    # When the secret is rotated with an overlap of a minute, which is over long before the token expires
    partner_secret_issue(partner=partner, valid_until=T0 + HOUR + timedelta(minutes=2),
                         now=T0 + HOUR + timedelta(minutes=1))

    # Then the token still opens until its own expiry
    assert partner_authenticate(token=issued.token, caller=CALLER, now=issued.expires_at - timedelta(seconds=1))
    assert PartnerToken.objects.filter(partner=partner).count() == 1
    with pytest.raises(PartnerDenied) as denied:
        partner_authenticate(token=issued.token, caller=CALLER, now=issued.expires_at)
    assert denied.value.reason == AuthFailureReason.EXPIRED_TOKEN


def test_each_server_of_a_partner_keeps_its_own_token_when_another_gets_one(partner):
    # Given two servers behind one org code, each getting its token, one after the other and again
    first = token_of(partner, partner.secret, T0 + HOUR)
    second = token_of(partner, partner.secret, T0 + HOUR + timedelta(seconds=1))
    first_again = token_of(partner, partner.secret, T0 + HOUR + timedelta(seconds=2))

    # Then every token opens
    for issued in (first, second, first_again):
        assert partner_authenticate(token=issued.token, caller=CALLER, now=T0 + 2 * HOUR) == partner
    assert PartnerToken.objects.filter(partner=partner).count() == 3


# --- retiring the previous secret ---------------------------------------------------------------------------------


def test_retiring_ends_the_previous_secret_at_once_and_revokes_the_tokens_it_got(partner):
    new = partner_secret_issue(partner=partner, now=T0 + HOUR)
    by_old = token_of(partner, partner.secret, T0 + 2 * HOUR)
    by_new = token_of(partner, new, T0 + 2 * HOUR)

    # When the operator sees the partner uses the new one and retires the previous one
    revoked = partner_secret_previous_retire(partner=partner, now=T0 + 3 * HOUR)

    # Then the old secret is refused from that moment, the tokens it got are gone and the new one's stay
    assert revoked == 1
    assert access_of(partner).previous_secret_valid_until == T0 + 3 * HOUR
    assert refusal(partner, partner.secret, T0 + 3 * HOUR) == AuthFailureReason.PREVIOUS_SECRET_EXPIRED
    with pytest.raises(PartnerDenied) as denied:
        partner_authenticate(token=by_old.token, caller=CALLER, now=T0 + 3 * HOUR)
    assert denied.value.reason == AuthFailureReason.UNKNOWN_TOKEN
    assert partner_authenticate(token=by_new.token, caller=CALLER, now=T0 + 3 * HOUR) == partner
    assert token_of(partner, new, T0 + 3 * HOUR)


def test_retiring_without_revoking_lets_the_previous_secrets_tokens_run_out(partner):
    partner_secret_issue(partner=partner, now=T0 + HOUR)
    by_old = token_of(partner, partner.secret, T0 + 2 * HOUR)

    revoked = partner_secret_previous_retire(partner=partner, revoke_tokens=False, now=T0 + 3 * HOUR)

    assert revoked == 0
    assert refusal(partner, partner.secret, T0 + 3 * HOUR) == AuthFailureReason.PREVIOUS_SECRET_EXPIRED
    assert partner_authenticate(token=by_old.token, caller=CALLER, now=T0 + 3 * HOUR) == partner


def test_retiring_revokes_a_token_got_before_the_rotation_too_it_was_got_with_the_retired_secret(partner):
    # Given a token got with the secret that a rotation a minute later made the previous one
    before = token_of(partner, partner.secret, T0 + HOUR)
    new = partner_secret_issue(partner=partner, now=T0 + HOUR + timedelta(minutes=1))
    by_new = token_of(partner, new, T0 + HOUR + timedelta(minutes=1, seconds=30))

    # When the previous secret is retired (it leaked, say) with its tokens
    revoked = partner_secret_previous_retire(partner=partner, now=T0 + HOUR + timedelta(minutes=2))

    # Then that token ends too; only the tokens got with the secret in use are left
    assert revoked == 1
    assert list(PartnerToken.objects.values_list("token_hash", flat=True)) == [digest(by_new.token)]
    with pytest.raises(PartnerDenied):
        partner_authenticate(token=before.token, caller=CALLER, now=T0 + HOUR + timedelta(minutes=3))


def test_the_live_tokens_are_counted_by_the_secret_that_got_them(partner):
    token_of(partner, partner.secret, T0 + HOUR)
    new = partner_secret_issue(partner=partner, now=T0 + 2 * HOUR)
    token_of(partner, partner.secret, T0 + 2 * HOUR + timedelta(minutes=1))
    token_of(partner, new, T0 + 2 * HOUR + timedelta(minutes=1))
    token_of(partner, new, T0 + 2 * HOUR + timedelta(minutes=2))

    # Two hours after the first token it has expired; the others are alive
    counts = partner_tokens_alive_by_secret(access=access_of(partner), now=T0 + 3 * HOUR)

    assert counts == {"current": 2, "previous": 1}


@pytest.mark.parametrize("when", ["never rotated", "overlap over", "already retired"])
def test_there_is_nothing_to_retire_without_a_previous_secret_that_works(partner, when):
    if when != "never rotated":
        partner_secret_issue(partner=partner, valid_until=T0 + 2 * HOUR, now=T0 + HOUR)
    if when == "already retired":
        partner_secret_previous_retire(partner=partner, now=T0 + HOUR)

    with pytest.raises(ValidationError):
        partner_secret_previous_retire(partner=partner, now=T0 + 3 * HOUR)


def test_revoking_every_token_still_ends_those_of_both_secrets(partner):
    new = partner_secret_issue(partner=partner, now=T0 + HOUR)
    token_of(partner, partner.secret, T0 + 2 * HOUR)
    token_of(partner, new, T0 + 2 * HOUR)

    assert partner_tokens_revoke(partner=partner) == 2
    assert not PartnerToken.objects.filter(partner=partner).exists()
