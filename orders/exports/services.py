"""Exports of business days: requested by finance, written by a task, kept for download; and small exports
answered straight to the browser."""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from orders.models import Export, ExportFormat, ExportKind, ExportState, Order
from orders.selectors import orders_of_days

from .rows import DIMENSIONS, export_headers, export_rows, export_summary_rows
from .writers import (
    PROGRESS_EVERY,
    csv_chunks,
    csv_file_write,
    csv_write,
    row_tuples,
    summary_csv_chunks,
    xlsx_write_orders,
    xlsx_write_summaries,
)

logger = logging.getLogger(__name__)

# The most business days one export covers: a month, what accounting closes at once.
MAX_DAYS = 31
EXPORT_TASK = "orders.tasks.export_run"

CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_days_check(*, day_from: date, day_to: date) -> None:
    """Refuse a range of business days that ends before it starts or is longer than MAX_DAYS."""
    if day_to < day_from:
        raise ValidationError(_("The last day must not be before the first."), code="days_reversed")
    if (day_to - day_from).days + 1 > MAX_DAYS:
        raise ValidationError(_("An export covers at most %(days)d days.") % {"days": MAX_DAYS}, code="too_many_days")


def export_filename(*, kind: str, format: str, day_from: date, day_to: date) -> str:  # noqa: A002
    """The file's name: orders-2026-11-30.csv, summary-2026-11-01-2026-11-30.xlsx."""
    days = day_from.isoformat() if day_from == day_to else f"{day_from.isoformat()}-{day_to.isoformat()}"
    return f"{kind}-{days}.{format}"


def export_request(*, kind: str, format: str, day_from: date, day_to: date, user) -> Export:  # noqa: A002
    """Queue an export of business days [day_from, day_to]; the task `orders.tasks.export_run` writes it once
    the request is committed."""
    if kind not in ExportKind.values:
        raise ValidationError(_("Unknown kind of export: %(kind)s.") % {"kind": kind}, code="kind")
    if format not in ExportFormat.values:
        raise ValidationError(_("Unknown export format: %(format)s.") % {"format": format}, code="format")
    export_days_check(day_from=day_from, day_to=day_to)
    with transaction.atomic():
        export = Export.objects.create(kind=kind, format=format, day_from=day_from, day_to=day_to,
                                       requested_by=user, requested_at=timezone.now())
        export_id = export.pk
        transaction.on_commit(lambda: async_task(EXPORT_TASK, export_id))
    return export


class _ProgressReport:
    """Writes an export's rows_done as the writer goes on, visible to others at once.

    On PostgreSQL through a connection of its own: the task's connection is busy with the COPY (or inside
    the transaction that keeps the XLSX rows' cursor), and a report on it would wait or stay invisible
    until the end. SQLite has one writer at a time, so there the report goes on the task's connection.
    """

    def __init__(self, export_id: int):
        self.export_id = export_id
        self.side = None
        if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, rows_done: int) -> None:
        if self.side is None:
            Export.objects.filter(pk=self.export_id).update(rows_done=rows_done)
            return
        quote = self.side.ops.quote_name
        with self.side.cursor() as cursor:
            cursor.execute(f"UPDATE {quote(Export._meta.db_table)} SET {quote('rows_done')} = %s "  # noqa: S608
                           f"WHERE {quote('id')} = %s", [rows_done, self.export_id])

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def _orders_write(*, orders: QuerySet[Order], format: str, out, progress=None,  # noqa: A002
                  days: tuple[date, date] | None = None) -> None:
    """Write the orders' export in `format` to the open binary file `out` (at its path for XLSX); `days` are
    the business days the orders are those of, if they are."""
    headers = export_headers()
    if format == ExportFormat.CSV:
        csv_file_write(orders=orders, days=days, headers=headers, out=out, progress=progress)
        return
    rows = export_rows(orders=orders, days=days)
    xlsx_write_orders(rows=row_tuples(rows=rows), path=out.name, sheet_name=_("Orders"), headers=headers,
                      progress=progress)


def _summaries(*, day_from: date, day_to: date):
    return [(dimension, export_summary_rows(day_from=day_from, day_to=day_to, dimension=dimension))
            for dimension in DIMENSIONS]


def _summaries_write(*, tables, format: str, out) -> None:  # noqa: A002
    if format == ExportFormat.CSV:
        csv_write(chunks=summary_csv_chunks(tables=tables), out=out)
    else:
        xlsx_write_summaries(tables=tables, path=out.name)


class _WrittenFile(File):
    """The finished temporary file, which a file-system storage moves into place instead of copying (a day's
    CSV is hundreds of megabytes); any other storage reads it."""

    def __init__(self, file, path):
        super().__init__(file, name=path)
        self.path = path

    def temporary_file_path(self):
        return self.path


