"""Rotating a partner's secret, as the partner sees it over /api/partner/v1/: during the overlap getToken takes both
secrets, tokens already issued keep working, and after the overlap (or once retired) the old secret is refused as
any wrong secret is, while the failure log says it was the previous one."""

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from integrations.partner.simulator import PartnerClient
from integrations.partnerkit.access import digest, partner_secret_issue, partner_secret_previous_retire
from integrations.partnerkit.models import AuthFailureReason, PartnerAccess, PartnerAuthFailure, PartnerToken
from tests.integrations.partner.conftest import API, CITY, call

WRONG = {"code": 2004, "msg": "org 或 secret 错误", "data": None}


def get_token(client, secret, org="DIDI"):
    response = client.post(API + "getToken", {"org": org, "secret": secret})
    return json.loads(response.content, parse_float=Decimal)


def opens(client, token):
    return call(client, "syncStubGroupInfo", token=token, cityCode=CITY)[1]["code"] == 0


def failures():
    return list(PartnerAuthFailure.objects.order_by("id").values_list("reason", "partner__org_code", "interface"))


@pytest.mark.django_db
def test_during_the_overlap_both_secrets_get_tokens_and_a_token_from_before_keeps_working(client, partner, token):
    # Given the operator rotated the partner's secret after the partner got a token
    old = partner.secret
    new = partner_secret_issue(partner=partner)

    # When one of the partner's servers asks with the old secret and another with the new one
    by_old = get_token(client, old)
    by_new = get_token(client, new)

    # Then both get a token, each recorded with the secret that got it
    assert (by_old["code"], by_new["code"]) == (0, 0)
    got_with_previous = {answer["data"]["token"]: PartnerToken.objects.get(
        token_hash=digest(answer["data"]["token"])).by_previous_secret for answer in (by_old, by_new)}
    assert got_with_previous == {by_old["data"]["token"]: True, by_new["data"]["token"]: False}
    access = PartnerAccess.objects.get(partner=partner)
    assert access.secret_last_used_at and access.previous_secret_last_used_at
    # And every token opens, the one got before the rotation too
    assert all(opens(client, each) for each in (token, by_old["data"]["token"], by_new["data"]["token"]))
    assert failures() == []


@pytest.mark.django_db
def test_after_the_overlap_the_old_secret_is_answered_as_a_wrong_one_and_logged_as_the_previous_secret(
    client, partner, token
):
    old = partner.secret
    new = partner_secret_issue(partner=partner)
    # Given the overlap ran out a moment ago
    PartnerAccess.objects.filter(partner=partner).update(previous_secret_valid_until=timezone.now())

    refused = get_token(client, old)
    guessed = get_token(client, "a-secret-nobody-was-given")

    # Then the partner reads the refusal of any wrong secret, no more
    assert refused == guessed == WRONG
    # But the log tells the operator it was a server still holding the previous secret
    assert failures() == [(AuthFailureReason.PREVIOUS_SECRET_EXPIRED, "DIDI", "getToken"),
                          (AuthFailureReason.WRONG_SECRET, "DIDI", "getToken")]
    # And the new secret works, and so does the token got before the rotation
    assert get_token(client, new)["code"] == 0
    assert opens(client, token)


@pytest.mark.django_db
def test_retiring_ends_the_old_secret_at_once_and_a_third_secret_replaces_the_previous(client, partner):
    first = partner.secret
    second = partner_secret_issue(partner=partner)
    assert get_token(client, first)["code"] == 0

    partner_secret_previous_retire(partner=partner)

    assert get_token(client, first) == WRONG
    assert get_token(client, second)["code"] == 0

    # When the secret is rotated again, the second becomes the previous one; the first is a stranger by now
    third = partner_secret_issue(partner=partner)

    assert [get_token(client, secret)["code"] for secret in (first, second, third)] == [2004, 0, 0]
    assert [reason for reason, *_rest in failures()] == [AuthFailureReason.PREVIOUS_SECRET_EXPIRED,
                                                        AuthFailureReason.WRONG_SECRET]


