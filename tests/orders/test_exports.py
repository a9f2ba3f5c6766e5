"""Finance's exports of business days: every order's row to the fen and the Wh in CSV and XLSX, formulas
neutralised, the daily summaries, the task that writes the file, its download and the changelist actions.

Each test runs on SQLite and on PostgreSQL (DATABASE_URL): on PostgreSQL the CSV is written by COPY.
Tests run in Chinese; they find columns by their key in ORDER_COLUMNS, not by their English headers.
"""

import csv
import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.urls import reverse
from django.utils import translation

from backoffice.days import business_day_bounds
from chargers.models import Vendor
from orders.exports import (
    ORDER_COLUMNS,
    export_headers,
    export_request,
    export_response,
    export_rows,
    export_run,
    writers,
)
from orders.exports import services as export_services
from orders.exports.expressions import FORMULA_STARTS
from orders.exports.rows import DIMENSIONS, DIRECT, NO_DIFFERENCE, Kind
from orders.models import (
    CloseReason,
    Export,
    ExportFormat,
    ExportKind,
    ExportState,
    LineState,
    Order,
    OrderStatus,
    Statement,
    StatementCategory,
    StatementLine,
)
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory, PartnerFactory
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 30)
NOON = business_day_bounds(DAY)[0] + dt.timedelta(hours=12)
COLUMN = {column.key: i for i, column in enumerate(ORDER_COLUMNS)}
BOM = b"\xef\xbb\xbf"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Each test's export files in a folder of its own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


def order_of_day(day=DAY, *, at=None, **fields):
    """An order created on business day `day` (at noon, or at `at`)."""
    order = OrderFactory(**fields)
    created = at or business_day_bounds(day)[0] + dt.timedelta(hours=12)
    Order.objects.filter(pk=order.pk).update(created_at=created)
    order.refresh_from_db()
    return order


def difference(order, state, *, key=None):
    statement, _created = Statement.objects.get_or_create(counterparty="ledger", day=DAY,
                                                          defaults={"built_at": NOON})
    return StatementLine.objects.create(statement=statement, category=StatementCategory.AMOUNT,
                                        key=key or f"{order.order_no}-{state}", order=order, state=state,
                                        found_at=NOON)


def run_export(django_capture_on_commit_callbacks, user, *, kind=ExportKind.ORDERS, format=ExportFormat.CSV,  # noqa: A002
               day_from=DAY, day_to=DAY):
    with django_capture_on_commit_callbacks(execute=True):
        export = export_request(kind=kind, format=format, day_from=day_from, day_to=day_to, user=user)
    export.refresh_from_db()
    return export


def read_csv(data: bytes):
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def exported_csv(export):
    with export.file.open("rb") as fh:
        return read_csv(fh.read())


def exported_book(export):
    with export.file.open("rb") as fh:
        data = fh.read()
    return openpyxl.load_workbook(io.BytesIO(data)), data


