"""Refusals in the operator's words: a rule's messages, a vendor's code and message, an unanswered request."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation

from backoffice.errors import (
    REFUSALS,
    DomainError,
    OutcomeUnknown,
    error_message,
    no_answer_message,
    unknown_outcome_message,
)
from chargers.vendor import VendorError, VendorNotConfigured, VendorOperationNotSupported, VendorUnavailable
from tariffs.renderings import TariffRenderError


@pytest.fixture(autouse=True)
def english():
    # The messages are compared in the source language; the zh-hans catalogue translates them.
    with translation.override("en"):
        yield


# --- a rule's refusal --------------------------------------------------------------------------------


def test_a_rule_refusal_of_one_message_is_that_message():
    assert error_message(ValidationError("The station has no chargers.")) == "The station has no chargers."


def test_a_rule_refusal_of_several_messages_joins_them_with_spaces():
    error = ValidationError(["The tariff overlaps another.", "Its end is before its start."])

    assert error_message(error) == "The tariff overlaps another. Its end is before its start."


def test_a_rule_refusal_naming_fields_gives_every_fields_messages():
    error = ValidationError({"tariff_template": ["Pick a template."], NON_FIELD_ERRORS: ["Not published."]})

    assert error_message(error) == "Pick a template. Not published."


def test_a_rule_refusal_fills_in_its_parameters():
    error = ValidationError("%(key)s was already delivered.", code="delivered", params={"key": "order-7-settled"})

    assert error_message(error) == "order-7-settled was already delivered."


# --- a domain error ------------------------------------------------------------------------------------


def test_a_domain_error_with_a_code_reads_as_the_code_in_brackets_then_the_message():
    error = DomainError("Charger busy.", code="E42")

    assert str(error) == "[E42] Charger busy."
    assert error_message(error) == "[E42] Charger busy."
    assert (error.message, error.code) == ("Charger busy.", "E42")


def test_a_domain_error_without_a_code_is_its_message_alone():
    assert error_message(DomainError("Charger busy.")) == "Charger busy."


def test_a_vendor_error_shows_the_vendors_code_and_keeps_which_vendor_said_it():
    error = VendorError("汤姆达云：充电桩不存在（错误码 2003）", vendor="tomda", code="2003")

    assert str(error) == "[2003] 汤姆达云：充电桩不存在（错误码 2003）"
    assert error_message(error) == "[2003] 汤姆达云：充电桩不存在（错误码 2003）"
    assert error.vendor == "tomda"


def test_a_vendor_that_cannot_do_an_operation_is_a_refusal_not_an_unknown_outcome():
    error = VendorOperationNotSupported("acme does not support charger_reboot.", vendor="acme")

    assert not isinstance(error, OutcomeUnknown)
    assert error_message(error, unknown=lambda _error: "never used") == "acme does not support charger_reboot."


def test_a_tariff_a_vendor_cannot_express_is_a_domain_error_in_its_own_words():
    error = TariffRenderError("%(row)s cannot be priced in whole fen.", row="Peak 08:00-12:00")

    assert isinstance(error, DomainError)
    assert error_message(error) == "Peak 08:00-12:00 cannot be priced in whole fen."


# --- a request without an answer -------------------------------------------------------------------------


def test_an_unreachable_vendor_is_an_unknown_outcome_and_a_vendor_error():
    error = VendorUnavailable("Read timed out.", vendor="tomda", code="timeout")

    assert isinstance(error, OutcomeUnknown)
    assert isinstance(error, VendorError)
    assert isinstance(error, DomainError)
    assert not isinstance(VendorNotConfigured("No adapter."), OutcomeUnknown)


def test_an_unknown_outcome_is_told_by_default_as_safe_to_send_again():
    error = VendorUnavailable("Read timed out.", code="timeout")

    assert error_message(error) == (
        "The vendor did not answer, so whether it received this is unknown ([timeout] Read timed out.). "
        "Sending it again is safe."
    )
    assert error_message(error) == unknown_outcome_message(error)


def test_an_unknown_outcome_is_told_in_the_words_the_caller_gives_for_its_request():
    error = OutcomeUnknown("Read timed out.")
    told = []

    message = error_message(error, unknown=lambda unanswered: told.append(unanswered) or "Ask the vendor.")

    assert message == "Ask the vendor."
    assert told == [error]


def test_a_question_without_an_answer_says_nothing_changed_and_to_try_later():
    error = VendorUnavailable("Read timed out.")

    message = error_message(error, unknown=no_answer_message)

    assert message == "The vendor did not answer (Read timed out.). Try again later."


def test_the_messages_are_translated_into_the_active_language():
    error = VendorUnavailable("Read timed out.")

    with translation.override("zh-hans"):
        message = no_answer_message(error)

    assert message == "厂商没有应答（Read timed out.）。请稍后再试。"


# --- what the admin and the API catch --------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ValidationError("No."),
        DomainError("No."),
        VendorError("No.", code="1"),
        VendorUnavailable("No answer."),
        TariffRenderError("No."),
    ],
    ids=["rule", "domain", "vendor", "unanswered", "tariff"],
)
def test_refusals_catch_rules_and_domain_errors(error):
    with pytest.raises(REFUSALS):
        raise error


def test_refusals_do_not_catch_a_programming_error():
    assert not isinstance(RuntimeError("boom"), REFUSALS)
    assert not isinstance(KeyError("serial"), REFUSALS)
