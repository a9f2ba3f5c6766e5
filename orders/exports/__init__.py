"""Finance's exports of business days: every order's row (CSV or XLSX) and the daily summaries by station,
partner and vendor.

- `rows`: the columns, defined once as a queryset of final text (`export_rows`), and the summaries;
- `expressions`: the SQL pieces that row definition is made of (exact yuan and kWh, Beijing times, labels,
  outside text made safe for spreadsheets), on PostgreSQL and SQLite;
- `writers`: CSV by PostgreSQL's COPY or Python's csv module, XLSX by XlsxWriter in constant-memory mode;
- `services`: an export requested, run by a task, downloaded; small exports answered to the browser.
"""

from .rows import DIMENSIONS, ORDER_COLUMNS, export_headers, export_rows, export_summary_rows
from .services import (
    MAX_DAYS,
    export_days_check,
    export_file_response,
    export_filename,
    export_inline_fits,
    export_request,
    export_response,
    export_run,
    orders_export_response,
)

__all__ = [
    "DIMENSIONS",
    "MAX_DAYS",
    "ORDER_COLUMNS",
    "export_days_check",
    "export_file_response",
    "export_filename",
    "export_headers",
    "export_inline_fits",
    "export_request",
    "export_response",
    "export_rows",
    "export_run",
    "export_summary_rows",
    "orders_export_response",
]
