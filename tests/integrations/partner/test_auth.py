"""getToken and the `token` of every other interface: who gets in, who is refused and how each refusal is logged."""

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.partner.protocol import format_time
from integrations.partnerkit.access import Caller, partner_access_get, partner_secret_issue, partner_token_issue
from integrations.partnerkit.models import AuthFailureReason, PartnerAuthFailure, PartnerToken
from tests.integrations.partner.conftest import API, call
from tests.orders.factories import PartnerFactory

pytestmark = pytest.mark.django_db

AGENT = "partner-platform/2.1"


def get_token(client, **body):
    """POST getToken as a form (as most partners send it); the envelope, numbers exact."""
    response = client.post(API + "getToken", body, HTTP_USER_AGENT=AGENT)
    return response.status_code, json.loads(response.content, parse_float=Decimal)


def failures():
    return list(PartnerAuthFailure.objects.order_by("id").values_list(
        "reason", "org", "partner__org_code", "interface", "remote_addr", "user_agent"))


# --- getToken -------------------------------------------------------------------------------------------------


def test_a_partner_that_proves_its_secret_gets_a_token_for_two_hours_kept_only_as_its_hash(client, partner):
    # When the partner asks for a token with its secret
    status, answer = get_token(client, org="DIDI", secret=partner.secret)

    # Then it has one, valid 7200 s (PARTNER_TOKEN_SECONDS), expiring at the time the answer states
    assert (status, answer["code"], answer["msg"]) == (200, 0, "成功")
    assert client.post(API + "getToken", {"org": "DIDI", "secret": partner.secret})["Cache-Control"] == "no-store"
    data = answer["data"]
    row = PartnerToken.objects.order_by("issued_at").first()
    assert data == {"token": data["token"], "expiresIn": 7200, "expireTime": format_time(row.expires_at)}
    assert row.expires_at - row.issued_at == dt.timedelta(seconds=7200)
    assert (row.partner, row.remote_addr) == (partner, "127.0.0.1")
    # And only its SHA-256 is stored, never the token
    assert row.token_hash == hashlib.sha256(data["token"].encode()).hexdigest() != data["token"]
    assert len(data["token"]) >= 43
    # And the token opens the other interfaces
    assert call(client, "syncStubGroupInfo", token=data["token"], cityCode="440300")[1]["code"] == 0


def test_the_tokens_lifetime_is_read_from_the_setting(client, partner, settings):
    settings.PARTNER_TOKEN_SECONDS = 600

    _status, answer = get_token(client, org="DIDI", secret=partner.secret)

    row = PartnerToken.objects.get()
    assert answer["data"]["expiresIn"] == 600
    assert row.expires_at - row.issued_at == dt.timedelta(seconds=600)


