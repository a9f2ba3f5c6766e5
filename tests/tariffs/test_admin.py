"""The tariff admin: templates edited with their rows inline, publishing, the price preview, and the
read-only history of versions.

Pages are requested in English (Accept-Language), so the assertions read the operator's own words.
"""

import datetime as dt
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from tariffs.models import TariffDetail, TariffTemplate, TariffVersion, TimeInterval, VehicleKind
from tariffs.selectors import tariff_template_draft
from tests.chargers.factories import ChargerFactory
from tests.helpers import assert_changelist_queries_constant
from tests.stations.factories import StationFactory
from tests.tariffs.factories import (
    PeriodFactory,
    PowerTierFactory,
    TariffTemplateFactory,
    TariffVersionFactory,
    create_periods,
)

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
TEMPLATES = reverse("admin:tariffs_tarifftemplate_changelist")
TEMPLATE_ADD = reverse("admin:tariffs_tarifftemplate_add")
VERSIONS = reverse("admin:tariffs_tariffversion_changelist")


def template_url(template):
    return reverse("admin:tariffs_tarifftemplate_change", args=[template.pk])


def publish_url(template):
    return reverse("admin:tariffs_tarifftemplate_publish", args=[template.pk])


def preview_url(template):
    return reverse("admin:tariffs_tarifftemplate_preview", args=[template.pk])


def version_url(version):
    return reverse("admin:tariffs_tariffversion_change", args=[version.pk])


def at(*args):
    """A Beijing wall-clock instant."""
    return dt.datetime(*args, tzinfo=BEIJING)


# --- building the forms an operator posts ------------------------------------------------------------


def period(start, end, interval, electricity="0.6500", service="0.4000"):
    """A period row as typed: times HH:MM, prices in yuan."""
    return {
        "start_minute": start,
        "end_minute": end,
        "interval": interval,
        "electricity_price_e4": electricity,
        "service_price_e4": service,
    }


def tier(upper_w, electricity, service="0", unit_seconds=""):
    """A power-tier row as typed: the upper bound in W, prices in yuan."""
    return {
        "power_upper_w": upper_w,
        "unit_seconds": unit_seconds,
        "electricity_price_e4": electricity,
        "service_price_e4": service,
    }


def template_post(*rows, existing=(), **fields):
    """The template form with its inline rows: `existing` are (TariffDetail, row) pairs to send back edited,
    `rows` are new rows; money in yuan as the page shows it."""
    data = {
        "external_id": "TPL-NEW",
        "name": "工作日分时",
        "kind": VehicleKind.EV,
        "free_charge_seconds": "0",
        "min_balance_fen": "10.00",
        "start_fee_fen": "0.00",
        "max_pay_fen": "0.00",
        "refundable": "on",
        "details-TOTAL_FORMS": len(existing) + len(rows),
        "details-INITIAL_FORMS": len(existing),
        "details-MIN_NUM_FORMS": 0,
        "details-MAX_NUM_FORMS": 1000,
    }
    for index, (detail, row) in enumerate(existing):
        data[f"details-{index}-id"] = detail.pk
        data[f"details-{index}-template"] = detail.template_id
        data.update({f"details-{index}-{key}": value for key, value in row.items()})
    for index, row in enumerate(rows, start=len(existing)):
        data.update({f"details-{index}-{key}": value for key, value in row.items()})
    return data | fields


def inline_formset(response):
    (inline,) = response.context["inline_admin_formsets"]
    return inline.formset


def row_errors(response):
    """Each row's own errors (field and row-wide), in the order the rows were posted."""
    return [
        sorted(str(error) for errors in form.errors.values() for error in errors) for form in inline_formset(response)
    ]


def general_errors(response):
    return list(inline_formset(response).non_form_errors())


def stored_rows(template):
    return list(
        template.details.order_by("position").values_list(
            "position", "start_minute", "end_minute", "interval", "electricity_price_e4", "service_price_e4"
        )
    )


# --- reading the pages ----------------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The cells of the tables of one class (or of all tables) on a page, as text, row by row."""

    def __init__(self, css_class):
        super().__init__()
        self.css_class = css_class
        self.depth = 0  # tables entered since the wanted one opened; 0 outside it
        self.rows = []
        self.cell = None

    def handle_starttag(self, tag, attrs):
        wanted = self.css_class is None or self.css_class in (dict(attrs).get("class") or "").split()
        if tag == "table" and (self.depth or wanted):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(response, css_class=None):
    """The rows of the page's table(s) of `css_class` (any table if None), header and footer included, each a
    list of cell texts."""
    parser = _Tables(css_class)
    parser.feed(response.content.decode())
    return parser.rows


def column(response, field):
    """The text of the changelist's cells of one column, top to bottom."""
    cells = re.findall(rf'<t[dh] class="field-{field}[^"]*">(.*?)</t[dh]>', response.content.decode(), re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in cells]


def readonly_field(response, field):
    """The text of a read-only field on a change page, tags and all."""
    content = response.content.decode()
    pattern = rf'<div class="form-row field-{field}">.*?<div class="readonly">(.*?)</div>\s*</div>'
    match = re.search(pattern, content, re.S)
    return match[1]


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def three_periods(template):
    """Valley 00:00–08:00 at 0.3210 + 0.4000, peak 08:00–23:00 at 1.0123 + 0.6000, valley 23:00–24:00."""
    return create_periods(
        template,
        [(0, 480, "valley", 3210, 4000), (480, 1380, "peak", 10_123, 6000), (1380, 1440, "valley", 3210, 4000)],
    )


