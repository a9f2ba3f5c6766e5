"""Domain errors as API answers: DRF's exception handler, extended to our refusals.

A view calls a service and lets its refusal propagate; this handler answers it in the same words an
operator reads in the admin (`backoffice.errors.error_message`):

- a rule's `ValidationError`: 400, `{"field": ["message", ...]}` when the rule named fields, else
  `{"detail": ["message", ...]}`;
- a request to a vendor that got no answer (`OutcomeUnknown`): 504, `{"detail": ..., "code": ...}`, the
  detail saying what failed (whether to ask again is the interface's to document);
- any other `DomainError` (a vendor's refusal, a tariff a vendor cannot express): 409, the same shape.

A counterparty whose protocol has its own envelope (the partner interface) wraps these in it. Nothing
is rolled back here: a service that refuses has already recorded what its refusal leaves behind (a
start that failed, a tariff not sent), in transactions of its own.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backoffice.errors import DomainError, OutcomeUnknown, error_message


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            data = {("detail" if name == NON_FIELD_ERRORS else name): messages
                    for name, messages in exc.message_dict.items()}
        else:
            data = {"detail": exc.messages}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        code = status.HTTP_504_GATEWAY_TIMEOUT if isinstance(exc, OutcomeUnknown) else status.HTTP_409_CONFLICT
        # No answer is not a refusal: the caller is told what the vendor said, not what to do about it.
        return Response({"detail": error_message(exc, unknown=str), "code": exc.code}, status=code)
    return drf_exception_handler(exc, context)