@pytest.mark.django_db
def test_two_servers_of_one_partner_each_keep_their_token_through_refreshes_and_a_rotation(partner):
    # Given two servers behind one org code, from two addresses
    one, two = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    token_one = get_token(one, partner.secret)["data"]["token"]
    token_two = get_token(two, partner.secret)["data"]["token"]

    # When server two refreshes, the secret is rotated, and server two switches to the new one
    refreshed_two = get_token(two, partner.secret)["data"]["token"]
    new = partner_secret_issue(partner=partner)
    switched_two = get_token(two, new)["data"]["token"]

    # Then server one's token, got first, still opens, and so does every token of server two
    assert all(opens(one, token_one) for _ in range(2))
    assert all(opens(two, each) for each in (token_two, refreshed_two, switched_two))
    assert sorted(PartnerToken.objects.values_list("remote_addr", flat=True)) == ["10.0.0.1"] + ["10.0.0.2"] * 3


@pytest.mark.django_db(transaction=True)
def test_over_the_live_server_a_partner_switching_server_by_server_never_fails(live_server, partner):
    # Given two partner servers, each with its token, over real HTTP
    servers = [PartnerClient(live_server.url, partner.org_code, partner.secret, timeout=(3.05, 30.0))
               for _ in range(2)]
    for server in servers:
        server.stations(CITY)
    assert [server.tokens_fetched for server in servers] == [1, 1]

    # When the operator rotates the secret and the partner deploys it to server two only
    servers[1].secret = partner_secret_issue(partner=partner)
    servers[1].forget_token()

    # Then both servers keep answering: one with its token from before, two with a token from the new secret
    for server in servers:
        assert server.call("syncStubGroupInfo", cityCode=CITY)["code"] == 0
    # And server one never had to ask again, yet could: its old secret still gets a token during the overlap
    assert servers[0].tokens_fetched == 1
    assert servers[0].call("getToken")["code"] == 0
    access = PartnerAccess.objects.get(partner=partner)
    assert access.secret_last_used_at is not None and access.previous_secret_last_used_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="proves row locks across connections")
def test_many_servers_asking_at_once_with_either_secret_all_get_tokens_that_open(live_server, partner):
    old = partner.secret
    new = partner_secret_issue(partner=partner)
    copies = 12
    gate = threading.Barrier(copies)

    def ask(number):
        gate.wait(timeout=30)
        try:
            response = requests.post(f"{live_server.url}{API}getToken",
                                     data={"org": "DIDI", "secret": old if number % 2 else new}, timeout=60)
            return response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=copies) as pool:
        answers = list(pool.map(ask, range(copies)))

    assert [answer["code"] for answer in answers] == [0] * copies, answers
    tokens = {answer["data"]["token"] for answer in answers}
    assert len(tokens) == copies
    rows = list(PartnerToken.objects.filter(partner=partner).values_list("by_previous_secret", flat=True))
    assert sorted(rows) == [False] * (copies // 2) + [True] * (copies // 2)
    for token in tokens:
        answer = requests.get(f"{live_server.url}{API}syncStubGroupInfo", params={"token": token, "cityCode": CITY},
                              timeout=30).json()
        assert answer["code"] == 0
    assert PartnerAuthFailure.objects.count() == 0


@pytest.mark.django_db
def test_the_shell_command_rotates_too_and_says_until_when_the_old_secret_works(client, partner):
    out = StringIO()

    call_command("partner_access", org="DIDI", new_secret=True, stdout=out)

    new = re.search(r"New secret \(shown once, not kept\): (\S+)", out.getvalue()).group(1)
    assert f"The secret before it (ending with {partner.secret[-4:]}) works until" in out.getvalue()
    assert get_token(client, partner.secret)["code"] == 0
    assert get_token(client, new)["code"] == 0


@pytest.mark.django_db
def test_the_shell_command_giving_the_secret_in_use_again_rotates_nothing(partner):
    out = StringIO()
    call_command("partner_access", org="DIDI", secret="demo-partner-secret", stdout=StringIO())

    call_command("partner_access", org="DIDI", secret="demo-partner-secret", stdout=out)

    assert "works until" in out.getvalue()  # the rotation of the first call, still in its overlap
    access = PartnerAccess.objects.get(partner=partner)
    assert access.previous_secret_hint == partner.secret[-4:]  # not demo-partner-secret's own