def raise_peak_service_price(template, price_e4=8000):
    TariffDetail.objects.filter(template=template, interval=TimeInterval.PEAK).update(service_price_e4=price_e4)


PEAK_BEFORE = "Peak, electricity 1.0123, service 0.6000 yuan/kWh"
PEAK_AFTER = "Peak, electricity 1.0123, service 0.8000 yuan/kWh"
CHANGES_HEADER = ["item", "before", "after"]


def local_input(instant):
    """An instant as the datetime-local input sends it, in Beijing time."""
    return timezone.localtime(instant, BEIJING).strftime("%Y-%m-%dT%H:%M")


def tariff_of(template):
    """The template's working copy as a version stores it."""
    return tariff_template_draft(template=template).to_content()


# --- editing a template ----------------------------------------------------------------------------------


def test_a_template_typed_out_of_order_is_saved_with_its_rows_numbered_by_time(operator_client):
    # Given three periods typed in no particular order, prices in yuan
    data = template_post(
        period("18:00", "24:00", TimeInterval.PEAK, "1.0000", "0.6000"),
        period("00:00", "08:00", TimeInterval.VALLEY, "0.3000", "0.4000"),
        period("08:00", "18:00", TimeInterval.PLAIN, "0.6523", "0.5000"),
    )

    # When the operator saves the new template
    response = operator_client.post(TEMPLATE_ADD, data)

    # Then it is stored with its rows numbered 1, 2, 3 in order of time, prices in 0.0001 yuan
    assert response.status_code == 302
    template = TariffTemplate.objects.get(external_id="TPL-NEW")
    assert template.min_balance_fen == 1000
    assert stored_rows(template) == [
        (1, 0, 480, TimeInterval.VALLEY, 3000, 4000),
        (2, 480, 1080, TimeInterval.PLAIN, 6523, 5000),
        (3, 1080, 1440, TimeInterval.PEAK, 10_000, 6000),
    ]


def test_editing_a_template_renumbers_old_and_new_rows_by_time(operator_client):
    # Given a template of two periods
    template = TariffTemplateFactory(external_id="TPL-EDIT", name="工作日分时")
    night = PeriodFactory(template=template, position=1, start_minute=0, end_minute=480, interval="valley")
    day = PeriodFactory(template=template, position=2, start_minute=480, end_minute=1440, interval="plain")

    # When the day is cut at noon: the old day row now starts at 12:00 and a new row covers the morning
    data = template_post(
        period("08:00", "12:00", TimeInterval.PEAK, "1.0000", "0.6000"),
        existing=[
            (night, period("00:00", "08:00", TimeInterval.VALLEY, "0.6500", "0.4000")),
            (day, period("12:00", "24:00", TimeInterval.PLAIN, "0.6500", "0.4000")),
        ],
        external_id="TPL-EDIT",
    )
    response = operator_client.post(template_url(template), data)

    # Then the new row sits between the old ones
    assert response.status_code == 302
    assert stored_rows(template) == [
        (1, 0, 480, TimeInterval.VALLEY, 6500, 4000),
        (2, 480, 720, TimeInterval.PEAK, 10_000, 6000),
        (3, 720, 1440, TimeInterval.PLAIN, 6500, 4000),
    ]
    assert TariffDetail.objects.get(pk=day.pk).position == 3


def test_a_row_deleted_while_its_neighbour_takes_over_its_hours_is_gone_and_the_rest_renumbered(operator_client):
    # Given a template of three periods
    template = TariffTemplateFactory(external_id="TPL-EDIT")
    night = PeriodFactory(template=template, position=1, start_minute=0, end_minute=480, interval="valley")
    day = PeriodFactory(template=template, position=2, start_minute=480, end_minute=1080, interval="plain")
    evening = PeriodFactory(template=template, position=3, start_minute=1080, end_minute=1440, interval="peak")

    # When the night row is deleted and the day row stretched back to midnight
    data = template_post(
        existing=[
            (night, {**period("00:00", "08:00", "valley"), "DELETE": "on"}),
            (day, period("00:00", "18:00", "plain")),
            (evening, period("18:00", "24:00", "peak")),
        ],
        external_id="TPL-EDIT",
    )
    response = operator_client.post(template_url(template), data)

    # Then two rows remain, numbered from 1
    assert response.status_code == 302
    assert list(template.details.order_by("position").values_list("pk", "position", "start_minute", "end_minute")) == [
        (day.pk, 1, 0, 1080),
        (evening.pk, 2, 1080, 1440),
    ]


def test_an_ebike_tier_template_is_saved_with_the_charge_unit_defaulting_to_an_hour(operator_client):
    # Given an e-bike template of two tiers typed top-down, one with a four-hour unit and one without a unit
    data = template_post(
        tier(600, "1.0000", unit_seconds="14400"),
        tier(300, "0.5000"),
        kind=VehicleKind.EBIKE,
        start_fee_fen="0.50",
        max_pay_fen="5.00",
    )

    # When it is saved
    response = operator_client.post(TEMPLATE_ADD, data)

    # Then the tiers are numbered by power, the unit is an hour where none was typed, and money is in fen
    assert response.status_code == 302
    template = TariffTemplate.objects.get(external_id="TPL-NEW")
    assert (template.start_fee_fen, template.max_pay_fen) == (50, 500)
    assert list(
        template.details.order_by("position").values_list(
            "position", "power_upper_w", "unit_seconds", "interval", "electricity_price_e4", "end_minute"
        )
    ) == [(1, 300, 3600, "", 5000, None), (2, 600, 14_400, "", 10_000, None)]


ALL_DAY = period("00:00", "24:00", TimeInterval.PLAIN)


