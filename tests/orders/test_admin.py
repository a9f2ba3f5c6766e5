"""The order admin: a read-only, fast view of a table that grows to millions of rows."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from backoffice.adminkit import LargeTablePaginator
from chargers.vendor import ChargeStrategy
from orders.admin import OrderAdmin
from orders.models import CloseReason, Order, OrderSample, OrderStatus, Partner
from tariffs.models import VehicleKind
from tests.chargers.factories import ConnectorFactory
from tests.helpers import assert_changelist_queries_constant, get_counting_queries
from tests.orders.factories import OrderFactory, OrderSampleFactory, PartnerFactory
from tests.tariffs.factories import TariffVersionFactory

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
ORDERS = reverse("admin:orders_order_changelist")
SAMPLES = reverse("admin:orders_ordersample_changelist")



def listed(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def order_change_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


@pytest.mark.parametrize(
    ("strategy", "param", "shown"),
    [
        (ChargeStrategy.TIME, 90, "90 min"),
        (ChargeStrategy.AMOUNT, 5_005, "50.05 yuan"),
        (ChargeStrategy.ENERGY, 20_500, "20.500 kWh"),
        (ChargeStrategy.FULL, 0, "-"),  # the admin's empty mark
    ],
)
def test_the_strategy_parameter_is_shown_in_the_unit_of_its_strategy(strategy, param, shown):
    order = Order(strategy=strategy, strategy_param=param)

    with translation.override("en"):
        assert OrderAdmin(Order, admin.site).strategy_parameter(order) == shown


# --- changelist -----------------------------------------------------------------------------------


def test_order_changelist_queries_do_not_grow_with_the_number_of_rows(client, finance):
    # Each order at its own station, charger, connector and partner
    client.force_login(finance)
    assert_changelist_queries_constant(client, ORDERS, OrderFactory.create_batch)


def test_order_changelist_shows_the_columns_in_display_units(client, finance):
    client.force_login(finance)
    connector = ConnectorFactory(number=3, charger__serial="1012399999")
    OrderFactory(
        connector=connector,
        energy_wh=12_345,
        electricity_fee_fen=802,
        service_fee_fen=203,
        total_fee_fen=1_005,
        partner__name="快电",
    )

    content = client.get(ORDERS).content.decode()

    assert '<td class="field-energy">12.345</td>' in content
    assert '<td class="field-total">10.05</td>' in content
    assert '<td class="field-charger_serial">1012399999</td>' in content
    assert '<td class="field-connector_number">3</td>' in content
    assert '<td class="field-partner nowrap">快电</td>' in content


def test_large_table_changelists_neither_count_everything_nor_compute_facets(client, superuser):
    client.force_login(superuser)
    OrderSampleFactory()

    for url in (ORDERS, SAMPLES):
        cl = client.get(f"{url}?_facets=1").context["cl"]

        assert isinstance(cl.paginator, LargeTablePaginator)
        assert cl.full_result_count is None
        assert cl.add_facets is False


@pytest.mark.parametrize("field", ["order_no", "vendor_order_id", "partner_order_no", "driver_id"], ids=lambda f: f)
def test_search_finds_an_order_by_the_exact_value_of_an_identifier(client, finance, field):
    client.force_login(finance)
    wanted = OrderFactory(vendor_order_id="TMD20260101000042")
    OrderFactory.create_batch(2, vendor_order_id="TMD20260101000043")
    value = getattr(wanted, field)

    assert listed(client.get(ORDERS, {"q": value})) == {wanted.pk}
    assert listed(client.get(ORDERS, {"q": value[:-1]})) == set()


def test_search_is_case_sensitive_so_that_an_index_can_serve_it(client, finance):
    client.force_login(finance)
    OrderFactory(vendor_order_id="TMD-ABC")

    response = client.get(ORDERS, {"q": "tmd-abc"})

    assert listed(response) == set()
    assert "UPPER(" not in str(response.context["cl"].queryset.query).upper()


def test_search_finds_orders_by_the_beginning_of_a_plate(client, finance):
    client.force_login(finance)
    shenzhen = OrderFactory(plate="粤B12345")
    OrderFactory(plate="京A12345")

    assert listed(client.get(ORDERS, {"q": "粤B"})) == {shenzhen.pk}
    assert listed(client.get(ORDERS, {"q": "12345"})) == set()


@pytest.mark.parametrize(
    ("params", "matching"),
    [
        ({"status__exact": OrderStatus.CANCELLED}, {"status": OrderStatus.CANCELLED}),
        ({"strategy__exact": ChargeStrategy.AMOUNT}, {"strategy": ChargeStrategy.AMOUNT, "strategy_param": 100}),
        ({"close_reason__exact": CloseReason.USER_STOP}, {"close_reason": CloseReason.USER_STOP}),
    ],
    ids=["status", "strategy", "close_reason"],
)
def test_each_filter_narrows_the_list_to_the_matching_orders(client, finance, params, matching):
    client.force_login(finance)
    wanted = OrderFactory(**matching)
    OrderFactory.create_batch(2)

    assert listed(client.get(ORDERS, params)) == {wanted.pk}


def test_the_station_filter_narrows_the_list_to_that_stations_orders(client, finance):
    client.force_login(finance)
    wanted = OrderFactory(connector__charger__station__kind=VehicleKind.EBIKE)
    OrderFactory.create_batch(2)

    assert listed(client.get(ORDERS, {"station__id__exact": wanted.station_id})) == {wanted.pk}


def test_the_partner_filter_lists_partners_and_narrows_the_list(client, finance):
    client.force_login(finance)
    partner = PartnerFactory()
    wanted = OrderFactory(partner=partner)
    OrderFactory.create_batch(2)

    response = client.get(ORDERS, {"partner__id__exact": partner.pk})

    assert listed(response) == {wanted.pk}


def created_at(order, moment):
    Order.objects.filter(pk=order.pk).update(created_at=moment)


def test_date_hierarchy_drills_down_by_beijing_years_months_and_days(client, finance):
    # Given orders on both sides of Beijing's midnights: 2025-12-31 23:30, 2026-01-15 12:00 and
    # 2026-03-01 00:30 Beijing time (the last is still February in UTC)
    client.force_login(finance)
    new_year_eve, january, first_of_march = OrderFactory.create_batch(3)
    created_at(new_year_eve, dt.datetime(2025, 12, 31, 23, 30, tzinfo=BEIJING))
    created_at(january, dt.datetime(2026, 1, 15, 12, 0, tzinfo=BEIJING))
    created_at(first_of_march, dt.datetime(2026, 3, 1, 0, 30, tzinfo=BEIJING))

    # When the hierarchy is opened at each level
    top = client.get(ORDERS).content.decode()
    year = client.get(ORDERS, {"created_at__year": 2026})
    month = client.get(ORDERS, {"created_at__year": 2026, "created_at__month": 3})

    # Then it offers exactly the Beijing years, months and days that have orders
    assert "created_at__year=2025" in top
    assert "created_at__year=2026" in top
    content = year.content.decode()
    assert "created_at__month=1&amp;created_at__year=2026" in content
    assert "created_at__month=3&amp;created_at__year=2026" in content
    assert "created_at__month=2&amp;" not in content
    assert "created_at__month=12&amp;" not in content
    assert listed(year) == {january.pk, first_of_march.pk}
    content = month.content.decode()
    assert "created_at__day=1&amp;" in content
    assert "created_at__day=28&amp;" not in content
    assert listed(month) == {first_of_march.pk}


def test_sample_changelist_queries_do_not_grow_with_the_number_of_rows(client, operator):
    client.force_login(operator)
    assert_changelist_queries_constant(client, SAMPLES, OrderSampleFactory.create_batch)  # each of its own order


def test_sample_changelist_searches_by_exact_order_number_newest_first(client, operator):
    client.force_login(operator)
    order = OrderFactory()
    earlier = OrderSampleFactory(order=order, device_time=order.started_at + dt.timedelta(minutes=1))
    later = OrderSampleFactory(order=order, device_time=order.started_at + dt.timedelta(minutes=2))
    OrderSampleFactory.create_batch(2)

    response = client.get(SAMPLES, {"q": order.order_no})

    assert [s.pk for s in response.context["cl"].result_list] == [later.pk, earlier.pk]
    assert f">{order.order_no}</a></th>" in response.content.decode()


# --- change page ----------------------------------------------------------------------------------


def test_order_page_is_read_only_grouped_and_in_display_units(client, finance):
    client.force_login(finance)
    order = OrderFactory(
        electricity_fee_fen=650, service_fee_fen=400, total_fee_fen=1_050, charge_seconds=3_725, energy_wh=10_000
    )

    response = client.get(order_change_url(order))

    assert response.status_code == 200
    fieldsets = [fieldset.name for fieldset in response.context["adminform"]]
    with translation.override("en"):
        assert [str(name) for name in fieldsets] == [
            "Identity",
            "Partner and driver",
            "Place",
            "Strategy",
            "Progress and money",
            "Vehicle",
            "Close",
            "Price",
        ]
    assert response.context["adminform"].form.fields == {}  # everything is read-only
    content = response.content.decode()
    assert '<div class="readonly">10.50</div>' in content
    assert '<div class="readonly">6.50</div>' in content
    assert '<div class="readonly">1:02:05</div>' in content
    assert '<div class="readonly">10.000</div>' in content


def test_order_page_links_its_tariff_version_and_prices_its_samples_line_by_line(client, finance):
    # Given an order priced by a flat 0.6500 + 0.4000 yuan/kWh version, with a sample at 10 kWh
    client.force_login(finance)
    version = TariffVersionFactory()
    start = dt.datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)
    order = OrderFactory(
        tariff_version=version, started_at=start, ended_at=start + dt.timedelta(hours=2), energy_wh=10_000
    )
    OrderSampleFactory(order=order, device_time=start + dt.timedelta(hours=1), energy_wh=6_000)

    # When finance opens the order
    content = client.get(order_change_url(order)).content.decode()

    # Then the version links to its page and the engine's breakdown shows 10 kWh costing 6.50 + 4.00
    assert reverse("admin:tariffs_tariffversion_change", args=[version.pk]) in content
    assert '<table class="tariff-breakdown">' in content
    assert "<th>10.000</th>" in content
    assert "<th>6.50</th><th>4.00</th><th>10.50</th>" in content


def sample_inline(response):
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.opts.model is OrderSample]
    return formset


def test_order_page_lists_its_samples_read_only_in_device_time_order(client, operator):
    client.force_login(operator)
    order = OrderFactory()
    times = [order.started_at + dt.timedelta(minutes=m) for m in (3, 1, 2)]
    for moment in times:
        OrderSampleFactory(order=order, device_time=moment)
    OrderSampleFactory()  # another order's

    inline = sample_inline(client.get(order_change_url(order)))

    assert [form.original.device_time for form in inline] == sorted(times)
    assert inline.has_add_permission is False
    assert inline.has_change_permission is False
    assert inline.has_delete_permission is False


def test_order_page_queries_do_not_grow_with_the_number_of_samples(client, finance):
    client.force_login(finance)
    few_order, many_order = OrderFactory.create_batch(2)
    OrderSampleFactory.create_batch(3, order=few_order)
    OrderSampleFactory.create_batch(30, order=many_order)
    client.get(order_change_url(few_order))

    few, few_queries = get_counting_queries(client, order_change_url(few_order))
    many, many_queries = get_counting_queries(client, order_change_url(many_order))

    assert len(list(sample_inline(few))) == 3
    assert len(list(sample_inline(many))) == 30
    assert many_queries == few_queries


def test_a_long_session_shows_an_evenly_thinned_curve_and_links_to_all_samples(client, finance):
    # Given a session with 250 samples, one a minute
    client.force_login(finance)
    order = OrderFactory()
    OrderSample.objects.bulk_create(
        OrderSample(order=order, device_time=order.started_at + dt.timedelta(minutes=i), energy_wh=100 * i)
        for i in range(250)
    )

    # When its page is opened
    response = client.get(order_change_url(order))

    # Then the inline shows 100 of them, the first and the last among them, in time order
    shown = [form.original.energy_wh for form in sample_inline(response)]
    assert len(shown) == 100
    assert shown[0] == 0
    assert shown[-1] == 24_900
    assert shown == sorted(shown)
    # And the samples field says so and links to the full list
    content = response.content.decode()
    assert f'href="{SAMPLES}?q={order.order_no}"' in content
    english = client.get(order_change_url(order), headers={"accept-language": "en"}).content.decode()
    assert "250 samples, 100 of them evenly spaced below" in english


def test_the_samples_list_searched_by_an_order_number_shows_that_orders_samples_only(client, finance):
    client.force_login(finance)
    order = OrderFactory()
    mine = OrderSampleFactory.create_batch(2, order=order)
    OrderSampleFactory(order=OrderFactory())

    found = client.get(SAMPLES, {"q": f" {order.order_no} "})
    unknown = client.get(SAMPLES, {"q": "20991231000000000000"})

    assert listed(found) == {sample.pk for sample in mine}
    assert listed(unknown) == set()


def test_partner_is_editable_by_a_superuser(client, superuser):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:orders_partner_add"), {"name": "快电", "org_code": "MA0000001", "enabled": "on"}
    )

    assert response.status_code == 302
    assert Partner.objects.filter(org_code="MA0000001", name="快电", enabled=True).exists()
