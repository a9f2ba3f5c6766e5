"""The files: CSV written by PostgreSQL itself (COPY) or by Python's csv module on SQLite, and XLSX written by
XlsxWriter in constant-memory mode, whose rows of prepared text go straight into its row file.

Both keep memory flat whatever the number of rows: CSV is written chunk by chunk as the database sends it,
XLSX one row at a time (XlsxWriter keeps only the current row; the workbook is assembled from its temporary
row file when it is closed). On PostgreSQL the XLSX rows come through COPY too (its text format), so the
database computes them while Python writes; a day's CSV file is copied in slices on several connections.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import logging
import operator
import re
import shutil
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from itertools import chain, islice

import xlsxwriter
import xlsxwriter.workbook
from django.conf import settings
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from tariffs.units import format_fen, format_wh

from .expressions import FORMULA_STARTS
from .rows import ORDER_COLUMNS, SUMMARY_HEADERS, Column, Dimension, Kind, SummaryRow, export_rows, export_sql

BOM = codecs.BOM_UTF8
# Bytes handed on at a time: a row of COPY's output is one message of about 300 bytes.
CHUNK_BYTES = 256 * 1024
# Rows fetched at a time from SQLite.
FETCH_ROWS = 10_000
# How often a writer reports its progress, in rows.
PROGRESS_EVERY = 5_000

Progress = Callable[[int], None]

logger = logging.getLogger(__name__)

# --- CSV ------------------------------------------------------------------------------------------------


def _csv_writer(buffer, *, vendor: str):
    # COPY ends its lines with \n. Python's csv module quotes a field holding a lone \r only when \r is
    # part of its line terminator, so on SQLite the lines end with the RFC's \r\n, which Excel writes too.
    return csv.writer(buffer, lineterminator="\n" if vendor == "postgresql" else "\r\n")


def csv_chunks(*, rows: QuerySet, headers: Sequence[str], progress: Progress | None = None,
               every: int | None = None) -> Iterator[bytes]:
    """The CSV of `rows` (an `export_rows` queryset) as byte chunks: a UTF-8 byte-order mark (so that Excel
    reads it as UTF-8), the header row, then the rows. `progress(rows_done)` is called every `every` rows.

    On PostgreSQL the database writes the rows (COPY ... TO STDOUT), and the connection is busy with the
    COPY until the last chunk: `progress` must not use it.
    """
    vendor = connections[rows.db].vendor
    every = every or PROGRESS_EVERY
    header = io.StringIO()
    _csv_writer(header, vendor=vendor).writerow(headers)
    yield BOM + header.getvalue().encode()
    if vendor == "postgresql":
        yield from _copy_chunks(rows, progress, every)
    else:
        yield from _csv_module_chunks(rows, vendor, progress, every)


# Planner settings for the export's one query, in its own transaction (SET LOCAL ends with it).
POSTGRES_SETTINGS = {
    # JIT compiling the row expressions costs more than it saves here (measured on a day's export).
    "jit": "off",
    # The planner prices each function of a row at next to nothing, so it never hands the export's rows to
    # parallel workers, where they take much less time; nothing in the query keeps them from it.
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
}


@contextmanager
def postgres_export_transaction(using: str):
    """A transaction for the export's query on PostgreSQL, with POSTGRES_SETTINGS for it alone."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for name, value in POSTGRES_SETTINGS.items():
            cursor.execute(f"SET LOCAL {name} = {value}")
        yield


def _copy_chunks(rows, progress, every):
    import psycopg  # PostgreSQL only

    connection = connections[rows.db]
    sql, params = export_sql(rows=rows)
    buffer = bytearray()
    done = 0
    with postgres_export_transaction(rows.db), connection.cursor() as cursor:
        # COPY takes no parameters: they are bound into the statement on our side (psycopg's client-side
        # binding, which quotes them), whatever binding Django's own cursors use.
        statement = psycopg.ClientCursor(connection.connection).mogrify(sql, params)
        with cursor.cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)") as copy:
            # The server sends one message per row, so the count of messages is the count of rows.
            for data in copy:
                buffer += data
                done += 1
                if len(buffer) >= CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
                if progress is not None and done % every == 0:
                    progress(done)
    if buffer:
        yield bytes(buffer)
    if progress is not None:
        progress(done)


# A day's CSV written to a file on PostgreSQL is copied in this many slices of its orders at once, each on a
# connection of its own: PostgreSQL then computes the rows on as many cores, and a slice's COPY keeps its
# own order, which parallel workers inside one query can only keep by merging their rows in one process.
COPY_SLICES = 2
# Fewer rows than this a slice are copied in one go: threads and connections would cost more than they save.
MIN_SLICE_ROWS = 50_000


