"""The admin toolkit every app's admin imports, so that no app's admin imports another's.

- `tables`: read-only admins of vendor-written rows, lists that stay fast on tables of millions of rows;
- `display`: links in translated messages, times to the second, bodies shown readably;
- `history`: each object's history page (who changed which field from what to what), read-only;
- `actions`: running an operator's request over the selected rows, with one message per outcome;
- `parameters`: bad parameters in an admin address answered with a message or an empty result, never a
  server error, on every ModelAdmin of the site (`GuardedAdminSite`, the default admin site).
"""

from .actions import (
    BACKGROUND_LIMIT,
    VENDOR_ACTION_LIMIT,
    Operation,
    operation_run,
    operation_run_selected,
    selection_in_background,
    too_many_selected,
)
from .display import admin_link, html_message, listed, local_time, pre, pretty_json, pretty_text, short_error
from .history import HistoryAdminMixin
from .paginators import LargeTablePaginator
from .parameters import GuardedAdminSite, GuardedParametersAdminMixin
from .tables import (
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    RowActionsAdminMixin,
    SuperusersOnlyAdminMixin,
    is_superuser,
    recent_values_filter,
    with_probed_dates,
)

__all__ = [
    "BACKGROUND_LIMIT",
    "VENDOR_ACTION_LIMIT",
    "GuardedAdminSite",
    "GuardedParametersAdminMixin",
    "HistoryAdminMixin",
    "LargeTableAdminMixin",
    "LargeTablePaginator",
    "Operation",
    "ReadOnlyAdminMixin",
    "RowActionsAdminMixin",
    "SuperusersOnlyAdminMixin",
    "admin_link",
    "html_message",
    "is_superuser",
    "listed",
    "local_time",
    "operation_run",
    "operation_run_selected",
    "pre",
    "pretty_json",
    "pretty_text",
    "recent_values_filter",
    "selection_in_background",
    "short_error",
    "too_many_selected",
    "with_probed_dates",
]