@pytest.mark.parametrize(
    ("rows", "expected_rows"),
    [
        pytest.param(
            [period("00:00", "08:00", "valley"), period("09:00", "24:00", "plain")],
            [[], ["period 09:00–24:00: nothing covers 08:00–09:00 before it; the day has a gap."]],
            id="gap",
        ),
        pytest.param(
            [period("07:00", "24:00", "plain"), period("00:00", "08:00", "valley")],
            [["period 07:00–24:00 overlaps period 00:00–08:00: they share 07:00–08:00."], []],
            id="overlap",
        ),
        pytest.param(
            [period("00:00", "08:00", "valley"), period("08:00", "25:00", "plain")],
            [[], ["Enter a time from 00:00 to 24:00."]],
            id="end after 24:00",
        ),
        pytest.param(
            [ALL_DAY, period("24:00", "24:00", "peak")],
            [[], ["period 24:00–24:00: a day ends at 24:00; no period can start or end after it."]],
            id="start at the end of the day",
        ),
        pytest.param(
            [period("06:00", "22:00", "plain"), period("22:00", "06:00", "valley")],
            [
                [],
                ["period 22:00–06:00: a period cannot cross midnight; split it into 22:00–24:00 and 00:00–06:00."],
            ],
            id="across midnight",
        ),
        pytest.param(
            [period("00:00", "24:00", "plain", electricity="-0.1")],
            [["Enter zero or more."]],
            id="negative price",
        ),
        pytest.param(
            [period("00:00", "24:00", "plain", service="0.65231")],
            [["Use at most 4 decimal places."]],
            id="five decimals",
        ),
        pytest.param(
            [{**ALL_DAY, "power_upper_w": 300}],
            [["A row is a period (from, to, interval) or a power tier (upper bound), not both."]],
            id="period and tier",
        ),
    ],
)
def test_a_broken_row_is_refused_on_its_row_and_nothing_is_saved(operator_client, rows, expected_rows):
    # When the operator saves a template with a broken row
    response = operator_client.post(TEMPLATE_ADD, template_post(*rows))

    # Then the page comes back with the problem on that row, and nothing is stored
    assert response.status_code == 200
    assert row_errors(response) == expected_rows
    assert general_errors(response) == []
    assert not TariffTemplate.objects.exists()
    assert not TariffDetail.objects.exists()


