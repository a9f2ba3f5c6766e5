"""Every admin page answers hostile parameters with a message, an empty result or a refusal, never a 500.

Nothing is listed by hand, so a new ModelAdmin, filter or page is covered as it appears: the ModelAdmins
are those registered on the site (Django's and django-q's too), a list's parameters are those its filters
and date hierarchy read, the objects are made by the suite's factories, the custom pages are each
ModelAdmin's URLs beyond Django's own, and a page's other parameters are the names its forms and links
use. Each is asked, as a superuser, with values that fit no query: NUL, a lone surrogate, numbers of 5,000
digits, years past 9999, unknown lookups, junk ordering and page numbers.

Then one test per failure seen before the guard (backoffice.adminkit.parameters), with what it answers now.
"""

import importlib
import inspect
import re
from pathlib import Path
from urllib.parse import quote

import factory
import pytest
from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.messages import get_messages
from django.urls import reverse
from django.urls.resolvers import URLPattern

from backoffice.adminkit import GuardedParametersAdminMixin
from orders.models import Order
from tests.orders.factories import OrderFactory
from tests.tariffs.factories import PeriodFactory, TariffTemplateFactory, TariffVersionFactory

pytestmark = [
    pytest.mark.django_db,
    # A time typed into an address has no zone; Django warns and reads it in Beijing time. The suite makes
    # that warning an error, for our own code's times.
    pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime:RuntimeWarning"),
]

TESTS = Path(__file__).resolve().parents[1]

# Values as they stand in a query string, encoded.
LONE_SURROGATE = "%ED%A0%80"
HOSTILE = (
    "%00",
    LONE_SURROGATE,
    "99999999999999999999",
    "9" * 5000,
    "-1",
    "x",
    "",
    "1e999999",
    quote("²"),
    "0001-01-01",
    quote("9999-12-31T23:59"),
)
PAGE_JUNK = ("-1", str(10**30), "x", "9" * 5000, "0", "%00")
ORDER_JUNK = ("x", "-", "99999999999999999999", "9" * 5000, "1.2.-3", "-0.x", "%00")
# The admin lets an address filter by any lookup of a model's own fields.
FIELD_LOOKUPS = (
    ("", "%00"),
    ("", "9" * 5000),
    ("__in", "%00,x"),
    ("__gte", "1e999999"),
    ("__year", "99999999999999999999"),
    ("__isnull", "x"),
    ("__regex", "("),
    ("__nonexistent", "1"),
)
DATE_HIERARCHY_JUNK = (
    ("9999", "12"),
    ("9999", "12", "31"),
    ("1",),
    ("1", "1", "1"),
    ("0",),
    ("2026", "13"),
    ("2026", "2", "30"),
    ("2026", "99999999999999999999"),
    ("2026", "1", "9" * 5000),
    ("99999999999999999999", "1", "1"),
)
OBJECT_PARAMETERS = ("_changelist_filters", "_to_field", "_popup")
PATH_IDS = ("%00", "9" * 5000, "99999999999999999999", "-1", "x", LONE_SURROGATE)
STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")


# --- what there is to ask ----------------------------------------------------------------------------------


def registered():
    return sorted(admin.site._registry.values(), key=lambda model_admin: model_admin.opts.label_lower)


def admin_id(model_admin):
    return model_admin.opts.label_lower


def url_of(model_admin, view, *args):
    return reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_{view}", args=args)


