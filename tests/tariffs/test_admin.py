"""The tariff admin: templates with their detail rows inline, prices and money in display units."""

import pytest
from django.urls import reverse

from tariffs.models import TariffDetail, TariffTemplate, TimeInterval, VehicleKind
from tests.helpers import assert_changelist_queries_constant
from tests.tariffs.factories import PeriodFactory, PowerTierFactory, TariffTemplateFactory

pytestmark = pytest.mark.django_db

TEMPLATES = reverse("admin:tariffs_tarifftemplate_changelist")
DETAILS = reverse("admin:tariffs_tariffdetail_changelist")



# --- templates ------------------------------------------------------------------------------------


def test_template_changelist_shows_rules_in_display_units_and_counts_rows(client, operator):
    client.force_login(operator)
    template = TariffTemplateFactory(free_charge_seconds=600, min_balance_fen=500)
    PeriodFactory.create_batch(3, template=template)

    response = client.get(TEMPLATES)

    (row,) = response.context["cl"].result_list
    assert row.detail_count == 3
    content = response.content.decode()
    assert '<td class="field-free_time">0:10:00</td>' in content
    assert '<td class="field-min_balance">5.00</td>' in content
    assert '<td class="field-detail_count">3</td>' in content


def test_template_changelist_queries_do_not_grow_with_the_number_of_rows(client, operator):
    client.force_login(operator)

    def templates(count):
        for i in range(count):
            PeriodFactory.create_batch(i % 3 + 1, template=TariffTemplateFactory())

    assert_changelist_queries_constant(client, TEMPLATES, templates)


def test_template_page_lists_its_rows_in_position_order(client, operator):
    client.force_login(operator)
    template = TariffTemplateFactory()
    for position, end in ((3, 1440), (1, 480), (2, 1200)):
        PeriodFactory(template=template, position=position, end_minute=end)

    response = client.get(reverse("admin:tariffs_tarifftemplate_change", args=[template.pk]))

    (inline,) = response.context["inline_admin_formsets"]
    assert [form.original.position for form in inline if form.original] == [1, 2, 3]
    assert inline.has_add_permission is True


def template_post(**fields):
    data = {
        "external_id": "TPL-NEW",
        "name": "工作日分时",
        "kind": VehicleKind.EV,
        "free_charge_seconds": 0,
        "min_balance_fen": 1000,
        "details-TOTAL_FORMS": 0,
        "details-INITIAL_FORMS": 0,
        "details-MIN_NUM_FORMS": 0,
        "details-MAX_NUM_FORMS": 1000,
    }
    return data | fields


def test_operator_creates_a_template_with_its_periods_on_one_page(client, operator):
    # Given an operator on the add page
    client.force_login(operator)
    rows = {
        "details-TOTAL_FORMS": 2,
        "details-0-position": 1,
        "details-0-end_minute": 480,
        "details-0-interval": TimeInterval.VALLEY,
        "details-0-electricity_price_e4": 3000,
        "details-0-service_price_e4": 4000,
        "details-1-position": 2,
        "details-1-end_minute": 1440,
        "details-1-interval": TimeInterval.PEAK,
        "details-1-electricity_price_e4": 9000,
        "details-1-service_price_e4": 4000,
    }

    # When the template and two periods are posted together
    response = client.post(reverse("admin:tariffs_tarifftemplate_add"), template_post(**rows))

    # Then both are stored
    assert response.status_code == 302
    template = TariffTemplate.objects.get(external_id="TPL-NEW")
    assert list(
        template.details.order_by("position").values_list("end_minute", "interval", "electricity_price_e4")
    ) == [
        (480, TimeInterval.VALLEY, 3000),
        (1440, TimeInterval.PEAK, 9000),
    ]


def test_a_row_that_is_both_period_and_tier_is_refused_with_a_form_error(client, operator):
    client.force_login(operator)
    rows = {
        "details-TOTAL_FORMS": 1,
        "details-0-position": 1,
        "details-0-end_minute": 1440,
        "details-0-interval": TimeInterval.PLAIN,
        "details-0-power_upper_w": 300,
        "details-0-electricity_price_e4": 5000,
        "details-0-service_price_e4": 0,
    }

    response = client.post(reverse("admin:tariffs_tarifftemplate_add"), template_post(**rows))

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert inline.formset.errors[0]
    assert not TariffTemplate.objects.filter(external_id="TPL-NEW").exists()


# --- detail rows ----------------------------------------------------------------------------------


def test_detail_changelist_shows_period_ends_and_prices_in_yuan(client, operator):
    client.force_login(operator)
    PeriodFactory(end_minute=1440, electricity_price_e4=6500, service_price_e4=4000)
    PowerTierFactory(power_upper_w=300)

    content = client.get(DETAILS).content.decode()

    assert '<td class="field-period_end">24:00</td>' in content
    assert '<td class="field-electricity_price">0.6500</td>' in content
    assert '<td class="field-service_price">0.4000</td>' in content
    assert '<td class="field-power_upper_w">300</td>' in content


def test_detail_changelist_queries_do_not_grow_with_the_number_of_rows(client, operator):
    client.force_login(operator)
    assert_changelist_queries_constant(client, DETAILS, PeriodFactory.create_batch)  # each of its own template
    assert TariffDetail.objects.count() == 30