def test_a_token_is_asked_for_with_a_json_body_as_well(client, partner):
    response = client.post(API + "getToken", {"org": "DIDI", "secret": partner.secret}, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (200, 0)


@pytest.mark.parametrize(
    ("org", "secret_of", "reason", "known"),
    [
        ("DIDI", lambda partner: partner.secret + "x", AuthFailureReason.WRONG_SECRET, True),
        ("NOBODY", lambda partner: partner.secret, AuthFailureReason.UNKNOWN_ORG, False),
    ],
    ids=["wrong secret", "unknown org"],
)
def test_a_wrong_secret_or_an_unknown_org_is_refused_alike_and_logged_with_its_reason(
    client, partner, org, secret_of, reason, known
):
    status, answer = get_token(client, org=org, secret=secret_of(partner))

    # Then the partner reads one refusal for both (which of the two is not told)
    assert (status, answer) == (200, {"code": 2004, "msg": "org 或 secret 错误", "data": None})
    assert PartnerToken.objects.count() == 0
    # And we know which it was, where it came from and who said they were asking
    assert failures() == [(reason, org, "DIDI" if known else None, "getToken", "127.0.0.1", AGENT)]


def test_a_partner_with_no_secret_issued_yet_is_refused_and_logged(client):
    without_access = PartnerFactory(org_code="T3")
    partner_access_get(partner=PartnerFactory(org_code="CAOCAO"))  # an access, but no secret issued

    answers = [get_token(client, org=org, secret="s" * 32)[1]["code"] for org in ("T3", "CAOCAO")]

    assert answers == [2004, 2004]
    assert failures() == [
        (AuthFailureReason.NO_SECRET, "T3", "T3", "getToken", "127.0.0.1", AGENT),
        (AuthFailureReason.NO_SECRET, "CAOCAO", "CAOCAO", "getToken", "127.0.0.1", AGENT),
    ]
    assert without_access.tokens.count() == 0


def test_a_disabled_partner_gets_no_token_even_with_its_secret(client, partner):
    partner.enabled = False
    partner.save()

    _status, answer = get_token(client, org="DIDI", secret=partner.secret)

    assert answer == {"code": 2005, "msg": "合作商已停用，请联系运营商", "data": None}
    assert PartnerToken.objects.count() == 0
    assert failures() == [(AuthFailureReason.DISABLED, "DIDI", "DIDI", "getToken", "127.0.0.1", AGENT)]


def test_a_missing_org_or_secret_is_named(client, partner):
    assert get_token(client, secret=partner.secret)[1] == {"code": 1001, "msg": "缺少参数 org", "data": None}
    assert get_token(client, org="DIDI")[1] == {"code": 1001, "msg": "缺少参数 secret", "data": None}


def test_a_new_secret_with_no_overlap_makes_the_old_one_fail_logged_as_the_previous_secret(client, partner):
    old = partner.secret

    # A secret that leaked: rotated with an overlap that ends at once (tests/integrations/partnerkit/test_rotation.py
    # has the overlap itself)
    new = partner_secret_issue(partner=partner, valid_until=timezone.now())

    assert get_token(client, org="DIDI", secret=old)[1]["code"] == 2004
    assert get_token(client, org="DIDI", secret=new)[1]["code"] == 0
    assert [reason for reason, *_rest in failures()] == [AuthFailureReason.PREVIOUS_SECRET_EXPIRED]


def test_an_older_token_stays_valid_after_a_new_one_is_issued(client, partner, token):
    _status, answer = get_token(client, org="DIDI", secret=partner.secret)
    newer = answer["data"]["token"]

    assert newer != token
    assert call(client, "syncStubGroupInfo", token=token, cityCode="440300")[1]["code"] == 0
    assert call(client, "syncStubGroupInfo", token=newer, cityCode="440300")[1]["code"] == 0
    assert PartnerToken.objects.filter(partner=partner).count() == 2


# --- the token of every other interface -----------------------------------------------------------------------


def test_a_call_without_a_token_is_refused_and_logged(client, partner):
    status, answer = call(client, "syncStubGroupInfo", cityCode="440300")

    assert (status, answer) == (200, {"code": 2001, "msg": "缺少 token，请先调用 getToken 获取", "data": None})
    assert failures() == [(AuthFailureReason.NO_TOKEN, "", None, "syncStubGroupInfo", "127.0.0.1", "")]


def test_an_unknown_token_is_refused_and_logged(client, partner):
    _status, answer = call(client, "getOrderInfo", token="not-a-token-of-ours", orderId="20261202103000000001")

    assert answer == {"code": 2002, "msg": "token 无效，请调用 getToken 重新获取", "data": None}
    assert failures() == [(AuthFailureReason.UNKNOWN_TOKEN, "", None, "getOrderInfo", "127.0.0.1", "")]


def test_an_expired_token_is_refused_and_logged_with_its_partner(client, partner, token):
    # Given the token's two hours have just run out
    PartnerToken.objects.filter(partner=partner).update(expires_at=timezone.now())

    _status, answer = call(client, "syncStubInfo", token=token, stubGroupId="SZ001")

    assert answer == {"code": 2003, "msg": "token 已过期，请调用 getToken 重新获取", "data": None}
    assert failures() == [(AuthFailureReason.EXPIRED_TOKEN, "DIDI", "DIDI", "syncStubInfo", "127.0.0.1", "")]


def test_a_token_one_second_before_it_expires_still_opens(client, partner, token):
    PartnerToken.objects.filter(partner=partner).update(expires_at=timezone.now() + dt.timedelta(seconds=5))

    assert call(client, "syncStubGroupInfo", token=token, cityCode="440300")[1]["code"] == 0
    assert failures() == []


def test_the_token_of_a_partner_disabled_since_it_was_issued_is_refused(client, partner, token):
    partner.enabled = False
    partner.save()

    _status, answer = call(client, "syncStubGroupInfo", token=token, cityCode="440300")

    assert answer["code"] == 2005
    assert failures() == [(AuthFailureReason.DISABLED, "DIDI", "DIDI", "syncStubGroupInfo", "127.0.0.1", "")]


def test_a_token_issued_in_the_service_is_the_same_as_one_from_the_interface(client, partner):
    issued = partner_token_issue(org="DIDI", secret=partner.secret, caller=Caller("admin"))

    assert call(client, "syncStubGroupInfo", token=issued.token, cityCode="440300")[1]["code"] == 0


# --- the method, checked before the token ----------------------------------------------------------------------


def test_get_token_by_get_is_refused_as_a_wrong_method(client, partner):
    status, answer = call(client, "getToken", org="DIDI", secret=partner.secret)

    assert (status, answer) == (405, {"code": 1004, "msg": "不支持的请求方法 GET，getToken 只接受 POST", "data": None})
    assert PartnerToken.objects.count() == 0


def test_a_post_to_a_get_interface_is_refused_as_a_wrong_method_before_the_token_is_read(client, partner):
    response = client.post(API + "syncStubInfo", {"stubGroupId": "SZ001"})

    assert (response.status_code, response.json()) == (
        405, {"code": 1004, "msg": "不支持的请求方法 POST，syncStubInfo 只接受 GET", "data": None})
    assert response["Allow"] == "GET"
    # No token was asked for: nothing is logged as a failed attempt to get in
    assert failures() == []


# --- an address that keeps failing ------------------------------------------------------------------------------


def test_an_address_that_keeps_failing_is_answered_as_throttled_and_no_longer_logged_yet_good_credentials_pass(
    client, partner, token, settings
):
    settings.PARTNER_RATES = {"authFailures": "3/m"}

    # Given an address that failed three times (its budget)
    codes = [call(client, "syncStubGroupInfo", token=f"guess-{n}", cityCode="440300")[1]["code"] for n in range(3)]
    assert codes == [2002, 2002, 2002]

    # When it fails again, by token and by secret
    guess = client.get(API + "syncStubGroupInfo", {"token": "guess-4", "cityCode": "440300"})
    wrong_secret = client.post(API + "getToken", {"org": "DIDI", "secret": "x" * 43})

    # Then it is answered as throttled, and nothing more is written to the log
    assert (guess.status_code, guess.json()["code"]) == (429, 4290)
    assert 1 <= int(guess["Retry-After"]) <= 60
    assert guess.json()["msg"] == f"请求过于频繁：认证失败 每分钟至多 3 次，请 {guess['Retry-After']} 秒后再试"
    assert wrong_secret.json()["code"] == 4290
    assert PartnerAuthFailure.objects.count() == 3
    # But the partner's own token and secret still open, from that address too (a partner behind a shared
    # address is never locked out by someone else's guesses)
    assert call(client, "syncStubGroupInfo", token=token, cityCode="440300")[1]["code"] == 0
    assert client.post(API + "getToken", {"org": "DIDI", "secret": partner.secret}).json()["code"] == 0


def test_a_token_that_expired_costs_nothing_of_the_addresss_budget(client, partner, token, settings):
    settings.PARTNER_RATES = {"authFailures": "3/m"}
    PartnerToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    # A partner polling fast when its token expires gets 2003 each time, never throttled
    codes = [call(client, "getOrderInfo", token=token, orderId="1")[1]["code"] for _ in range(10)]

    assert codes == [2003] * 10
    assert PartnerAuthFailure.objects.filter(reason=AuthFailureReason.EXPIRED_TOKEN).count() == 10


def test_a_body_nested_too_deep_is_refused_as_invalid_not_a_server_error(client, partner):
    response = client.post(API + "getToken", data="[" * 5000 + "]" * 5000, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (200, 1002)


def test_the_interface_root_and_a_path_with_a_slash_are_answered_in_the_envelope(client):
    assert client.get(API).json() == {"code": 1005, "msg": "接口不存在：", "data": None}
    assert client.get(API + "syncStubInfo/").json()["code"] == 1005


def test_revoked_tokens_open_nothing_and_a_new_one_is_asked_for_with_the_secret(client, partner, token):
    from integrations.partnerkit.access import partner_tokens_revoke

    assert partner_tokens_revoke(partner=partner) == 1

    assert call(client, "syncStubGroupInfo", token=token, cityCode="440300")[1]["code"] == 2002
    assert get_token(client, org="DIDI", secret=partner.secret)[1]["code"] == 0
