"""The one contract between an error and the person who reads it.

Our rules refuse with Django's `ValidationError`; everything else that refuses for a reason a person
should read (a vendor's answer, a tariff a vendor cannot express) is a `DomainError`. `error_message`
turns either into the operator's words, so the admin of every app and the API say it the same way.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext


class DomainError(Exception):
    """A refusal in words for a person; `code` is the code of whoever refused (a vendor's, or ours)."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self):
        return f"[{self.code}] {self.message}" if self.code else str(self.message)


class OutcomeUnknown(DomainError):
    """A request went out and no answer came back: whether it took effect is not known."""


def unknown_outcome_message(error: Exception) -> str:
    """What to tell when a request that is safe to send again got no answer."""
    return gettext(
        "The vendor did not answer, so whether it received this is unknown (%(error)s). Sending it again is safe."
    ) % {"error": error}


def no_answer_message(error: Exception) -> str:
    """What to tell when a question (a read) got no answer: nothing changed."""
    return gettext("The vendor did not answer (%(error)s). Try again later.") % {"error": error}


def error_message(error: Exception, *, unknown=unknown_outcome_message) -> str:
    """The operator's words for a refused request.

    A rule's refusal gives its messages, a request without an answer gives `unknown(error)` (which says
    what that means for this request), and any other domain error its code and message.
    """
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, OutcomeUnknown):
        return unknown(error)
    return str(error)


# What the admin and the API catch around a call into the domain.
REFUSALS = (ValidationError, DomainError)