def test_money_with_fractions_of_a_fen_is_refused(operator_client):
    response = operator_client.post(TEMPLATE_ADD, template_post(ALL_DAY, min_balance_fen="10.001"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"min_balance_fen": ["Use at most 2 decimal places."]}
    assert not TariffTemplate.objects.exists()


@pytest.mark.parametrize(
    ("rows", "fields", "expected_general", "expected_rows"),
    [
        pytest.param(
            [ALL_DAY, tier(300, "0.5000")],
            {},
            [
                "An EV tariff is priced by time-of-use periods; power tiers are for e-bikes.",
                "A tariff has either periods or power tiers, not both.",
            ],
            [[], []],
            id="power tier on an EV template",
        ),
        pytest.param(
            [ALL_DAY],
            {"start_fee_fen": "1.00", "free_charging": "on"},
            ["Start fee, maximum payment and free charging are e-bike settings; clear them for an EV."],
            [[]],
            id="e-bike settings on an EV template",
        ),
        pytest.param(
            [tier(300, "0.5000"), tier(600, "0.7000"), tier(300, "0.6000")],
            {"kind": VehicleKind.EBIKE},
            [],
            [[], [], ["tier ≤ 300 W: another tier has the same upper bound; each tier needs its own."]],
            id="duplicate tier bounds",
        ),
    ],
)
def test_a_template_breaking_a_rule_is_refused_with_the_reason_and_nothing_is_saved(
    operator_client, rows, fields, expected_general, expected_rows
):
    response = operator_client.post(TEMPLATE_ADD, template_post(*rows, **fields))

    assert response.status_code == 200
    assert general_errors(response) == expected_general
    assert row_errors(response) == expected_rows
    assert not TariffTemplate.objects.exists()
    assert not TariffDetail.objects.exists()


def test_a_broken_edit_leaves_the_stored_rows_as_they_were(operator_client):
    # Given a sound template of two periods
    template = TariffTemplateFactory(external_id="TPL-EDIT")
    night = PeriodFactory(template=template, position=1, start_minute=0, end_minute=480, interval="valley")
    day = PeriodFactory(template=template, position=2, start_minute=480, end_minute=1440, interval="plain")
    before = stored_rows(template)

    # When the morning is moved so the day has a gap, and a price edited in the same post
    data = template_post(
        existing=[
            (night, period("00:00", "07:00", "valley", "0.1000")),
            (day, period("08:00", "24:00", "plain")),
        ],
        external_id="TPL-EDIT",
        name="改名",
    )
    response = operator_client.post(template_url(template), data)

    # Then the gap is named on the later row and neither the rows nor the template changed
    assert response.status_code == 200
    gap = "period 08:00–24:00: nothing covers 07:00–08:00 before it; the day has a gap."
    assert row_errors(response) == [[], [gap]]
    assert stored_rows(template) == before
    template.refresh_from_db()
    assert template.name != "改名"


def test_the_template_page_shows_rows_in_time_order_with_times_and_prices_as_typed(operator_client):
    template = TariffTemplateFactory()
    PeriodFactory(template=template, position=2, start_minute=480, end_minute=1440, electricity_price_e4=6523)
    PeriodFactory(template=template, position=1, start_minute=0, end_minute=480, electricity_price_e4=3000)

    response = operator_client.get(template_url(template))

    forms = inline_formset(response).forms
    assert [form.instance.position for form in forms] == [1, 2]
    assert [form["start_minute"].value() for form in forms] == ["00:00", "08:00"]
    content = response.content.decode()
    assert 'value="08:00"' in content
    assert 'value="24:00"' in content
    assert 'value="0.6523"' in content
    assert 'value="0.3000"' in content


# --- publishing ---------------------------------------------------------------------------------------------


def test_the_publish_page_of_a_new_template_shows_the_tariff_to_be_published(operator_client):
    template = three_periods(TariffTemplateFactory())

    response = operator_client.get(publish_url(template))

    assert response.status_code == 200
    assert "This will be the template's first version." in response.content.decode()
    assert table(response, "tariff-rows") == [
        ["from", "to", "interval", "electricity price (yuan/kWh)", "service price (yuan/kWh)"],
        ["00:00", "08:00", "Valley", "0.3210", "0.4000"],
        ["08:00", "23:00", "Peak", "1.0123", "0.6000"],
        ["23:00", "24:00", "Valley", "0.3210", "0.4000"],
    ]


def test_the_publish_page_shows_the_changes_since_the_latest_version(operator_client):
    # Given a published template whose peak service price was raised since
    template = three_periods(TariffTemplateFactory())
    TariffVersionFactory(template=template, number=1, content=tariff_of(template))
    raise_peak_service_price(template)

    # When the operator opens the publish page
    response = operator_client.get(publish_url(template))

    # Then the page shows that one change, before and after
    assert "Changes since version 1" in response.content.decode()
    assert table(response, "tariff-changes") == [CHANGES_HEADER, ["period 08:00–23:00", PEAK_BEFORE, PEAK_AFTER]]


def test_publishing_without_a_time_puts_version_1_in_force_now(operator_client, operator):
    # Given a template never published
    template = three_periods(TariffTemplateFactory(name="工作日分时"))
    before = timezone.now()

    # When the operator publishes it, leaving the time empty
    response = operator_client.post(publish_url(template), {"effective_from": "", "note": "开业定价"})

    # Then version 1 is in force from now, published by the operator, and the operator lands on it
    published = TariffVersion.objects.get(template=template)
    assert response.status_code == 302
    assert response.url == version_url(published)
    assert (published.number, published.name, published.note) == (1, "工作日分时", "开业定价")
    assert (published.published_by, published.published_by_name) == (operator, "operator")
    assert before <= published.effective_from == published.published_at <= timezone.now()
    assert published.content == tariff_of(template)
    when = timezone.localtime(published.effective_from, BEIJING).strftime("%Y-%m-%d %H:%M")
    assert messages_of(response) == [f"Published 工作日分时 v1, in force from {when}."]


def test_a_version_published_for_later_leaves_the_old_one_in_force_until_then(operator_client):
    # Given a template in force as version 1 at a station, then the peak service price raised
    template = three_periods(TariffTemplateFactory(name="工作日分时"))
    station = StationFactory(tariff_template=template)
    operator_client.post(publish_url(template), {"effective_from": ""})
    raise_peak_service_price(template)
    takes_effect = (timezone.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0)

    # When the operator publishes the change to take effect in two days
    response = operator_client.post(publish_url(template), {"effective_from": local_input(takes_effect)})

    # Then version 2 is scheduled for that minute
    assert response.status_code == 302
    scheduled = TariffVersion.objects.get(template=template, number=2)
    assert scheduled.effective_from == takes_effect
    # And the lists still show version 1 in force, with version 2 as the latest
    templates = operator_client.get(TEMPLATES, {"q": template.external_id})
    assert column(templates, "version_in_force") == ["v1"]
    assert column(templates, "latest_version") == ["v2"]
    stations = operator_client.get(reverse("admin:stations_station_changelist"), {"q": station.code})
    assert column(stations, "tariff_version_in_force") == ["v1"]
    versions = operator_client.get(VERSIONS)
    assert column(versions, "number") == ["2", "1"]
    assert column(versions, "state") == ["scheduled", "in force"]


def test_publishing_before_a_scheduled_version_warns_that_it_will_be_replaced(operator_client):
    # Given version 2 scheduled for next week
    template = three_periods(TariffTemplateFactory(name="工作日分时"))
    next_week = (timezone.now() + dt.timedelta(days=7)).replace(second=0, microsecond=0)
    TariffVersionFactory(template=template, number=1, effective_from=timezone.now() - dt.timedelta(days=30))
    TariffVersionFactory(template=template, number=2, effective_from=next_week)

    # When a version 3 is published to take effect now
    response = operator_client.post(publish_url(template), {"effective_from": ""})

    # Then the operator is told version 2 will still replace it next week
    assert response.status_code == 302
    when = timezone.localtime(next_week, BEIJING).strftime("%Y-%m-%d %H:%M")
    assert messages_of(response)[1:] == [f"工作日分时 v2 is still scheduled for {when} and will replace this one then."]


def test_publishing_an_unchanged_template_is_refused(operator_client):
    template = three_periods(TariffTemplateFactory())
    operator_client.post(publish_url(template), {"effective_from": ""})

    response = operator_client.post(publish_url(template), {"effective_from": ""})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Nothing to publish: the template is the same as version 1."]
    assert template.versions.count() == 1


def test_publishing_for_a_time_in_the_past_is_refused(operator_client):
    template = three_periods(TariffTemplateFactory())

    response = operator_client.post(
        publish_url(template), {"effective_from": local_input(timezone.now() - dt.timedelta(hours=1))}
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["A version takes effect now or later, not in the past."]
    assert not template.versions.exists()


def test_an_invalid_working_copy_cannot_be_published_and_the_page_says_why(operator_client):
    # Given a template whose periods leave 08:00–09:00 uncovered
    template = TariffTemplateFactory()
    PeriodFactory(template=template, position=1, start_minute=0, end_minute=480)
    PeriodFactory(template=template, position=2, start_minute=540, end_minute=1440)
    problem = "period 09:00–24:00: nothing covers 08:00–09:00 before it; the day has a gap."

    # When the operator opens the publish page, and posts it anyway
    page = operator_client.get(publish_url(template))
    posted = operator_client.post(publish_url(template), {"effective_from": ""})

    # Then the page lists the problem and offers no form, and nothing is published
    assert [problem.message for problem in page.context["problems"]] == [problem]
    assert problem in page.content.decode()
    assert 'value="Publish"' not in page.content.decode()
    assert posted.status_code == 200
    assert not template.versions.exists()


def test_someone_who_may_not_publish_is_forbidden(client, finance):
    client.force_login(finance)
    template = three_periods(TariffTemplateFactory())

    assert client.get(publish_url(template)).status_code == 403
    assert client.post(publish_url(template), {"effective_from": ""}).status_code == 403
    assert not template.versions.exists()


def test_versions_are_numbered_up_from_1_as_they_are_published(operator_client):
    template = three_periods(TariffTemplateFactory())

    for price_e4 in (7000, 8000, 9000):
        operator_client.post(publish_url(template), {"effective_from": ""})
        raise_peak_service_price(template, price_e4)

    assert list(template.versions.order_by("published_at", "pk").values_list("number", flat=True)) == [1, 2, 3]


# --- the template list and page ------------------------------------------------------------------------------


def test_template_changelist_shows_rules_in_display_units_and_counts_rows(operator_client):
    template = TariffTemplateFactory(free_charge_seconds=600, min_balance_fen=500)
    PeriodFactory.create_batch(3, template=template)

    response = operator_client.get(TEMPLATES)

    (row,) = response.context["cl"].result_list
    assert row.detail_count == 3
    assert column(response, "free_time") == ["0:10:00"]
    assert column(response, "min_balance") == ["5.00"]
    assert column(response, "detail_count") == ["3"]


def test_template_changelist_shows_the_versions_and_the_stations_using_each_template(operator_client):
    # Given a template in force as v2 with v3 scheduled, used by two stations; and one never published
    published = TariffTemplateFactory(name="A 峰谷")
    TariffVersionFactory(template=published, number=1, effective_from=timezone.now() - dt.timedelta(days=60))
    TariffVersionFactory(template=published, number=2, effective_from=timezone.now() - dt.timedelta(days=1))
    TariffVersionFactory(template=published, number=3, effective_from=timezone.now() + dt.timedelta(days=1))
    StationFactory.create_batch(2, tariff_template=published)
    TariffTemplateFactory(name="B 草稿")

    # When the list is opened
    response = operator_client.get(TEMPLATES)

    # Then each row says which version is in force, which is the latest, and how many stations use it
    assert column(response, "name") == ["A 峰谷", "B 草稿"]
    assert column(response, "version_in_force") == ["v2", "—"]
    assert column(response, "latest_version") == ["v3", "—"]
    assert column(response, "station_count") == ["2", "0"]


def test_template_changelist_queries_do_not_grow_with_the_number_of_rows(operator_client):
    def templates(count):
        for i in range(count):
            template = TariffTemplateFactory()
            PeriodFactory.create_batch(i % 3 + 1, template=template)
            TariffVersionFactory.create_batch(i % 2 + 1, template=template)
            StationFactory.create_batch(i % 2, tariff_template=template)

    assert_changelist_queries_constant(operator_client, TEMPLATES, templates)


def test_the_template_page_says_a_template_was_never_published(operator_client):
    template = three_periods(TariffTemplateFactory())

    response = operator_client.get(template_url(template))

    assert readonly_field(response, "publication") == (
        "Never published: sessions cannot be priced with it until it is."
    )
    content = response.content.decode()
    assert publish_url(template) in content
    assert preview_url(template) in content


def test_the_template_page_says_the_working_copy_is_the_latest_version(operator_client):
    template = three_periods(TariffTemplateFactory())
    TariffVersionFactory(template=template, number=1, content=tariff_of(template))
    TariffVersionFactory(template=template, number=2, content=tariff_of(template))

    response = operator_client.get(template_url(template))

    assert readonly_field(response, "publication") == "The working copy is the same as version 2."


def test_the_template_page_lists_the_changes_not_yet_published(operator_client):
    template = three_periods(TariffTemplateFactory())
    TariffVersionFactory(template=template, number=1, content=tariff_of(template))
    raise_peak_service_price(template)

    response = operator_client.get(template_url(template))

    assert readonly_field(response, "publication").startswith("Changed since version 1, not yet published:")
    assert table(response, "tariff-changes") == [CHANGES_HEADER, ["period 08:00–23:00", PEAK_BEFORE, PEAK_AFTER]]


def test_the_add_page_asks_to_save_before_publishing(operator_client):
    response = operator_client.get(TEMPLATE_ADD)

    assert response.status_code == 200
    assert inline_formset(response).forms == []
    assert "Save the template, then publish it." in response.content.decode()


def test_the_template_page_offers_no_publish_link_to_whom_may_not_publish(client, operator):
    # Given an operator who may edit templates but not publish them
    operator.groups.clear()
    operator.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="tariffs",
            codename__in=["view_tarifftemplate", "change_tarifftemplate", "change_tariffdetail", "add_tariffdetail"],
        )
    )
    client.force_login(operator)
    template = three_periods(TariffTemplateFactory())

    content = client.get(template_url(template)).content.decode()

    assert publish_url(template) not in content
    assert preview_url(template) in content