def csv_file_write(*, orders: QuerySet, headers: Sequence[str], out, days=None, progress: Progress | None = None,
                   every: int | None = None, slices: int | None = None) -> int:
    """Write the CSV of the orders' export rows (`export_rows(orders=..., days=...)`) to the binary file
    `out`; the number of rows written.

    On PostgreSQL outside a transaction, the orders are cut by creation time into `slices` parts of about
    as many rows, COPYed at once from one snapshot (pg_export_snapshot, as pg_dump -j does): the first
    straight into `out`, the others into temporary files appended after it in order. Inside a transaction
    (whose own writes no other connection sees) and on SQLite, `csv_chunks` writes it in one go.
    """
    connection = connections[orders.db]
    slices = COPY_SLICES if slices is None else slices
    if connection.vendor != "postgresql" or connection.in_atomic_block or slices < 2:
        done = 0

        def counted(rows_done):
            nonlocal done
            done = rows_done
            if progress is not None:
                progress(rows_done)

        csv_write(chunks=csv_chunks(rows=export_rows(orders=orders, days=days), headers=headers,
                                    progress=counted, every=every), out=out)
        return done
    return _csv_sliced(orders=orders, headers=headers, out=out, days=days, progress=progress,
                       every=every or PROGRESS_EVERY, slices=slices)