def custom_patterns(model_admin):
    """The URL patterns a ModelAdmin adds to Django's own."""
    standard = {f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_{view}" for view in STANDARD_VIEWS}
    return [
        pattern for pattern in model_admin.get_urls()
        if isinstance(pattern, URLPattern) and pattern.name and pattern.name not in standard
    ]


def suite_factories():
    """A factory per model, from the suite's factories modules: the first one (by name) that makes it."""
    found = {}
    for path in sorted(TESTS.rglob("factories.py")):
        module = importlib.import_module(".".join(path.relative_to(TESTS.parent).with_suffix("").parts))
        for _name, member in inspect.getmembers(module, inspect.isclass):
            if issubclass(member, factory.django.DjangoModelFactory) and member._meta.model is not None:
                found.setdefault(member._meta.model, member)
    return found


@pytest.fixture
def hostile_client(client, superuser):
    """A superuser's browser asking for English pages; a server error comes back as a 500, not raised."""
    client.force_login(superuser)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.raise_request_exception = False
    return client


@pytest.fixture
def objects():
    """An object of every registered model the suite has a factory for."""
    factories = suite_factories()
    return {model: factories[model]() for model in admin.site._registry if model in factories}


def query(url, *pairs):
    """`url` with the (name, encoded value) pairs as its query string."""
    return f"{url}?{'&'.join(f'{quote(name)}={value}' for name, value in pairs)}"


def offered_parameters(html, *, forms=True):
    """The names of the parameters a page offers: those of its links' query strings, and its forms' fields."""
    names = {
        name
        for link in re.findall(r'href="[^"]*\?([^"]*)"', html)
        for name in re.findall(r"(?:^|&amp;|&)([^=&;]+)=", link)
    }
    if forms:
        names |= set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))
    return sorted(names - {"csrfmiddlewaretoken"})


def hostile_queries(url, names):
    """`url` with each of `names` set to each hostile value, one name at a time and all of them together."""
    urls = [query(url, (name, value)) for name in names for value in HOSTILE]
    urls += [query(url, *((name, value) for name in names)) for value in HOSTILE]
    return urls


def server_errors(client, urls):
    """The URLs among `urls` answered with a server error, each with its status."""
    found = []
    for url in urls:
        status = client.get(url).status_code
        if status >= 500:
            found.append((status, url[:200]))
    return found


# --- every list, its filters, its search -------------------------------------------------------------------


def changelist_urls(client, model_admin):
    url = url_of(model_admin, "changelist")
    clean = client.get(url)
    assert clean.status_code == 200, url
    urls = [query(url, ("q", value)) for value in HOSTILE]
    urls += [query(url, ("p", value)) for value in PAGE_JUNK]
    urls += [query(url, ("all", ""), ("p", value)) for value in PAGE_JUNK]
    urls += [query(url, ("o", value)) for value in ORDER_JUNK]
    urls += [query(url, (ERROR_FLAG, value)) for value in ("1", "x", "", "%00")]
    urls += [query(url, (ERROR_FLAG, "1"), ("q", "%00"), ("nonexistent", "1"))]
    urls += [query(url, ("_facets", "1"), ("q", value)) for value in ("%00", "9" * 5000)]
    urls += [query(url, ("_popup", "1"), ("_to_field", value)) for value in ("x", "%00", "", "id")]
    urls += [query(url, ("nonexistent", "1")), query(url, ("pk__in", "x,y")), query(url, ("%00", "1"))]
    changelist = clean.context.get("cl")
    if changelist is None:  # a page of its own in the changelist's place (the daily close's list of days)
        return urls
    for spec in changelist.filter_specs:
        for name in spec.expected_parameters():
            urls += [query(url, (name, value)) for value in HOSTILE]
            urls += [query(url, ("_facets", "1"), (name, value)) for value in ("%00", "9" * 5000)]
    if changelist.date_hierarchy:
        parts = [f"{changelist.date_hierarchy}__{part}" for part in ("year", "month", "day")]
        urls += [query(url, (part, value)) for part in parts for value in HOSTILE]
        urls += [query(url, *zip(parts, values, strict=False)) for values in DATE_HIERARCHY_JUNK]
    for field in model_admin.model._meta.concrete_fields:
        urls += [query(url, (f"{field.name}{lookup}", value)) for lookup, value in FIELD_LOOKUPS]
    return urls


def test_every_registered_admin_is_guarded():
    reverse("admin:index")  # the site guards its admins as it builds its URLs
    assert all(isinstance(model_admin, GuardedParametersAdminMixin) for model_admin in registered())


@pytest.mark.parametrize("model_admin", registered(), ids=admin_id)
def test_no_list_fails_on_hostile_parameters(hostile_client, objects, monkeypatch, model_admin):
    # A row a page, so that a list of two rows or more reads its page number.
    monkeypatch.setattr(model_admin, "list_per_page", 1)
    assert server_errors(hostile_client, changelist_urls(hostile_client, model_admin)) == []