# --- the price preview -------------------------------------------------------------------------------------------

BREAKDOWN_HEADER = [
    "line",
    "from",
    "to",
    "energy (kWh)",
    "time",
    "electricity price (yuan)",
    "service price (yuan)",
    "electricity fee (yuan)",
    "service fee (yuan)",
    "total (yuan)",
]


def test_the_preview_prices_a_session_across_a_peak_valley_boundary_and_midnight(operator_client):
    # Given the working copy of a template with a peak until 23:00 and a valley after
    template = three_periods(TariffTemplateFactory())

    # When 28 kWh charged evenly from 22:00 to 02:00 is previewed
    response = operator_client.get(
        preview_url(template),
        {"version": "draft", "started_at": "2026-11-20T22:00", "ended_at": "2026-11-21T02:00", "energy_wh": "28"},
    )

    # Then each hour holds 7 kWh, and each line is rounded half up to the fen:
    #   peak 22–23:    7 kWh × 1.0123 = 7.0861 → 7.09,  × 0.6 = 4.20
    #   valley 23–24:  7 kWh × 0.3210 = 2.2470 → 2.25,  × 0.4 = 2.80
    #   valley 00–02: 14 kWh × 0.3210 = 4.4940 → 4.49,  × 0.4 = 5.60
    assert response.status_code == 200
    header, *lines = table(response, "tariff-breakdown")
    assert header == BREAKDOWN_HEADER
    assert [line[:5] for line in lines] == [
        ["Peak", "2026-11-20 22:00:00", "2026-11-20 23:00:00", "7.000", "1:00:00"],
        ["Valley", "2026-11-20 23:00:00", "2026-11-21 00:00:00", "7.000", "1:00:00"],
        ["Valley", "2026-11-21 00:00:00", "2026-11-21 02:00:00", "14.000", "2:00:00"],
        ["total", "", "", "28.000", "4:00:00"],
    ]
    assert [line[5:] for line in lines] == [
        ["1.0123", "0.6000", "7.09", "4.20", "11.29"],
        ["0.3210", "0.4000", "2.25", "2.80", "5.05"],
        ["0.3210", "0.4000", "4.49", "5.60", "10.09"],
        ["", "", "13.83", "12.60", "26.43"],
    ]