def excel_text(value):
    """A text cell's value as Excel shows it: Excel (not openpyxl) decodes the `_xHHHH_` escapes XlsxWriter
    writes for control characters (and for a literal `_xHHHH_`, escaped as `_x005F_xHHHH_`)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda match: chr(int(match.group(1), 16)), value)


def sheet_xml(data: bytes, number=1) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return package.read(f"xl/worksheets/sheet{number}.xml").decode()


@pytest.fixture
def clerk(django_user_model):
    """Finance staff: may export orders."""
    user = django_user_model.objects.create_user("clerk", password="pw-clerk-1234", is_staff=True)  # noqa: S106
    user.groups.add(Group.objects.get(name="Finance"))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def looker(django_user_model):
    """An operator: sees orders, may not export them."""
    user = django_user_model.objects.create_user("looker", password="pw-look-1234", is_staff=True)  # noqa: S106
    user.groups.add(Group.objects.get(name="Operators"))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def day_orders():
    """The orders of DAY that show every kind of figure, by name; one order of the day before."""
    station = StationFactory(name="南山充电站")
    charger = ChargerFactory(station=station, serial="1012300077", vendor=Vendor.WANZHUANG)
    started = dt.datetime(2026, 11, 30, 2, 3, 4, 999_000, tzinfo=dt.UTC)  # 10:03:04.999 in Beijing
    orders = {
        "priced": order_of_day(
            connector=ConnectorFactory(charger=charger, number=2), energy_wh=100_000, electricity_fee_fen=1234,
            service_fee_fen=5, total_fee_fen=1239, vendor_total_fen=1239, started_at=started,
            ended_at=started + dt.timedelta(hours=1, seconds=30), close_reason=CloseReason.FULL,
            price_periods={"peak": [60_000, 1000, 3], "valley": [40_000, 234, 2]},
        ),
        "one_fen": order_of_day(energy_wh=1, electricity_fee_fen=1, service_fee_fen=0, total_fee_fen=1,
                                close_reason=CloseReason.USER_STOP),
        "zero": order_of_day(energy_wh=0, electricity_fee_fen=0, service_fee_fen=0, total_fee_fen=0,
                             status=OrderStatus.CANCELLED, started_at=None, ended_at=None, close_reason="",
                             partner=None, partner_order_no=""),
    }
    order_of_day(DAY - dt.timedelta(days=1))  # another day: not exported
    return orders


def rows_by_order_no(rows):
    return {row[COLUMN["order_no"]]: row for row in rows}


# --- the rows, to the fen and the Wh -----------------------------------------------------------------------


def test_the_csv_starts_with_a_byte_order_mark_and_the_header(django_capture_on_commit_callbacks, clerk,
                                                               day_orders):
    export = run_export(django_capture_on_commit_callbacks, clerk)

    with export.file.open("rb") as fh:
        data = fh.read()
    rows = read_csv(data)
    assert data[:3] == BOM
    assert rows[0] == export_headers()
    assert len(rows[0]) == len(ORDER_COLUMNS)
    assert len(rows) == 1 + 3


def test_the_csv_shows_yuan_and_kwh_exactly_and_times_in_beijing(django_capture_on_commit_callbacks, clerk,
                                                                 day_orders):
    export = run_export(django_capture_on_commit_callbacks, clerk)

    rows = rows_by_order_no(exported_csv(export)[1:])
    priced = rows[day_orders["priced"].order_no]
    assert [priced[COLUMN[key]] for key in ("energy", "electricity_fee", "service_fee", "total", "vendor_total")] \
        == ["100.000", "12.34", "0.05", "12.39", "12.39"]
    assert priced[COLUMN["started_at"]] == "2026-11-30 10:03:04"
    assert priced[COLUMN["ended_at"]] == "2026-11-30 11:03:34"
    assert priced[COLUMN["station"]] == "南山充电站"
    assert priced[COLUMN["charger"]] == "1012300077"
    assert priced[COLUMN["connector"]] == "2"
    assert priced[COLUMN["vendor"]] == str(Vendor.WANZHUANG.label)
    assert priced[COLUMN["close_reason"]] == str(CloseReason.FULL.label)
    assert priced[COLUMN["status"]] == str(OrderStatus.FINISHED.label)
    assert priced[COLUMN["partner"]] == day_orders["priced"].partner.name
    assert priced[COLUMN["partner_order_no"]] == day_orders["priced"].partner_order_no

    one_fen = rows[day_orders["one_fen"].order_no]
    assert [one_fen[COLUMN[key]] for key in ("energy", "electricity_fee", "service_fee", "total")] \
        == ["0.001", "0.01", "0.00", "0.01"]
    assert one_fen[COLUMN["vendor_total"]] == ""  # the vendor billed nothing

    zero = rows[day_orders["zero"].order_no]
    assert [zero[COLUMN[key]] for key in ("energy", "electricity_fee", "service_fee", "total")] \
        == ["0.000", "0.00", "0.00", "0.00"]
    assert zero[COLUMN["started_at"]] == zero[COLUMN["ended_at"]] == zero[COLUMN["close_reason"]] == ""
    assert zero[COLUMN["partner"]] == str(DIRECT)
    assert zero[COLUMN["status"]] == str(OrderStatus.CANCELLED.label)


def test_each_period_shows_its_energy_and_its_electricity_plus_service_fee(django_capture_on_commit_callbacks,
                                                                          clerk, day_orders):
    export = run_export(django_capture_on_commit_callbacks, clerk)

    rows = rows_by_order_no(exported_csv(export)[1:])
    priced = rows[day_orders["priced"].order_no]
    periods = {key: priced[COLUMN[key]] for key in COLUMN if key.split("_")[0] in ("cusp", "peak", "plain", "valley")}
    assert periods == {
        # A priced order that never touched a period shows zero there.
        "cusp_energy": "0.000", "cusp_fee": "0.00",
        "peak_energy": "60.000", "peak_fee": "10.03",
        "plain_energy": "0.000", "plain_fee": "0.00",
        "valley_energy": "40.000", "valley_fee": "2.36",
    }
    # An order without our price has nothing by period.
    unpriced = rows[day_orders["one_fen"].order_no]
    assert {unpriced[COLUMN[key]] for key in periods} == {""}


def test_the_statement_state_is_the_worst_difference_of_the_order(django_capture_on_commit_callbacks, clerk,
                                                                 day_orders):
    difference(day_orders["priced"], LineState.ACCEPTED)
    difference(day_orders["priced"], LineState.SENT_BACK)
    difference(day_orders["one_fen"], LineState.ACCEPTED)
    difference(day_orders["one_fen"], LineState.CORRECTED)
    difference(day_orders["zero"], LineState.GONE)  # no longer differs

    rows = rows_by_order_no(exported_csv(run_export(django_capture_on_commit_callbacks, clerk))[1:])

    states = {name: rows[order.order_no][COLUMN["statement_state"]] for name, order in day_orders.items()}
    assert states == {"priced": str(LineState.SENT_BACK.label), "one_fen": str(LineState.CORRECTED.label),
                      "zero": str(NO_DIFFERENCE)}


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_outside_text_that_starts_a_formula_is_neutralised(django_capture_on_commit_callbacks, clerk, start):
    hostile = f"{start}HYPERLINK(\"http://x\")"
    order = order_of_day(partner=PartnerFactory(name=hostile), partner_order_no=hostile,
                         connector__charger__serial=hostile, connector__charger__station__name=hostile)
    order_of_day(partner_order_no="P-1", connector__charger__station__name="A=B")  # not at the start: as is

    csv_rows = rows_by_order_no(exported_csv(run_export(django_capture_on_commit_callbacks, clerk))[1:])
    book, _data = exported_book(run_export(django_capture_on_commit_callbacks, clerk, format=ExportFormat.XLSX))

    keys = ("partner", "partner_order_no", "station", "charger")
    assert [csv_rows[order.order_no][COLUMN[key]] for key in keys] == [f"'{hostile}"] * 4
    sheet = book.worksheets[0]
    xlsx_rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert [excel_text(xlsx_rows[order.order_no][COLUMN[key]]) for key in keys] == [f"'{hostile}"] * 4
    plain = [row for number, row in csv_rows.items() if number != order.order_no][0]
    assert plain[COLUMN["partner_order_no"]] == "P-1"
    assert plain[COLUMN["station"]] == "A=B"


# --- XLSX -------------------------------------------------------------------------------------------------


def test_the_workbook_has_real_numbers_in_their_formats_and_a_frozen_bold_header(
        django_capture_on_commit_callbacks, clerk, day_orders):
    export = run_export(django_capture_on_commit_callbacks, clerk, format=ExportFormat.XLSX)

    book, data = exported_book(export)
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert [cell.value for cell in sheet[1]] == export_headers()
    assert all(cell.font.b for cell in sheet[1])
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert len(rows) == 3
    priced = rows[day_orders["priced"].order_no]
    for column in ORDER_COLUMNS:
        cell = priced[COLUMN[column.key]]
        if column.kind == Kind.YUAN:
            assert cell.number_format == "0.00", column.key
        elif column.kind == Kind.KWH:
            assert cell.number_format == "0.000", column.key
    # Numbers, not text: and exactly the decimal written, as the file holds it.
    assert isinstance(priced[COLUMN["total"]].value, float | int)
    assert Decimal(str(priced[COLUMN["total"]].value)) == Decimal("12.39")
    assert Decimal(str(priced[COLUMN["energy"]].value)) == Decimal("100")
    assert priced[COLUMN["connector"]].value == 2
    xml = sheet_xml(data)
    assert "<v>12.39</v>" in xml and "<v>100.000</v>" in xml and "<v>0.05</v>" in xml
    one_fen = rows[day_orders["one_fen"].order_no]
    assert Decimal(str(one_fen[COLUMN["total"]].value)) == Decimal("0.01")
    assert one_fen[COLUMN["vendor_total"]].value is None  # an empty cell, not an empty text
    assert priced[COLUMN["started_at"]].value == "2026-11-30 10:03:04"
    assert priced[COLUMN["station"]].value == "南山充电站"


def test_the_workbook_holds_the_csv_s_values_cell_for_cell(django_capture_on_commit_callbacks, clerk, day_orders):
    difference(day_orders["priced"], LineState.OPEN)
    csv_rows = rows_by_order_no(exported_csv(run_export(django_capture_on_commit_callbacks, clerk))[1:])
    book, _data = exported_book(run_export(django_capture_on_commit_callbacks, clerk, format=ExportFormat.XLSX))

    xlsx_rows = {row[0]: row for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert xlsx_rows.keys() == csv_rows.keys()
    for order_no, csv_row in csv_rows.items():
        shown = []
        for column, value in zip(ORDER_COLUMNS, xlsx_rows[order_no], strict=True):
            if value is None:
                shown.append("")
            elif column.kind == Kind.TEXT:
                shown.append(value)
            else:  # a number: the same decimal as the CSV's text
                places = {Kind.YUAN: 2, Kind.KWH: 3, Kind.INTEGER: 0}[column.kind]
                shown.append(f"{Decimal(str(value)):.{places}f}")
        assert shown == csv_row, order_no


def test_the_columns_are_wide_enough_for_their_chinese_text(django_capture_on_commit_callbacks, clerk):
    order_of_day(connector__charger__station__name="深圳市南山区科技园科发路八号超级充电站")

    book, _data = exported_book(run_export(django_capture_on_commit_callbacks, clerk, format=ExportFormat.XLSX))

    sheet = book.worksheets[0]
    letter = openpyxl.utils.get_column_letter(COLUMN["station"] + 1)
    assert sheet.column_dimensions[letter].width >= writers.display_width("深圳市南山区科技园科发路八号超级充电站")
    for number, header in enumerate(export_headers(), start=1):
        width = sheet.column_dimensions[openpyxl.utils.get_column_letter(number)].width
        assert width >= writers.display_width(header), header


def test_display_width_counts_a_cjk_character_as_two():
    assert writers.display_width("充电站 A1") == 3 * 2 + 3
    assert writers.display_width("ＡＢ") == 4  # full-width


def test_a_text_cell_keeps_xml_specials_control_characters_and_edge_spaces(tmp_path):
    path = tmp_path / "special.xlsx"
    texts = ["a<b>&c", " edge ", "bell\x07", "_x0041_", "tab\tline\nfeed"]
    columns = [ORDER_COLUMNS[COLUMN["station"]]] * len(texts)

    writers.xlsx_write_orders(rows=[texts], path=path, sheet_name="t", headers=[f"h{i}" for i in range(len(texts))],
                              columns=columns)

    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert [excel_text(cell.value) for cell in sheet[2]] == ["a<b>&c", " edge ", "bell\x07", "_x0041_",
                                                           "tab\tline\nfeed"]


def test_a_longer_export_goes_on_in_numbered_sheets(tmp_path):
    path = tmp_path / "long.xlsx"
    rows = [(f"{i:020d}",) for i in range(5)]
    columns = [ORDER_COLUMNS[0]]

    written = writers.xlsx_write_orders(rows=rows, path=path, sheet_name="Orders", headers=["n"], columns=columns,
                                        sheet_rows=2)

    book = openpyxl.load_workbook(path)
    assert written == 5
    assert book.sheetnames == ["Orders", "Orders (2)", "Orders (3)"]
    assert [[row[0] for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets] == [
        ["n", f"{0:020d}", f"{1:020d}"], ["n", f"{2:020d}", f"{3:020d}"], ["n", f"{4:020d}"]]
    assert all(sheet.freeze_panes == "A2" for sheet in book.worksheets)


# --- summaries --------------------------------------------------------------------------------------------


@pytest.fixture
def summary_orders():
    east, west = StationFactory(code="ST-E", name="东站"), StationFactory(code="ST-W", name="西站")
    partner = PartnerFactory(org_code="MA0000001", name="快电")
    tomda = ChargerFactory(station=east, vendor=Vendor.TOMDA)
    wanzhuang = ChargerFactory(station=west, vendor=Vendor.WANZHUANG)
    figures = {"energy_wh": 10_001, "electricity_fee_fen": 651, "service_fee_fen": 400, "total_fee_fen": 1051}
    order_of_day(connector=ConnectorFactory(charger=tomda), partner=partner, **figures)
    order_of_day(connector=ConnectorFactory(charger=tomda), partner=None, partner_order_no="", **figures)
    order_of_day(connector=ConnectorFactory(charger=wanzhuang), partner=partner, **figures)
    order_of_day(DAY + dt.timedelta(days=1), connector=ConnectorFactory(charger=wanzhuang), partner=partner,
                 **figures)
    return east, west, partner


def test_the_csv_summary_counts_each_day_by_station_partner_and_vendor(django_capture_on_commit_callbacks, clerk,
                                                                      summary_orders):
    export = run_export(django_capture_on_commit_callbacks, clerk, kind=ExportKind.SUMMARY,
                        day_to=DAY + dt.timedelta(days=1))

    rows = exported_csv(export)
    assert export.state == ExportState.DONE
    assert len(rows[0]) == 9
    station, partner, vendor = (str(dimension.title) for dimension in DIMENSIONS)
    table = [row[:4] + row[4:] for row in rows[1:]]
    assert table == [
        [station, "2026-11-30", "ST-E", "东站", "2", "20.002", "13.02", "8.00", "21.02"],
        [station, "2026-11-30", "ST-W", "西站", "1", "10.001", "6.51", "4.00", "10.51"],
        [station, "2026-12-01", "ST-W", "西站", "1", "10.001", "6.51", "4.00", "10.51"],
        [partner, "2026-11-30", "MA0000001", "快电", "2", "20.002", "13.02", "8.00", "21.02"],
        [partner, "2026-11-30", "", str(DIRECT), "1", "10.001", "6.51", "4.00", "10.51"],
        [partner, "2026-12-01", "MA0000001", "快电", "1", "10.001", "6.51", "4.00", "10.51"],
        [vendor, "2026-11-30", "tomda", str(Vendor.TOMDA.label), "2", "20.002", "13.02", "8.00", "21.02"],
        [vendor, "2026-11-30", "wanzhuang", str(Vendor.WANZHUANG.label), "1", "10.001", "6.51", "4.00", "10.51"],
        [vendor, "2026-12-01", "wanzhuang", str(Vendor.WANZHUANG.label), "1", "10.001", "6.51", "4.00", "10.51"],
    ]
    assert export.rows_total == export.rows_done == 9


def test_the_xlsx_summary_has_a_sheet_per_dimension(django_capture_on_commit_callbacks, clerk, summary_orders):
    export = run_export(django_capture_on_commit_callbacks, clerk, kind=ExportKind.SUMMARY,
                        format=ExportFormat.XLSX)

    book, _data = exported_book(export)
    assert book.sheetnames == [str(dimension.title) for dimension in DIMENSIONS]
    stations = book.worksheets[0]
    assert stations.freeze_panes == "A2"
    assert all(cell.font.b for cell in stations[1])
    east = [cell for cell in stations[2]]
    assert [cell.value for cell in east[:4]] == ["2026-11-30", "ST-E", "东站", 2]
    assert [Decimal(str(cell.value)) for cell in east[4:]] == [Decimal("20.002"), Decimal("13.02"), Decimal("8"),
                                                              Decimal("21.02")]
    assert [cell.number_format for cell in east[4:]] == ["0.000", "0.00", "0.00", "0.00"]
    partners = book.worksheets[1]
    assert [row[2] for row in partners.iter_rows(min_row=2, values_only=True)] == ["快电", str(DIRECT)]


# --- the task -----------------------------------------------------------------------------------------------


def test_a_requested_export_is_written_by_the_task_reporting_its_progress(
        django_capture_on_commit_callbacks, clerk, monkeypatch):
    for _i in range(5):
        order_of_day()
    reported = []
    report = export_services._ProgressReport.__call__

    def recording(self, rows_done):
        reported.append(rows_done)
        report(self, rows_done)

    monkeypatch.setattr(export_services._ProgressReport, "__call__", recording)
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 2)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        export = export_request(kind=ExportKind.ORDERS, format=ExportFormat.CSV, day_from=DAY, day_to=DAY,
                                user=clerk)
    assert export.state == ExportState.QUEUED
    assert export.rows_total is None and not export.file
    for callback in callbacks:
        callback()  # the commit: the task runs (sync in the tests)

    export.refresh_from_db()
    assert export.state == ExportState.DONE
    assert (export.rows_done, export.rows_total) == (5, 5)
    assert export.file.name.startswith("exports/") and export.file.name.endswith(".csv")
    assert export.finished_at is not None
    assert reported == [2, 4, 5]
    assert len(exported_csv(export)) == 6


def test_the_xlsx_task_reports_progress_too(django_capture_on_commit_callbacks, clerk, monkeypatch):
    for _i in range(5):
        order_of_day()
    reported = []
    report = export_services._ProgressReport.__call__
    monkeypatch.setattr(export_services._ProgressReport, "__call__",
                        lambda self, rows_done: (reported.append(rows_done), report(self, rows_done)))
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 2)

    export = run_export(django_capture_on_commit_callbacks, clerk, format=ExportFormat.XLSX)

    assert export.state == ExportState.DONE
    assert reported == [2, 4, 5]
    assert (export.rows_done, export.rows_total) == (5, 5)
    assert export.file.name.endswith(".xlsx")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("format", [ExportFormat.CSV, ExportFormat.XLSX])
def test_others_see_the_progress_while_the_export_runs(django_user_model, monkeypatch, format):  # noqa: A002
    # Committed data and a connection of the test's own: what the admin's list sees while the task runs
    # (on PostgreSQL the task's connection is busy with the COPY meanwhile).
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-1234")  # noqa: S106
    for _i in range(3):
        order_of_day()
    seen = []
    report = export_services._ProgressReport.__call__
    onlooker = connections.create_connection(DEFAULT_DB_ALIAS)
    table = connection.ops.quote_name(Export._meta.db_table)

    def peeking(self, rows_done):
        report(self, rows_done)
        with onlooker.cursor() as cursor:
            cursor.execute(f"SELECT rows_done, rows_total FROM {table} WHERE id = %s", [self.export_id])  # noqa: S608
            seen.append(cursor.fetchone())

    monkeypatch.setattr(export_services._ProgressReport, "__call__", peeking)
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 1)
    try:
        export = export_request(kind=ExportKind.ORDERS, format=format, day_from=DAY, day_to=DAY, user=clerk)
    finally:
        onlooker.close()

    export.refresh_from_db()
    assert export.state == ExportState.DONE
    assert seen[:3] == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.django_db(transaction=True)
def test_a_day_copied_in_slices_is_the_file_copied_at_once(django_user_model, monkeypatch):
    # Committed orders and no transaction around the task: on PostgreSQL the CSV is copied in slices on
    # connections of their own, from one snapshot. (SQLite writes it in one go either way.)
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-1234")  # noqa: S106
    for minute in range(9):
        order_of_day(at=NOON + dt.timedelta(minutes=minute), energy_wh=1000 + minute)
    monkeypatch.setattr(writers, "MIN_SLICE_ROWS", 1)
    monkeypatch.setattr(writers, "COPY_SLICES", 3)
    slices = []
    copy = writers._slice_copy
    monkeypatch.setattr(writers, "_slice_copy", lambda *args: (slices.append(args[5]), copy(*args)))

    export = export_request(kind=ExportKind.ORDERS, format=ExportFormat.CSV, day_from=DAY, day_to=DAY, user=clerk)

    export.refresh_from_db()
    with export.file.open("rb") as fh:
        sliced = fh.read()
    at_once = b"".join(writers.csv_chunks(rows=export_rows(orders=Order.objects.all()), headers=export_headers()))
    assert export.state == ExportState.DONE
    assert (export.rows_done, export.rows_total) == (9, 9)
    assert sliced == at_once
    assert [row[COLUMN["energy"]] for row in read_csv(sliced)[1:]] == [f"1.00{minute}" for minute in range(9)]
    assert sorted(slices) == ([1, 2] if connection.vendor == "postgresql" else [])


@pytest.mark.django_db(transaction=True)
def test_a_failing_slice_fails_the_export(django_user_model, monkeypatch):
    # (SQLite copies no slices: there the export is done.)
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-1234")  # noqa: S106
    for minute in range(4):
        order_of_day(at=NOON + dt.timedelta(minutes=minute))
    monkeypatch.setattr(writers, "MIN_SLICE_ROWS", 1)

    def broken(raw, snapshot, statement, sink, counts, index, errors):
        errors.append(RuntimeError("slice lost"))

    monkeypatch.setattr(writers, "_slice_copy", broken)

    export = export_request(kind=ExportKind.ORDERS, format=ExportFormat.CSV, day_from=DAY, day_to=DAY, user=clerk)

    export.refresh_from_db()
    if connection.vendor == "postgresql":
        assert export.state == ExportState.FAILED
        assert "slice lost" in export.error
        assert not export.file
    else:
        assert export.state == ExportState.DONE


def test_a_failing_export_is_left_failed_with_its_error(django_capture_on_commit_callbacks, clerk, monkeypatch):
    order_of_day()

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export_services, "_orders_write", broken)

    export = run_export(django_capture_on_commit_callbacks, clerk)

    assert export.state == ExportState.FAILED
    assert "disk full" in export.error
    assert not export.file


def test_an_export_runs_once(django_capture_on_commit_callbacks, clerk):
    order_of_day()
    export = run_export(django_capture_on_commit_callbacks, clerk)
    name = export.file.name

    again = export_run(export_id=export.pk)

    assert again.state == ExportState.DONE
    assert again.file.name == name


@pytest.mark.parametrize(("day_from", "day_to"), [(DAY, DAY - dt.timedelta(days=1)),
                                                  (DAY, DAY + dt.timedelta(days=31))])
def test_an_export_of_reversed_or_too_many_days_is_refused(clerk, day_from, day_to):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        export_request(kind=ExportKind.ORDERS, format=ExportFormat.CSV, day_from=day_from, day_to=day_to, user=clerk)
    assert not Export.objects.exists()


def test_a_month_is_not_too_many_days(clerk):
    export = export_request(kind=ExportKind.ORDERS, format=ExportFormat.CSV, day_from=DAY,
                            day_to=DAY + dt.timedelta(days=30), user=clerk)
    assert export.state == ExportState.QUEUED


def test_the_orders_rows_are_the_same_text_in_python(day_orders):
    # The queryset the COPY runs gives the same values through the ORM (the XLSX path).
    rows = rows_by_order_no(export_rows(orders=Order.objects.filter(pk__in=[o.pk for o in day_orders.values()])))
    priced = rows[day_orders["priced"].order_no]
    assert priced[COLUMN["total"]] == "12.39"
    assert priced[COLUMN["peak_fee"]] == "10.03"
    assert priced[COLUMN["connector"]] == "2"
    assert rows[day_orders["zero"].order_no][COLUMN["started_at"]] is None


# --- answered to the browser ------------------------------------------------------------------------------


def streamed(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def test_a_small_export_is_streamed_with_its_file_name(day_orders):
    response = export_response(kind=ExportKind.ORDERS, format=ExportFormat.CSV, day_from=DAY, day_to=DAY)

    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="orders-2026-11-30.csv"'
    assert response["Content-Type"].startswith("text/csv")
    assert len(read_csv(streamed(response))) == 4


def test_a_small_workbook_is_answered_as_an_attachment(day_orders):
    response = export_response(kind=ExportKind.SUMMARY, format=ExportFormat.XLSX, day_from=DAY,
                               day_to=DAY + dt.timedelta(days=2))

    assert response["Content-Disposition"] == 'attachment; filename="summary-2026-11-30-2026-12-02.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(streamed(response)))
    assert len(book.sheetnames) == len(DIMENSIONS)


def test_a_stream_closed_half_way_leaves_the_connection_usable(day_orders, monkeypatch):
    # A browser that goes away mid-download: on PostgreSQL the COPY is cut off, its transaction rolled back.
    # (The response's own close would also close the request's database connection, as it should.)
    monkeypatch.setattr(writers, "CHUNK_BYTES", 1)  # a chunk a row
    chunks = writers.csv_chunks(rows=export_rows(orders=Order.objects.all()), headers=export_headers())

    next(chunks)  # the header
    next(chunks)  # the first row: the COPY is under way
    chunks.close()

    assert Order.objects.count() == 4


def test_the_fixed_beijing_offset_is_the_zone_s():
    from backoffice.days import BEIJING
    from orders.exports.expressions import BEIJING_UTC_OFFSET_HOURS

    for year in (1992, 2026, 2040):
        for month in (1, 7):
            moment = dt.datetime(year, month, 1, tzinfo=BEIJING)
            assert moment.utcoffset() == dt.timedelta(hours=BEIJING_UTC_OFFSET_HOURS)


def test_an_order_without_a_partner_order_number_has_an_empty_cell(django_capture_on_commit_callbacks, clerk,
                                                                   day_orders):
    book, _data = exported_book(run_export(django_capture_on_commit_callbacks, clerk, format=ExportFormat.XLSX))

    rows = {row[0]: row for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    zero = rows[day_orders["zero"].order_no]
    assert zero[COLUMN["partner_order_no"]] is None
    assert zero[COLUMN["started_at"]] is None
    assert zero[COLUMN["partner"]] == str(DIRECT)


# --- the admin --------------------------------------------------------------------------------------------


def test_a_clerk_downloads_a_done_export_and_an_operator_gets_403(django_capture_on_commit_callbacks, client,
                                                                 clerk, looker, day_orders):
    export = run_export(django_capture_on_commit_callbacks, clerk)
    url = reverse("admin:orders_export_download", args=[export.pk])

    client.force_login(looker)
    refused = client.get(url)
    client.force_login(clerk)
    response = client.get(url)

    assert refused.status_code == 403
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="orders-2026-11-30.csv"'
    with export.file.open("rb") as fh:
        assert b"".join(response.streaming_content) == fh.read()


def test_an_export_without_a_file_is_not_found(client, clerk):
    export = export_request(kind=ExportKind.ORDERS, format=ExportFormat.CSV, day_from=DAY, day_to=DAY, user=clerk)
    client.force_login(clerk)

    assert client.get(reverse("admin:orders_export_download", args=[export.pk])).status_code == 404


def test_the_export_list_shows_progress_and_the_download_link(django_capture_on_commit_callbacks, client, clerk,
                                                               day_orders):
    export = run_export(django_capture_on_commit_callbacks, clerk)
    client.force_login(clerk)

    content = client.get(reverse("admin:orders_export_changelist")).content.decode()

    assert "3 / 3" in content
    assert reverse("admin:orders_export_download", args=[export.pk]) in content
    assert "orders-2026-11-30.csv" in content
    assert "/media/" not in content


def test_a_clerk_requests_an_export_from_the_admin_form(django_capture_on_commit_callbacks, client, clerk,
                                                       day_orders):
    client.force_login(clerk)
    page = client.get(reverse("admin:orders_export_add"))
    form = {"kind": ExportKind.ORDERS, "format": ExportFormat.XLSX, "day_from": "2026-11-30", "day_to": "2026-11-30"}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:orders_export_add"), form)

    assert page.status_code == 200
    assert "31" in page.content.decode()  # the most days an export covers
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_export_changelist")
    export = Export.objects.get()
    assert (export.requested_by, export.kind, export.format) == (clerk, ExportKind.ORDERS, ExportFormat.XLSX)
    assert export.state == ExportState.DONE
    assert export.rows_total == 3


@pytest.mark.parametrize("day_to", ["2026-11-29", "2026-12-31"])
def test_the_admin_form_refuses_reversed_or_too_many_days(client, clerk, day_to):
    client.force_login(clerk)
    form = {"kind": ExportKind.ORDERS, "format": ExportFormat.CSV, "day_from": "2026-11-30", "day_to": day_to}

    response = client.post(reverse("admin:orders_export_add"), form)

    assert response.status_code == 200
    assert "day_to" in response.context["adminform"].form.errors
    assert not Export.objects.exists()


def test_an_operator_may_not_request_exports(client, looker):
    client.force_login(looker)
    assert client.get(reverse("admin:orders_export_add")).status_code == 403


def test_exports_are_read_only_in_the_admin(django_capture_on_commit_callbacks, client, clerk, superuser):
    export = run_export(django_capture_on_commit_callbacks, clerk)
    client.force_login(superuser)

    page = client.get(reverse("admin:orders_export_change", args=[export.pk]))
    posted = client.post(reverse("admin:orders_export_change", args=[export.pk]), {"kind": ExportKind.SUMMARY})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert client.get(reverse("admin:orders_export_delete", args=[export.pk])).status_code == 403


def post_action(client, action, orders):
    return client.post(reverse("admin:orders_order_changelist"),
                       {"action": action, "_selected_action": [order.pk for order in orders]})


def test_the_changelist_action_streams_exactly_the_selected_orders(client, clerk, day_orders):
    client.force_login(clerk)
    selected = [day_orders["priced"], day_orders["zero"]]

    response = post_action(client, "orders_export_csv", selected)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="orders-2026-11-30.csv"'
    rows = read_csv(streamed(response))
    assert {row[COLUMN["order_no"]] for row in rows[1:]} == {order.order_no for order in selected}
    assert rows_by_order_no(rows[1:])[day_orders["priced"].order_no][COLUMN["total"]] == "12.39"


def test_the_changelist_action_answers_a_workbook(client, clerk, day_orders):
    client.force_login(clerk)

    response = post_action(client, "orders_export_xlsx", [day_orders["one_fen"]])

    assert response["Content-Disposition"] == 'attachment; filename="orders-2026-11-30.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(streamed(response))).worksheets[0]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [day_orders["one_fen"].order_no]


def test_the_changelist_action_points_a_large_selection_to_an_export_of_days(client, clerk, day_orders, settings):
    settings.EXPORT_INLINE_MAX_ROWS = 2
    client.force_login(clerk)

    response = post_action(client, "orders_export_csv", list(day_orders.values()))

    assert response.status_code == 302
    messages = [str(message) for message in client.get(response["Location"]).context["messages"]]
    assert len(messages) == 1
    assert reverse("admin:orders_export_add") in messages[0]
    assert "2" in messages[0]


def test_the_changelist_action_needs_the_export_permission(client, looker, day_orders):
    client.force_login(looker)

    response = post_action(client, "orders_export_csv", [day_orders["priced"]])

    assert response.status_code == 302
    assert not response.get("Content-Disposition")


def test_headers_follow_the_active_language():
    with translation.override("en"):
        english = export_headers()
    assert english[:3] == ["Order number", "Status", "Partner"]
    assert "Vendor's bill (yuan)" in english
    assert connection.vendor in ("sqlite", "postgresql")
