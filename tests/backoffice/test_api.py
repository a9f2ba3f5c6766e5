"""The API answers a refusal in the operator's words: a rule's with 400, a vendor's with 409, no answer with 504.

Each case goes through a real DRF view configured by the project's settings; DRF's own errors keep DRF's answers.
"""

import json

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from rest_framework import exceptions as drf_exceptions
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from backoffice.errors import DomainError, OutcomeUnknown
from chargers.vendor import VendorError, VendorUnavailable
from tariffs.renderings import TariffRenderError


class Refusing(APIView):
    """Calls a service that refuses with `error`."""

    error = None

    def post(self, request):
        raise self.error


def answer(error):
    """POST to a view that raises `error`: (status, JSON body)."""
    with translation.override("en"):
        response = Refusing.as_view(error=error)(APIRequestFactory().post("/stations/push", {}, format="json"))
        response.render()
    return response.status_code, json.loads(response.content)


# --- a rule's refusal: 400 ---------------------------------------------------------------------------------


def test_a_rule_refusal_without_fields_is_a_bad_request_with_its_messages_as_the_detail():
    assert answer(ValidationError("The station has no chargers.")) == (
        400,
        {"detail": ["The station has no chargers."]},
    )


def test_a_rule_refusal_of_several_messages_lists_them_all_with_parameters_filled_in():
    error = ValidationError([
        ValidationError("%(key)s was already delivered.", params={"key": "order-7-settled"}),
        ValidationError("It is not sent again."),
    ])

    assert answer(error) == (400, {"detail": ["order-7-settled was already delivered.", "It is not sent again."]})


def test_a_rule_refusal_naming_fields_answers_field_by_field_and_the_rest_as_the_detail():
    error = ValidationError(
        {"tariff_template": ["Pick a template."], NON_FIELD_ERRORS: ["The template is not published."]}
    )

    status, body = answer(error)

    assert status == 400
    assert body == {"tariff_template": ["Pick a template."], "detail": ["The template is not published."]}


# --- a domain error: 409, or 504 without an answer ---------------------------------------------------------


def test_a_vendors_refusal_is_a_conflict_with_its_code_and_message():
    error = VendorError("汤姆达云：充电桩不存在（错误码 2003）", vendor="tomda", code="2003")

    assert answer(error) == (409, {"detail": "[2003] 汤姆达云：充电桩不存在（错误码 2003）", "code": "2003"})


def test_our_own_domain_error_without_a_code_is_a_conflict_with_an_empty_code():
    assert answer(DomainError("The charger awaits a station.")) == (
        409,
        {"detail": "The charger awaits a station.", "code": ""},
    )


def test_a_tariff_a_vendor_cannot_express_is_a_conflict_in_its_words():
    error = TariffRenderError("%(row)s cannot be priced in whole fen.", row="Peak 08:00-12:00")

    assert answer(error) == (409, {"detail": "Peak 08:00-12:00 cannot be priced in whole fen.", "code": ""})


@pytest.mark.parametrize(
    "error",
    [
        VendorUnavailable("Read timed out.", vendor="tomda", code="timeout"),
        OutcomeUnknown("Read timed out.", code="timeout"),
    ],
    ids=["vendor-unavailable", "outcome-unknown"],
)
def test_a_request_without_an_answer_is_a_gateway_timeout_saying_what_failed_not_what_to_do(error):
    status, body = answer(error)

    # Then the caller reads the vendor's failure itself, not the admin's advice to send again
    assert status == 504
    assert body == {"detail": "[timeout] Read timed out.", "code": "timeout"}


# --- everything else keeps DRF's answer --------------------------------------------------------------------


def test_drfs_not_found_keeps_drfs_answer():
    with translation.override("en"):  # DRF words its default detail when the error is made
        not_found = drf_exceptions.NotFound()

    assert answer(not_found) == (404, {"detail": "Not found."})
    assert answer(drf_exceptions.NotFound("No such station.")) == (404, {"detail": "No such station."})


def test_drfs_own_validation_error_keeps_drfs_answer():
    error = drf_exceptions.ValidationError({"serial": ["This field is required."]})

    assert answer(error) == (400, {"serial": ["This field is required."]})


def test_a_programming_error_is_not_answered_but_raised():
    with pytest.raises(RuntimeError, match="boom"):
        answer(RuntimeError("boom"))