def test_the_preview_prices_a_curve_of_readings(operator_client):
    # Given the same template, and readings of 3.5 kWh at 22:30, 10.5 at 23:30 and 14 at 00:30
    template = three_periods(TariffTemplateFactory())
    curve = "2026-11-20 22:30, 3.5\n2026-11-20 23:30, 10.5\n2026-11-21 00:30, 14\n"

    # When the curve is previewed
    response = operator_client.get(
        preview_url(template),
        {"version": "draft", "started_at": "2026-11-20T22:00", "ended_at": "2026-11-21T00:30", "curve": curve},
    )

    # Then the energy at each boundary lies on the line between the readings around it:
    #   23:00 is halfway from 3.5 to 10.5 → 7 kWh;  00:00 is halfway from 10.5 to 14 → 12.25 kWh
    #   peak 22–23:       7 kWh    × 1.0123 = 7.0861  → 7.09,  × 0.6 = 4.20
    #   valley 23–24:     5.25 kWh × 0.3210 = 1.68525 → 1.69,  × 0.4 = 2.10
    #   valley 00–00:30:  1.75 kWh × 0.3210 = 0.56175 → 0.56,  × 0.4 = 0.70
    _header, *lines = table(response, "tariff-breakdown")
    assert [line[:5] for line in lines] == [
        ["Peak", "2026-11-20 22:00:00", "2026-11-20 23:00:00", "7.000", "1:00:00"],
        ["Valley", "2026-11-20 23:00:00", "2026-11-21 00:00:00", "5.250", "1:00:00"],
        ["Valley", "2026-11-21 00:00:00", "2026-11-21 00:30:00", "1.750", "0:30:00"],
        ["total", "", "", "14.000", "2:30:00"],
    ]
    assert [line[5:] for line in lines] == [
        ["1.0123", "0.6000", "7.09", "4.20", "11.29"],
        ["0.3210", "0.4000", "1.69", "2.10", "3.79"],
        ["0.3210", "0.4000", "0.56", "0.70", "1.26"],
        ["", "", "9.34", "7.00", "16.34"],
    ]


def test_a_bad_curve_line_is_named_in_the_error(operator_client):
    template = three_periods(TariffTemplateFactory())
    curve = "2026-11-20 22:30, 3.5\n\nyesterday evening, 5\n"

    response = operator_client.get(
        preview_url(template),
        {"version": "draft", "started_at": "2026-11-20T22:00", "ended_at": "2026-11-21T00:30", "curve": curve},
    )

    assert response.context["form"].errors == {
        "curve": ["Line 3: write a time and a kWh reading, e.g. 2026-11-21 22:10, 1.25."]
    }
    assert table(response, "tariff-breakdown") == []


def test_a_curve_going_backwards_is_refused(operator_client):
    template = three_periods(TariffTemplateFactory())
    curve = "2026-11-20 22:30, 3.5\n2026-11-20 23:00, 2\n"

    response = operator_client.get(
        preview_url(template),
        {"version": "draft", "started_at": "2026-11-20T22:00", "ended_at": "2026-11-20T23:00", "curve": curve},
    )

    assert response.context["form"].errors == {"curve": ["cumulative energy decreases at reading 2"]}
    assert table(response, "tariff-breakdown") == []


