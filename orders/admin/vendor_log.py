"""An order's page asks the vendor's cloud for its own log of the session: what it sent us, and what we answered."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext

from backoffice.adminkit import local_time, pretty_json, pretty_text
from backoffice.errors import REFUSALS, error_message, no_answer_message
from orders.models import Order
from orders.services import order_vendor_history


def _value(value):
    """A field's value as the vendor sent it: structures indented, text as it came."""
    if isinstance(value, dict | list | tuple):
        return pretty_json(value)
    return "" if value is None else str(value)


def order_vendor_log_view(model_admin, request, pk):
    """The vendor's log of the session, entry by entry; a vendor that cannot tell, or does not answer, is said so."""
    order = get_object_or_404(Order.objects.select_related("charger", "connector"), pk=pk)
    if not model_admin.has_view_permission(request, order):
        raise PermissionDenied
    entries, refusal = [], None
    try:
        news = order_vendor_history(order=order)
    except REFUSALS as error:
        # A question: an unanswered one changed nothing.
        refusal = error_message(error, unknown=no_answer_message)
    else:
        entries = [
            {
                "kind": item.kind,
                "at": local_time(item.at),
                "fields": [(name, _value(value)) for name, value in item.fields.items()],
                "answer": pretty_text(item.answer),
            }
            for item in news
        ]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("The vendor's log of this session"),
        "subtitle": order.order_no,
        "order": order,
        "entries": entries,
        "refusal": refusal,
    }
    return TemplateResponse(request, "admin/orders/order/vendor_log.html", context)