@pytest.mark.parametrize("model_admin", [m for m in registered() if m.autocomplete_fields], ids=admin_id)
def test_no_autocomplete_fails_on_a_hostile_term(hostile_client, objects, model_admin):
    opts = model_admin.opts
    urls = [
        query(reverse("admin:autocomplete"), ("app_label", opts.app_label), ("model_name", opts.model_name),
              ("field_name", field), ("term", value))
        for field in model_admin.autocomplete_fields
        for value in HOSTILE
    ]
    assert server_errors(hostile_client, urls) == []


# --- each object's pages, and the add page -----------------------------------------------------------------


@pytest.mark.parametrize("model_admin", registered(), ids=admin_id)
def test_no_page_of_an_object_fails_on_hostile_parameters(hostile_client, objects, model_admin):
    urls = []
    obj = model_admin.model._default_manager.order_by("pk").first()
    if obj is not None:
        change = url_of(model_admin, "change", obj.pk)
        page = hostile_client.get(change, follow=True)  # a business day's row opens as the day's page
        assert page.status_code == 200, change
        urls += hostile_queries(change, [*OBJECT_PARAMETERS, *offered_parameters(page.content.decode(), forms=False)])
        urls += [query(url_of(model_admin, "history", obj.pk), ("p", value)) for value in PAGE_JUNK]
        urls += [query(url_of(model_admin, "delete", obj.pk), ("_to_field", value)) for value in HOSTILE]
    changelist = url_of(model_admin, "changelist")
    urls += [f"{changelist}{object_id}/{view}/" for object_id in PATH_IDS for view in ("change", "history", "delete")]
    assert server_errors(hostile_client, urls) == []


@pytest.mark.parametrize("model_admin", registered(), ids=admin_id)
def test_no_add_page_fails_on_hostile_initial_values(hostile_client, objects, model_admin):
    url = url_of(model_admin, "add")
    page = hostile_client.get(url)
    if page.status_code == 403:
        return  # rows that only vendors and services write
    assert page.status_code == 200, url
    # The form's initial values come from the address: the model's fields, not its inlines'.
    fields = {field.name for field in model_admin.model._meta.get_fields()}
    names = [*OBJECT_PARAMETERS, *(name for name in offered_parameters(page.content.decode()) if name in fields)]
    assert server_errors(hostile_client, hostile_queries(url, names)) == []


# --- the pages each ModelAdmin adds ------------------------------------------------------------------------


def custom_urls(model_admin, objects):
    """Each page the ModelAdmin adds, its path filled in: `pk` is an object of the admin's model,
    `<model>_pk` one of that model, a word any other part."""
    by_name = {model._meta.model_name: obj for model, obj in objects.items()}
    urls = []
    for pattern in custom_patterns(model_admin):
        kwargs = {}
        for name, converter in pattern.pattern.converters.items():
            obj = objects.get(model_admin.model) if name == "pk" else by_name.get(name.removesuffix("_pk"))
            kwargs[name] = (obj.pk if obj is not None else 1) if converter.regex == "[0-9]+" else "x"
        urls.append(reverse(f"admin:{pattern.name}", kwargs=kwargs))
    return urls


def test_the_pages_the_admins_add_are_found():
    names = {pattern.name for model_admin in registered() for pattern in custom_patterns(model_admin)}
    assert {
        "tariffs_tarifftemplate_preview",
        "tariffs_tarifftemplate_publish",
        "tariffs_tariffversion_push",
        "chargers_charger_import",
        "orders_order_start",
        "orders_order_session",
    } <= names


@pytest.mark.parametrize("model_admin", [m for m in registered() if custom_patterns(m)], ids=admin_id)
def test_no_page_an_admin_adds_fails_on_hostile_parameters(hostile_client, objects, tomda, model_admin):
    urls = []
    for url in custom_urls(model_admin, objects):
        page = hostile_client.get(url)
        assert page.status_code < 500, url
        urls += hostile_queries(url, ["_popup", "_to_field", *offered_parameters(page.content.decode())])
    assert server_errors(hostile_client, urls) == []