def test_the_preview_of_a_power_tier_template_needs_the_peak_power(operator_client):
    # Given an e-bike template: up to 300 W at 0.50 yuan an hour, up to 600 W at 0.70
    template = TariffTemplateFactory(kind=VehicleKind.EBIKE)
    PowerTierFactory(template=template, position=1, power_upper_w=300, electricity_price_e4=5000)
    PowerTierFactory(template=template, position=2, power_upper_w=600, electricity_price_e4=7000)
    session = {"version": "draft", "started_at": "2026-11-20T22:00", "ended_at": "2026-11-20T23:30"}

    # When a session is previewed without its peak power, then with 450 W
    without = operator_client.get(preview_url(template), session)
    with_power = operator_client.get(preview_url(template), {**session, "peak_power_w": "450"})

    # Then the power is asked for, and 90 minutes at the 600 W tier cost 1.5 h × 0.70 = 1.05 yuan
    assert without.context["form"].errors == {"peak_power_w": ["A power-tier tariff needs the session's peak power."]}
    assert table(with_power, "tariff-breakdown")[1:] == [
        ["tier ≤ 600 W", "", "", "0.000", "1:30:00", "0.7000", "0.0000", "1.05", "0.00", "1.05"],
        ["total", "", "", "0.000", "1:30:00", "", "", "1.05", "0.00", "1.05"],
    ]


def test_the_preview_refuses_an_end_before_the_start(operator_client):
    template = three_periods(TariffTemplateFactory())

    response = operator_client.get(
        preview_url(template),
        {"version": "draft", "started_at": "2026-11-20T22:00", "ended_at": "2026-11-20T21:00", "energy_wh": "1"},
    )

    assert response.context["form"].errors == {"ended_at": ["The end must not be before the start."]}
    assert table(response, "tariff-breakdown") == []


def test_the_preview_of_an_ev_template_asks_for_no_peak_power(operator_client):
    template = three_periods(TariffTemplateFactory())

    response = operator_client.get(preview_url(template))

    assert response.status_code == 200
    assert "peak_power_w" not in response.context["form"].fields
    assert table(response, "tariff-breakdown") == []


def test_the_preview_prices_a_published_version_or_the_working_copy(operator_client):
    # Given version 1 published, then the peak service price raised in the working copy
    template = three_periods(TariffTemplateFactory())
    operator_client.post(publish_url(template), {"effective_from": ""})
    raise_peak_service_price(template)
    session = {"started_at": "2026-11-20T10:00", "ended_at": "2026-11-20T11:00", "energy_wh": "10"}

    # When 10 kWh in the peak is previewed with each
    published = operator_client.get(preview_url(template), {**session, "version": "1"})
    draft = operator_client.get(preview_url(template), {**session, "version": "draft"})

    # Then 10 × 1.0123 = 10.123 → 10.12 either way, and the service is 10 × 0.60 or 10 × 0.80
    total = ["total", "", "", "10.000", "1:00:00", "", ""]
    assert table(published, "tariff-breakdown")[-1] == [*total, "10.12", "6.00", "16.12"]
    assert table(draft, "tariff-breakdown")[-1] == [*total, "10.12", "8.00", "18.12"]
    # And the page offers both to choose from
    assert [value for value, _label in published.context["form"].fields["version"].choices] == ["draft", "1"]


def test_the_preview_of_an_invalid_working_copy_names_the_problem(operator_client):
    template = TariffTemplateFactory()
    PeriodFactory(template=template, position=1, start_minute=0, end_minute=480)

    response = operator_client.get(
        preview_url(template),
        {"version": "draft", "started_at": "2026-11-20T10:00", "ended_at": "2026-11-20T11:00", "energy_wh": "1"},
    )

    assert response.context["form"].non_field_errors() == [
        "Nothing covers 08:00–24:00: the periods must cover the whole day."
    ]
    assert table(response, "tariff-breakdown") == []


# --- versions ----------------------------------------------------------------------------------------------------


def test_the_version_list_says_which_version_is_in_force_scheduled_or_superseded(operator_client):
    # Given versions that took effect two months and a day ago, and one that takes effect tomorrow
    template = TariffTemplateFactory()
    now = timezone.now()
    for number, days in ((1, -60), (2, -1), (3, 1)):
        TariffVersionFactory(template=template, number=number, effective_from=now + dt.timedelta(days=days))

    response = operator_client.get(VERSIONS)

    assert column(response, "number") == ["3", "2", "1"]
    assert column(response, "state") == ["scheduled", "in force", "superseded"]


def test_the_version_page_shows_its_tariff_and_what_changed_from_the_version_before(operator_client):
    # Given version 2 raising the peak service price of version 1
    template = three_periods(TariffTemplateFactory())
    TariffVersionFactory(template=template, number=1, content=tariff_of(template))
    raise_peak_service_price(template)
    second = TariffVersionFactory(template=template, number=2, content=tariff_of(template))

    # When its page is opened
    response = operator_client.get(version_url(second))

    # Then it shows its rows and the one change, before and after
    assert response.status_code == 200
    assert table(response, "tariff-rows")[2] == ["08:00", "23:00", "Peak", "1.0123", "0.8000"]
    assert "From v1 to v2:" in response.content.decode()
    assert table(response, "tariff-changes") == [CHANGES_HEADER, ["period 08:00–23:00", PEAK_BEFORE, PEAK_AFTER]]