def export_run(*, export_id: int) -> Export:
    """Write a queued export to default storage under its `file`, reporting progress in rows_done/rows_total.

    Runs once: an export that is no longer queued is left as it is. A failure leaves it failed with the
    error's text; the file of a done export is kept for download.
    """
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        if export.state != ExportState.QUEUED:
            logger.warning("export %s is %s, not queued: not run again", export_id, export.state)
            return export
        export.state = ExportState.RUNNING
        export.save(update_fields=["state"])
    report = _ProgressReport(export.pk)
    fd, path = tempfile.mkstemp(suffix=f".{export.format}", dir=settings.FILE_UPLOAD_TEMP_DIR)
    os.close(fd)
    try:
        # A task has no request: the export speaks the site's language.
        with translation.override(settings.LANGUAGE_CODE), open(path, "w+b") as out:
            if export.kind == ExportKind.ORDERS:
                orders = orders_of_days(day_from=export.day_from, day_to=export.day_to)
                export.rows_total = orders.count()
                export.save(update_fields=["rows_total"])
                _orders_write(orders=orders, format=export.format, out=out, progress=report,
                              days=(export.day_from, export.day_to))
            else:
                tables = _summaries(day_from=export.day_from, day_to=export.day_to)
                export.rows_total = sum(len(rows) for _dimension, rows in tables)
                export.save(update_fields=["rows_total"])
                _summaries_write(tables=tables, format=export.format, out=out)
            out.flush()
            out.seek(0)
            name = export_filename(kind=export.kind, format=export.format, day_from=export.day_from,
                                   day_to=export.day_to)
            export.file.save(name, _WrittenFile(out, path), save=False)
    except Exception as error:
        logger.exception("export %s failed", export_id)
        export.state = ExportState.FAILED
        export.error = f"{type(error).__name__}: {error}"
        export.finished_at = timezone.now()
        export.save(update_fields=["state", "error", "finished_at"])
        return export
    finally:
        report.close()
        if os.path.exists(path):  # not moved into storage
            os.remove(path)
    export.state = ExportState.DONE
    export.rows_done = export.rows_total
    export.finished_at = timezone.now()
    export.save(update_fields=["state", "rows_done", "file", "finished_at"])
    return export


def export_inline_fits(*, orders: QuerySet[Order]) -> bool:
    """Whether the orders are few enough to be exported while the browser waits (EXPORT_INLINE_MAX_ROWS);
    counts no further than one past the limit."""
    limit = settings.EXPORT_INLINE_MAX_ROWS
    return orders.order_by()[: limit + 1].count() <= limit


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def orders_export_response(*, orders: QuerySet[Order], format: str, filename: str,  # noqa: A002
                           days: tuple[date, date] | None = None) -> HttpResponse:
    """The orders' export answered to the browser as an attachment: CSV streamed as the database writes it,
    XLSX written to a temporary file first (a workbook is a zip, complete only at its end). For a few
    thousand rows; larger exports go through `export_request`. Headers and labels are in the active
    language."""
    if format == ExportFormat.CSV:
        chunks = csv_chunks(rows=export_rows(orders=orders, days=days), headers=export_headers())
        return _attachment(StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[format]), filename)
    out = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        _orders_write(orders=orders, format=format, out=out, days=days)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[format])


def export_response(*, kind: str, format: str, day_from: date, day_to: date) -> HttpResponse:  # noqa: A002
    """An export of business days [day_from, day_to] answered to the browser at once (see
    `export_inline_fits` for when that is wise)."""
    export_days_check(day_from=day_from, day_to=day_to)
    filename = export_filename(kind=kind, format=format, day_from=day_from, day_to=day_to)
    if kind == ExportKind.ORDERS:
        return orders_export_response(orders=orders_of_days(day_from=day_from, day_to=day_to), format=format,
                                      filename=filename, days=(day_from, day_to))
    tables = _summaries(day_from=day_from, day_to=day_to)
    if format == ExportFormat.CSV:
        return _attachment(StreamingHttpResponse(summary_csv_chunks(tables=tables),
                                                 content_type=CONTENT_TYPES[format]), filename)
    out = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        _summaries_write(tables=tables, format=format, out=out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[format])


def export_file_response(*, export: Export) -> FileResponse:
    """A done export's file as an attachment named after its kind and days."""
    if export.state != ExportState.DONE or not export.file:
        raise ValidationError(_("This export has no file to download."), code="no_file")
    filename = export_filename(kind=export.kind, format=export.format, day_from=export.day_from,
                               day_to=export.day_to)
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=filename,
                        content_type=CONTENT_TYPES.get(export.format, "application/octet-stream"))


__all__ = [
    "MAX_DAYS",
    "PROGRESS_EVERY",
    "export_days_check",
    "export_file_response",
    "export_filename",
    "export_inline_fits",
    "export_request",
    "export_response",
    "export_run",
    "orders_export_response",
]