def _csv_sliced(*, orders, headers, out, days, progress, every, slices):
    import psycopg  # PostgreSQL only

    connection = connections[orders.db]
    header = io.StringIO()
    _csv_writer(header, vendor="postgresql").writerow(headers)
    out.write(BOM + header.getvalue().encode())
    sides, threads, errors = [], [], []
    with transaction.atomic(using=orders.db), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        for statement in _SLICE_SETTINGS:
            cursor.execute(statement)
        ordered = orders.order_by("created_at", "id")
        total = ordered.count()
        if total < slices * MIN_SLICE_ROWS:
            slices = 1
        # Bounds at every total/slices-th order (an index range scan each); an order belongs to the slice its
        # creation time falls in, so no order is in two slices or none.
        bounds = [ordered.values_list("created_at", flat=True)[total * i // slices] for i in range(1, slices)]
        edges = [None, *bounds, None]
        parts = []
        for low, high in zip(edges[:-1], edges[1:], strict=True):
            part = orders if low is None else orders.filter(created_at__gte=low)
            parts.append(part if high is None else part.filter(created_at__lt=high))
        counts = [0] * slices
        binder = psycopg.ClientCursor(connection.connection)
        statements = []
        for part in parts:
            sql, params = export_sql(rows=export_rows(orders=part, days=days))
            statements.append(f"COPY ({binder.mogrify(sql, params)}) TO STDOUT WITH (FORMAT csv)")
        try:
            for index in range(1, slices):
                side = connections.create_connection(orders.db)
                side.ensure_connection()
                sink = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115 (closed below)
                sides.append((side, sink))
                thread = threading.Thread(target=_slice_copy, name=f"export-slice-{index}", daemon=True,
                                          args=(side.connection, snapshot, statements[index], sink, counts, index,
                                                errors))
                threads.append(thread)
                thread.start()
            reported = 0
            with cursor.cursor.copy(statements[0]) as copy:
                for data in copy:
                    out.write(data)
                    counts[0] += 1
                    if progress is not None and counts[0] - reported >= every:
                        reported = counts[0]
                        progress(sum(counts))
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.5)
                    if progress is not None:
                        progress(sum(counts))
            if errors:
                raise errors[0]
            for _side, sink in sides:
                sink.seek(0)
                shutil.copyfileobj(sink, out, 1024 * 1024)
        except BaseException:
            for side, _sink in sides:
                _cancel(side.connection)
            for thread in threads:
                thread.join()
            raise
        finally:
            for side, sink in sides:
                sink.close()
                side.close()
    done = sum(counts)
    if progress is not None:
        progress(done)
    return done


def _cancel(raw) -> None:
    """Ask the server to stop a slice's COPY (the export failed): best effort, the failure is what matters."""
    import psycopg

    try:
        (getattr(raw, "cancel_safe", None) or raw.cancel)()
    except psycopg.Error:
        logger.warning("could not cancel an export slice's COPY", exc_info=True)


# Each slice is one core's work: no parallel workers inside it.
_SLICE_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL max_parallel_workers_per_gather = 0")


def _slice_copy(raw, snapshot, statement, sink, counts, index, errors):
    """One slice's COPY on its own psycopg connection, in the snapshot of the export's transaction."""
    from psycopg import sql

    try:
        with raw.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            for setting in _SLICE_SETTINGS:
                cursor.execute(setting)
            buffer = bytearray()
            with cursor.copy(statement) as copy:
                for data in copy:
                    buffer += data
                    counts[index] += 1
                    if len(buffer) >= CHUNK_BYTES:
                        sink.write(buffer)
                        buffer.clear()
            sink.write(buffer)
            cursor.execute("COMMIT")
    except BaseException as error:  # told to the main thread, which raises it
        errors.append(error)


def row_tuples(*, rows: QuerySet) -> Iterator[tuple]:
    """The values of `rows` (an `export_rows` queryset), a tuple of text (or None) a row.

    On PostgreSQL through COPY in its text format, which the database streams while we write (a server-side
    cursor computes each batch only when asked for it, so the database and we would take turns); elsewhere
    through the queryset's iterator.
    """
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        yield from rows.iterator(chunk_size=FETCH_ROWS)
        return
    import psycopg  # PostgreSQL only

    sql, params = export_sql(rows=rows)
    width = len(rows.query.values_select) + len(rows.query.annotation_select)
    with postgres_export_transaction(rows.db), connection.cursor() as cursor:
        statement = psycopg.ClientCursor(connection.connection).mogrify(sql, params)
        with cursor.cursor.copy(f"COPY ({statement}) TO STDOUT") as copy:
            copy.set_types(["text"] * width)
            yield from copy.rows()


def _csv_module_chunks(rows, vendor, progress, every):
    text = io.StringIO()
    writer = _csv_writer(text, vendor=vendor)
    done = 0
    for row in rows.iterator(chunk_size=FETCH_ROWS):
        writer.writerow(row)
        done += 1
        if done % 2_000 == 0:
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
        if progress is not None and done % every == 0:
            progress(done)
    if text.tell():
        yield text.getvalue().encode()
    if progress is not None:
        progress(done)


def csv_write(*, chunks: Iterable[bytes], out) -> None:
    """Write the chunks to the binary file `out`."""
    for chunk in chunks:
        out.write(chunk)


def text_neutralised(text: str) -> str:
    """Outside text that a spreadsheet would take for a formula, prefixed with an apostrophe (the rule of
    `expressions.neutralised`, for the few values formatted in Python)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def summary_csv_chunks(*, tables: Sequence[tuple[Dimension, list[SummaryRow]]]) -> Iterator[bytes]:
    """The summaries as one CSV table: a column naming the dimension (station, partner, vendor), then the
    figures of each day under each of its values."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([gettext("Dimension"), *(str(header) for header in SUMMARY_HEADERS)])
    for dimension, rows in tables:
        title = str(dimension.title)
        for row in rows:
            writer.writerow([title, row.day.isoformat(), text_neutralised(row.code), text_neutralised(row.name),
                             row.orders, format_wh(row.energy_wh), format_fen(row.electricity_fen),
                             format_fen(row.service_fen), format_fen(row.total_fen)])
    yield BOM + text.getvalue().encode()


# --- XLSX -----------------------------------------------------------------------------------------------

# A sheet holds 1,048,576 rows; one is the header. A longer export goes on in a sheet of the same name
# numbered (2), (3), ...
SHEET_ROWS = 1_048_575
# Rows looked at to size the columns: measuring every cell would cost more than writing it.
WIDTH_SAMPLE = 1_000
MAX_WIDTH = 60

YUAN_FORMAT = "0.00"
KWH_FORMAT = "0.000"

# What a cell's text may hold that needs more than copying: XML's specials, control characters (Excel
# writes them as _xHHHH_, and a literal _xHHHH_ gets its underscore escaped), whitespace at an end.
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_escape = XMLwriter()


def display_width(text: str) -> int:
    """Width of `text` in Latin characters: a CJK (wide or full-width) character counts as 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _inline_text(text: str) -> str:
    """A text value as the content of an inline string cell, as XlsxWriter would write it."""
    if not _SPECIAL.search(text):
        return f"<is><t>{text}</t></is>"
    preserve = text[:1].isspace() or text[-1:].isspace()
    text = _escape._escape_data(_escape._escape_control_characters(text))
    return f'<is><t xml:space="preserve">{text}</t></is>' if preserve else f"<is><t>{text}</t></is>"


# A row's values are joined and looked at once for anything _inline_text would change: XML's specials,
# control characters (tab, line feed and carriage return among them), "_x" (of a literal _xHHHH_) and a
# space at either end of a value, the one XML whitespace left (a value's edges stay visible around the
# joiner; a joiner inside a value only sends the row the slow way). One character class and a few
# substring tests cost a fifth of one regular expression with anchors.
_JOINER = "\x7f"
_SPECIAL_CHARS = re.compile(r"[&<>\x00-\x1f\ufffe\uffff]")


def _needs_escaping(joined: str) -> bool:
    return bool(_SPECIAL_CHARS.search(joined) or "_x" in joined or " \x7f" in joined or "\x7f " in joined
                or joined[:1] == " " or joined[-1:] == " ")
_blank = operator.not_  # None and "" are both an empty cell


class PreparedRowsWorksheet(Worksheet):
    """XlsxWriter's worksheet with a way in for many rows of text values.

    XlsxWriter's write_row() costs about 5 µs a cell (a type dispatch, a tuple stored, then XML built from
    attribute lists), which caps a day's export of 27 columns near 7,000 rows/s. Here a row's XML is one
    %-format of a template chosen by which of its cells are empty, appended to the row file that
    constant_memory mode writes anyway; XlsxWriter still writes everything else (styles, column widths,
    panes, the package). Cells carry no `r` attribute: it is optional (ECMA-376 §18.3.1.4), a cell without
    one follows the cell before (so an empty value is an empty `<c/>`, which keeps its place), and it would
    be a fifth of the sheet's bytes. This relies on constant_memory's row file and dimension bookkeeping
    (`row_data_fh`, `previous_row`, `dim_*`), which the tests read back through openpyxl.
    """

    def prepared_rows_write(self, first_row: int, rows: Iterable[Sequence[str | None]],
                            cells: Sequence[tuple[str, int]]) -> int:
        """Write `rows` from `first_row` (0-based) on. `cells[i]` is (kind, format index) of column i: a TEXT
        value is written as an inline string, any other as the number its text is (exact, never through
        float); None or "" leaves the cell empty. Returns the number of rows written."""
        if not self.constant_memory:
            raise RuntimeError("prepared rows need a workbook in constant_memory mode")
        self._write_single_row(first_row)  # what XlsxWriter holds of the row before goes out first
        pieces = []
        for kind, xf in cells:
            style = f' s="{xf}"' if xf else ""
            if kind == Kind.TEXT:
                pieces.append((f'<c{style} t="inlineStr"><is><t>%s</t></is></c>', f'<c{style} t="inlineStr">', "</c>"))
            else:
                pieces.append((f"<c{style}><v>%s</v></c>", f"<c{style}><v>", "</v></c>"))
        text = [kind == Kind.TEXT for kind, _xf in cells]
        templates = {}
        out = self.row_data_fh
        lines = []
        number = first_row
        for values in rows:
            number += 1
            empty = tuple(map(_blank, values))
            template = templates.get(empty)
            if template is None:
                cells_xml = ("<c/>" if blank else piece[0] for piece, blank in zip(pieces, empty, strict=True))
                template = templates[empty] = "".join(['<row r="%d">', *cells_xml, "</row>"])
            present = tuple(filter(None, values))
            if _needs_escaping(_JOINER.join(present)):
                lines.append(self._row_escaped(number, values, pieces, text))
            else:
                lines.append(template % (number, *present))
            if len(lines) >= 2_000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
        written = number - first_row
        if written:
            self._check_dimensions(number - 1, len(cells) - 1)
            self.previous_row = number
        return written

    @staticmethod
    def _row_escaped(number, values, pieces, text):
        """A row with a value that needs escaping, cell by cell (rare: outside text with XML's specials)."""
        cells = [f"{head}{_inline_text(value) if is_text else value}{tail}" if value else "<c/>"
                 for (_template, head, tail), value, is_text in zip(pieces, values, text, strict=True)]
        return f'<row r="{number}">{"".join(cells)}</row>'


class _Workbook(xlsxwriter.Workbook):
    """XlsxWriter's workbook, zipped at deflate level 1.

    Zipping is the largest single cost of a day's workbook (a gigabyte of sheet XML): level 1 takes a
    quarter of the time of zlib's default level for a file about a third larger. XlsxWriter names no
    level, so its ZipFile is given one while this workbook is stored.
    """

    def _store_workbook(self) -> None:
        with _zip_level_lock:
            default = xlsxwriter.workbook.ZipFile
            xlsxwriter.workbook.ZipFile = functools.partial(zipfile.ZipFile, compresslevel=1)
            try:
                super()._store_workbook()
            finally:
                xlsxwriter.workbook.ZipFile = default


_zip_level_lock = threading.Lock()


class _Book:
    """An XlsxWriter workbook with the formats the exports use."""

    def __init__(self, path):
        self.workbook = _Workbook(path, {"constant_memory": True, "strings_to_numbers": False,
                                                   "strings_to_formulas": False, "strings_to_urls": False})
        self.header = self.workbook.add_format({"bold": True})
        self.yuan = self.workbook.add_format({"num_format": YUAN_FORMAT})
        self.kwh = self.workbook.add_format({"num_format": KWH_FORMAT})

    def number_format(self, kind):
        return {Kind.YUAN: self.yuan, Kind.KWH: self.kwh}.get(kind)

    def sheet(self, name, headers, widths, kinds):
        sheet = self.workbook.add_worksheet(name[:31], worksheet_class=PreparedRowsWorksheet)
        for col, (width, kind) in enumerate(zip(widths, kinds, strict=True)):
            sheet.set_column(col, col, width, self.number_format(kind))
        sheet.freeze_panes(1, 0)
        sheet.write_row(0, 0, headers, self.header)
        return sheet

    def close(self):
        self.workbook.close()


def _widths(headers, sample, minimums):
    widths = [max(minimum, display_width(header)) for header, minimum in zip(headers, minimums, strict=True)]
    for row in sample:
        for col, value in enumerate(row):
            if value is not None:
                widths[col] = max(widths[col], display_width(str(value)))
    return [min(MAX_WIDTH, width + 2) for width in widths]


def xlsx_write_orders(*, rows: Iterable[Sequence], path, sheet_name: str, headers: Sequence[str],
                      columns: Sequence[Column] = ORDER_COLUMNS, progress: Progress | None = None,
                      every: int | None = None, sheet_rows: int = SHEET_ROWS) -> int:
    """Write `rows` (tuples of `columns` values, as `export_rows` yields them) as a workbook at `path`: bold
    header, frozen header row, number formats for yuan and kWh, column widths that fit their text. Returns
    the number of rows written."""
    every = every or PROGRESS_EVERY
    book = _Book(path)
    try:
        rows = iter(rows)
        sample = list(islice(rows, WIDTH_SAMPLE))
        widths = _widths(headers, sample, [column.width for column in columns])
        kinds = [column.kind for column in columns]
        cells = [(kind, fmt._get_xf_index() if (fmt := book.number_format(kind)) else 0) for kind in kinds]
        rows = chain(sample, rows)
        sheets = 1
        sheet = book.sheet(sheet_name, headers, widths, kinds)
        done = sheet_done = 0
        while True:
            if sheet_done == sheet_rows:
                peek = list(islice(rows, 1))
                if not peek:
                    break
                rows = chain(peek, rows)
                sheets += 1
                sheet = book.sheet(f"{sheet_name} ({sheets})", headers, widths, kinds)
                sheet_done = 0
            batch = list(islice(rows, min(every, sheet_rows - sheet_done)))
            if not batch:
                break
            written = sheet.prepared_rows_write(sheet_done + 1, batch, cells)
            sheet_done += written
            done += written
            if progress is not None:
                progress(done)
    finally:
        book.close()
    return done


def _exact(value: int, places: int) -> Decimal:
    """An integer count of 10^-places units as the Decimal it is: (1234, 2) -> Decimal("12.34")."""
    return Decimal(value).scaleb(-places)


def xlsx_write_summaries(*, tables: Sequence[tuple[Dimension, list[SummaryRow]]], path) -> None:
    """The summaries as a workbook of one sheet per dimension."""
    book = _Book(path)
    try:
        headers = [str(header) for header in SUMMARY_HEADERS]
        kinds = [Kind.TEXT, Kind.TEXT, Kind.TEXT, Kind.INTEGER, Kind.KWH, Kind.YUAN, Kind.YUAN, Kind.YUAN]
        for dimension, rows in tables:
            values = [[row.day.isoformat(), row.code, row.name, row.orders, _exact(row.energy_wh, 3),
                       _exact(row.electricity_fen, 2), _exact(row.service_fen, 2), _exact(row.total_fen, 2)]
                      for row in rows]
            widths = _widths(headers, values, [12, 10, 16, 8, 12, 12, 12, 12])
            sheet = book.sheet(str(dimension.title), headers, widths, kinds)
            for number, row in enumerate(values, start=1):
                # Few rows: XlsxWriter's own write_row, with Decimals built exactly from the integers. Text is
                # written as text (strings_to_formulas is off), so a name cannot become a formula here.
                for col, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                    if kind == Kind.TEXT:
                        sheet.write_string(number, col, value)
                    else:
                        sheet.write_number(number, col, value, book.number_format(kind))
    finally:
        book.close()