def test_the_version_page_compares_with_the_version_asked_for(operator_client):
    # Given three versions: the peak service price 0.60, then 0.80, then 0.90
    template = three_periods(TariffTemplateFactory())
    TariffVersionFactory(template=template, number=1, content=tariff_of(template))
    raise_peak_service_price(template, 8000)
    TariffVersionFactory(template=template, number=2, content=tariff_of(template))
    raise_peak_service_price(template, 9000)
    third = TariffVersionFactory(template=template, number=3, content=tariff_of(template))

    # When version 3 is compared with version 1
    response = operator_client.get(version_url(third), {"compare": "1"})

    # Then the change reads from 0.60 to 0.90, and the other versions are offered
    assert "From v1 to v3:" in response.content.decode()
    assert table(response, "tariff-changes") == [
        CHANGES_HEADER,
        ["period 08:00–23:00", PEAK_BEFORE, "Peak, electricity 1.0123, service 0.9000 yuan/kWh"],
    ]
    assert response.context["other_numbers"] == [2, 1]


def test_the_first_version_has_nothing_to_compare_with(operator_client):
    first = TariffVersionFactory()

    response = operator_client.get(version_url(first))

    assert "The first version." in response.content.decode()
    assert table(response, "tariff-changes") == []


def test_the_version_page_lists_the_stations_using_its_template_with_their_chargers(operator_client):
    # Given a version whose template two stations use, one with two chargers; and another template's station
    version = TariffVersionFactory(effective_from=timezone.now() - dt.timedelta(days=1))
    busy = StationFactory(tariff_template=version.template, code="ST-A")
    ChargerFactory.create_batch(2, station=busy)
    idle = StationFactory(tariff_template=version.template, code="ST-B")
    elsewhere = StationFactory(code="ST-C")

    response = operator_client.get(version_url(version))

    # Then its usage names exactly those stations, in code order, with their charger counts
    rows = table(response)  # the usage table has no class of its own; find it by its header
    usage = rows[rows.index(["station", "status", "chargers"]) + 1 :]
    assert usage == [[str(busy), "Operating", "2"], [str(idle), "Operating", "0"]]
    assert str(elsewhere) not in response.content.decode()


def test_versions_are_read_only_even_for_a_superuser(client, superuser):
    client.force_login(superuser)
    version = TariffVersionFactory(note="原样")

    assert client.get(reverse("admin:tariffs_tariffversion_add")).status_code == 403
    assert client.post(version_url(version), {"note": "改了"}).status_code == 403
    assert client.get(reverse("admin:tariffs_tariffversion_delete", args=[version.pk])).status_code == 403
    listing = client.get(VERSIONS)
    assert listing.context["action_form"] is None  # not even "delete selected"
    page = client.get(version_url(version))
    assert page.context["adminform"].form.fields == {}
    version.refresh_from_db()
    assert version.note == "原样"


def test_the_version_changelist_queries_do_not_grow_with_the_number_of_rows(operator_client):
    def versions(count):
        for version in TariffVersionFactory.create_batch(count):  # each of its own template
            StationFactory(tariff_template=version.template)

    assert_changelist_queries_constant(operator_client, VERSIONS, versions)


@pytest.mark.parametrize("limit", [168, 24])
def test_the_preview_refuses_a_session_longer_than_the_engine_prices_naming_the_limit(operator_client, settings, limit):
    # Given the longest session the engine prices (PRICING_MAX_SESSION_HOURS)
    settings.PRICING_MAX_SESSION_HOURS = limit
    template = three_periods(TariffTemplateFactory())
    start = at(2026, 11, 20, 22, 0)
    session = {"version": "draft", "started_at": f"{start:%Y-%m-%dT%H:%M}", "energy_wh": "10"}

    # When a session a minute longer is previewed, and one exactly that long
    too_late, latest = start + dt.timedelta(hours=limit, minutes=1), start + dt.timedelta(hours=limit)
    too_long = operator_client.get(preview_url(template), {**session, "ended_at": f"{too_late:%Y-%m-%dT%H:%M}"})
    longest = operator_client.get(preview_url(template), {**session, "ended_at": f"{latest:%Y-%m-%dT%H:%M}"})

    # Then the longer one is refused on its end, naming the limit, and the other is priced
    assert too_long.context["form"].errors == {
        "ended_at": [f"A session lasts at most {limit} hours; the preview prices no longer one."]
    }
    assert table(too_long, "tariff-breakdown") == []
    assert longest.context["form"].errors == {}
    assert table(longest, "tariff-breakdown")[-1][3] == "10.000"


def test_the_preview_refuses_a_curve_reading_further_from_the_start_than_the_longest_session(operator_client, settings):
    settings.PRICING_MAX_SESSION_HOURS = 24
    template = three_periods(TariffTemplateFactory())
    curve = "2026-11-20 23:00, 1\n2026-11-21 22:01, 2\n"

    response = operator_client.get(
        preview_url(template),
        {"version": "draft", "started_at": "2026-11-20T22:00", "ended_at": "2026-11-20T23:00", "curve": curve},
    )

    assert response.context["form"].errors == {
        "curve": ["Line 2: the reading is more than 24 hours from the start; a session lasts at most that long."]
    }
    assert table(response, "tariff-breakdown") == []


def test_the_preview_refuses_an_energy_too_large_for_any_count(operator_client):
    template = three_periods(TariffTemplateFactory())

    response = operator_client.get(
        preview_url(template),
        {"version": "draft", "started_at": "2026-11-20T22:00", "ended_at": "2026-11-20T23:00", "energy_wh": "9" * 5000},
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"energy_wh": ["Enter a smaller number."]}