# --- the failures seen before, one by one -------------------------------------------------------------------


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("compare", ["²", "9" * 5000, "7", "x"])
def test_a_version_compared_with_what_is_no_version_is_compared_with_the_one_before(hostile_client, compare):
    first = TariffVersionFactory(number=1)
    second = TariffVersionFactory(template=first.template, number=2)

    response = hostile_client.get(reverse("admin:tariffs_tariffversion_change", args=[second.pk]), {"compare": compare})

    assert response.status_code == 200
    assert response.context["compared"] == first
    assert "From v1 to v2:" in response.content.decode()
    shown = compare if len(compare) <= 20 else f"{compare[:19]}…"
    assert messages_of(response) == [f"“{shown}” is not another version of this template to compare with."]


LISTS_WITH_CREATED_AT = (
    "orders.order",
    "chargers.charger",
    "stations.station",
    "orders.partner",
    "tariffs.tarifftemplate",
    "integrations.apicalllog",
    "integrations.outbounddelivery",
)


@pytest.mark.parametrize("label", LISTS_WITH_CREATED_AT)
def test_a_year_past_any_date_is_refused_by_name(hostile_client, objects, label):
    app_label, model_name = label.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")

    response = hostile_client.get(url, {"created_at__year": "99999999999999999999"})

    assert response.status_code == 302
    assert response["Location"] == f"{url}?{ERROR_FLAG}=1"
    assert messages_of(response) == [
        "This list cannot be shown with “created_at__year”; it is shown without its filters."
    ]


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("orders.order", "plate__startswith"),
        ("orders.order", "status"),
        ("integrations.inboundmessage", "kind"),
        ("stations.station", "kind"),
    ],
)
@pytest.mark.parametrize("value", ["%00", "a%00b"])
def test_a_nul_in_a_filter_is_refused_by_name(hostile_client, objects, label, name, value):
    app_label, model_name = label.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")

    response = hostile_client.get(f"{url}?{name}={value}")

    assert response.status_code == 302
    assert response["Location"] == f"{url}?{ERROR_FLAG}=1"
    assert messages_of(response) == [f"This list cannot be shown with “{name}”; it is shown without its filters."]


@pytest.mark.parametrize("page", ["-1", str(10**30), "3"])
def test_a_page_past_the_last_is_refused_by_name(hostile_client, monkeypatch, page):
    OrderFactory.create_batch(2)
    monkeypatch.setattr(admin.site.get_model_admin(Order), "list_per_page", 1)
    url = reverse("admin:orders_order_changelist")

    response = hostile_client.get(url, {"p": page})

    assert response.status_code == 302
    assert response["Location"] == f"{url}?{ERROR_FLAG}=1"
    assert messages_of(response) == ["This list cannot be shown with “p”; it is shown without its filters."]


def test_a_search_for_nul_is_refused_by_the_search_form(hostile_client):
    OrderFactory()

    response = hostile_client.get(f"{reverse('admin:orders_order_changelist')}?q=%00")

    assert response.status_code == 200
    assert response.context["cl"].query == ""
    assert messages_of(response) == ["Null characters are not allowed."]


def test_an_autocomplete_for_nul_finds_nothing(hostile_client, objects):
    url = query(reverse("admin:autocomplete"), ("app_label", "chargers"), ("model_name", "connector"),
                ("field_name", "charger"), ("term", "%00"))

    response = hostile_client.get(url)

    assert response.status_code == 200
    assert response.json() == {"results": [], "pagination": {"more": False}}


def preview(client, template, **session):
    url = reverse("admin:tariffs_tarifftemplate_preview", args=[template.pk])
    return client.get(url, {"version": "draft", "energy_wh": "1", **session})


def flat_template():
    template = TariffTemplateFactory()
    PeriodFactory(template=template, position=1)
    return template


def test_a_preview_from_year_1_is_refused_on_its_fields(hostile_client):
    response = preview(hostile_client, flat_template(), started_at="0001-01-01T00:00", ended_at="0001-01-01T01:00")

    assert response.status_code == 200
    assert response.context["breakdown"] is None
    assert response.context["form"].errors == {
        "started_at": ["Enter a time in the years 2000 to 2099."],
        "ended_at": ["Enter a time in the years 2000 to 2099."],
    }


def test_a_preview_of_a_curve_reading_in_year_9999_is_refused_on_its_line(hostile_client):
    response = preview(
        hostile_client, flat_template(), started_at="2026-11-20T22:00", ended_at="2026-11-20T23:00",
        energy_wh="", curve="9999-12-31 23:59, 1",
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"curve": ["Line 1: enter a time in the years 2000 to 2099."]}
