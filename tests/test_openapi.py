"""The OpenAPI schema at /api/schema/ and its Swagger UI at /api/docs/: valid, generated without a warning,
complete (every DRF view and push receiver the URLs serve, /health/), true to what the protocols read and answer,
and browsable with nothing fetched from another host. `.ci/schemathesis` runs the schemathesis CLI over the same
schema against a live server.
"""

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
import schemathesis
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from jsonschema import Draft202012Validator
from rest_framework.views import APIView
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integrations.partner.schema import partner_schema
from integrations.tomda.protocol import push_parse
from integrations.values import wall_time
from integrations.wanzhuang.protocol import callback_parse

TOMDA_PUSH = "/integrations/tomda/push"
# Wanzhuang calls each callback back at a URL of its own, documented one path per callback with its own body.
WANZHUANG_CALLBACK = "/integrations/wanzhuang/callback/{}"
WANZHUANG_KINDS = ("start_power", "finish_order", "icc_pay_req", "offline_profit")
PARTNER = "/api/partner/v1/{}"

# The contract's interfaces: (method, {query parameter: required}); getToken's parameters are its body's.
PARTNER_INTERFACES = {
    "getToken": ("post", {}),
    "syncStubGroupInfo": ("get", {"token": True, "cityCode": True, "stubGroupType": False}),
    "syncStubInfo": ("get", {"token": True, "stubGroupId": True}),
    "getOrderInfo": ("get", {"token": True, "orderId": True}),
    "checkChargeOrders": ("get", {"token": True, "startTim": True, "endTim": True}),
    "chargeStart": ("get", {"token": True, "outOrderId": True, "driverId": True, "stubId": True, "gunId": True,
                            "org": True, "time": True}),
    "chargeStop": ("get", {"token": True, "orderId": True}),
}
# The contract's names of each interface's data fields.
PARTNER_DATA_FIELDS = {
    "PartnerToken": {"token", "expiresIn", "expireTime"},
    "PartnerStubGroup": {"Id", "stubGroupName", "cityCode", "imgUrl", "stubAcCnt", "stubDcCnt", "serviceTime",
                         "address", "lng", "lat", "stubGroupType", "stubGroupInfo"},
    "PartnerStubGroupStatus": {"stubGroupId", "stubAcIdleCnt", "stubDcIdleCnt", "StubInfo"},
    "PartnerStub": {"Id", "stubName", "serviceFee", "electricFee", "totalFeeInfo", "parkingFeeInfo", "status",
                    "existsGun", "type", "kw", "parkingStatus", "guns"},
    "PartnerOrder": {"OrderId", "stubId", "outOrderId", "driverId", "timeStart", "timeEnd", "timeCharge", "feeTotal",
                     "chargeType", "power", "soc", "status", "endInfo", "feeService", "feeElectric", "cityCode"},
    "PartnerOrderCheck": {"checkOrderNo", "orderCount", "totalOrderPower", "totoalOrderFee", "orderList"},
}


@pytest.fixture(scope="module")
def served():
    """The schema as /api/schema/ serves it to anyone, as JSON."""
    from django.test import Client

    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


@pytest.fixture(scope="module")
def components(served):
    return served["components"]["schemas"]


def operation(schema, path: str, method: str) -> dict:
    assert path in schema["paths"], f"{path} is not in the schema; it has {sorted(schema['paths'])}"
    assert method in schema["paths"][path], f"{path} has no {method.upper()} in the schema"
    return schema["paths"][path][method]


def json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema 2020-12: `nullable` as a null type, boolean exclusive bounds as numbers."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: json_schema(value) for key, value in node.items() if key not in ("discriminator", "example")}
    for bound, exclusive in (("maximum", "exclusiveMaximum"), ("minimum", "exclusiveMinimum")):
        if node.get(exclusive) is True:
            node[exclusive] = node.pop(bound)
        elif node.get(exclusive) is False:
            del node[exclusive]
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def conforms(components: dict, schema: dict, value) -> list[str]:
    """The errors of `value` against the OpenAPI `schema` (a $ref into `components` or inline)."""
    validator = Draft202012Validator({**json_schema(schema), "components": {"schemas": json_schema(components)}})
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(value)]


# --- the schema as a whole ---------------------------------------------------------------------------------


def test_schema_is_served_to_anyone_and_is_valid_openapi_3(client, served):
    # Given no login, when the schema is asked for in its default format (YAML) and as JSON
    yaml_answer = client.get("/api/schema/")

    # Then both are served, and the JSON is a valid OpenAPI 3 document
    assert yaml_answer.status_code == 200
    assert yaml_answer["Content-Type"].startswith("application/vnd.oai.openapi")
    assert served["openapi"].startswith("3.")
    validate_schema(served)
    # and schemathesis, which tests the endpoints against it, reads every operation of it
    loaded = schemathesis.openapi.from_dict(served)
    labels = {result.ok().label for result in loaded.get_all_operations()}
    assert {f"POST {TOMDA_PUSH}", *(f"POST {WANZHUANG_CALLBACK.format(kind)}" for kind in WANZHUANG_KINDS)} <= labels


def test_generation_has_no_warnings_or_errors():
    # When the schema is generated as `manage.py spectacular` does
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)

    # Then drf-spectacular had nothing to warn about, and the document is valid
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}
    validate_schema(schema)


def test_spectacular_command_validates_with_fail_on_warn(tmp_path):
    # When the management command writes the schema, validating it and failing on any warning
    target = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(target))

    # Then it succeeds, and its document is the served one's
    written = json.loads(target.read_text(encoding="utf-8"))
    assert TOMDA_PUSH in written["paths"]


def test_every_operation_is_tagged_and_named_once(served):
    operations = [op for item in served["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]

    assert len(ids) == len(set(ids))
    assert all(op.get("tags") for op in operations)
    tag_names = {tag["name"] for tag in served["tags"]}
    assert {"partner", "vendor push"} <= tag_names
    # the schema's own endpoints are not part of the API
    assert not any(path.startswith("/api/schema") or path.startswith("/api/docs") for path in served["paths"])


def served_views(patterns=None, prefix="/"):
    """(schema path, view) of every URL the resolver serves, its parameters written {name} as the schema writes
    them."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = str(entry.pattern)
        path = prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.lstrip("^").rstrip("$"))
        if isinstance(entry, URLResolver):
            yield from served_views(entry.url_patterns, path)
        elif isinstance(entry, URLPattern):
            yield path, entry.callback


def test_every_drf_view_and_push_receiver_the_urls_serve_is_in_the_schema(served):
    documented = set(served["paths"])
    drf, receivers, left_out = {}, {}, set()
    for path, view in served_views():
        view_class = getattr(view, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            if path.startswith(("/api/schema/", "/api/docs/")):
                continue  # the schema's own endpoints (SERVE_INCLUDE_SCHEMA off)
            if getattr(view_class, "schema", True) is None:
                left_out.add(view_class.__name__)  # a view that says it is no endpoint
                continue
            drf[path] = view_class
        elif getattr(view, "inbox_receiver", False):
            receivers[path] = view

    # Then every DRF view is documented at its path, and only the partner interface's catch-all declares itself
    # no endpoint (it answers a name that is no interface)
    assert drf and receivers
    assert set(drf) - documented == set()
    assert left_out == {"UnknownInterface"}
    # every push receiver too: at its path, or, for a receiver of a kind per URL (`.../{name}`), at one path per
    # kind, each resolving to that receiver
    for path, view in receivers.items():
        if "{" not in path:
            assert path in documented, path
            continue
        template = re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")
        kinds = [candidate for candidate in documented if template.match(candidate)]
        assert kinds, f"{path} has no documented path"
        for candidate in kinds:
            assert get_resolver().resolve(candidate).func is view, candidate
    # and the load balancers' probe, which a middleware answers before any URL is resolved
    assert operation(served, "/health/", "get")["tags"] == ["operations"]


def test_health_is_documented_with_both_answers(served, components):
    op = operation(served, "/health/", "get")

    assert set(op["responses"]) == {"200", "503"}
    for status, response in op["responses"].items():
        content = response["content"]["application/json"]
        for example in content["examples"].values():
            assert conforms(components, content["schema"], example["value"]) == [], status


# --- the partner interface (these need the views of integrations/partner/ and their URLs) ------------------


@pytest.mark.parametrize("name", PARTNER_INTERFACES)
def test_every_partner_interface_is_documented_with_its_parameters(served, name):
    method, expected = PARTNER_INTERFACES[name]

    op = operation(served, PARTNER.format(name), method)

    assert op["tags"] == ["partner"]
    assert op["operationId"] == f"partner_{name}"
    query = {param["name"]: param.get("required", False) for param in op.get("parameters", [])
             if param["in"] == "query"}
    assert query == expected
    assert set(op["responses"]) == {"200", "429", "500", "503"}
    assert "Retry-After" in op["responses"]["429"]["headers"]
    for status in ("200", "429", "500", "503"):
        assert "application/json" in op["responses"][status]["content"], status


def test_get_token_takes_org_and_secret_as_a_form_or_json(served, components):
    op = operation(served, PARTNER.format("getToken"), "post")

    assert {"application/json", "application/x-www-form-urlencoded"} <= set(op["requestBody"]["content"])
    for content in op["requestBody"]["content"].values():
        ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
        assert set(components[ref]["required"]) == {"org", "secret"}
    assert not any(param["name"] == "token" for param in op.get("parameters", []))


def test_partner_data_fields_are_named_as_the_contract_names_them(components):
    for component, fields in PARTNER_DATA_FIELDS.items():
        assert set(components[component]["properties"]) == fields, component
    order = components["PartnerOrder"]["properties"]
    # units are stated where a figure is: kWh with three decimals from Wh, yuan with two from fen
    assert "kWh with three decimals" in order["power"]["description"]
    for money in ("feeTotal", "feeService", "feeElectric"):
        assert "Yuan with two decimals" in order[money]["description"]
    assert "kWh with three decimals" in components["PartnerOrderCheck"]["properties"]["totalOrderPower"]["description"]
    assert "Yuan with two decimals" in components["PartnerOrderCheck"]["properties"]["totoalOrderFee"]["description"]


def test_the_partner_envelope_carries_the_code_table(components):
    envelope = components["PartnerOrderEnvelope"]

    assert set(envelope["properties"]) == {"code", "msg", "data"}
    for code in (0, 1001, 2003, 3004, 4004, 4290, 5000, 5003):
        assert f"| {code} |" in envelope["description"]


@pytest.mark.parametrize("name", PARTNER_INTERFACES)
def test_partner_examples_show_a_success_and_a_refusal_each_true_to_its_schema(served, components, name):
    method, _parameters = PARTNER_INTERFACES[name]
    op = operation(served, PARTNER.format(name), method)

    codes = set()
    for status, response in op["responses"].items():
        content = response["content"]["application/json"]
        examples = content.get("examples", {})
        assert examples, f"{name} {status} has no example"
        for key, example in examples.items():
            assert conforms(components, content["schema"], example["value"]) == [], f"{name} {status} {key}"
            codes.add((status, example["value"]["code"]))

    assert ("200", 0) in codes
    assert any(status == "200" and code != 0 for status, code in codes)
    assert {("429", 4290), ("500", 5000), ("503", 5003)} <= codes


def test_partner_schema_knows_only_the_contracts_interfaces():
    with pytest.raises(ValueError, match="not a partner interface"):
        partner_schema("getStationInfo")


# --- the vendor push endpoints -----------------------------------------------------------------------------


def test_tomda_push_is_documented_with_its_bodies_and_replies(served, components):
    op = operation(served, TOMDA_PUSH, "post")

    assert op["tags"] == ["vendor push"]
    content = op["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    # every push type the protocol reads is one of the JSON body's kinds, with its own content
    from integrations.tomda.protocol import READERS

    mapping = components["TomdaPush"]["discriminator"]["mapping"]
    assert set(mapping) == set(READERS)
    work_data = components["TomdaWorkDataContent"]
    assert {"serialNum", "workDataInfo"} <= set(work_data["required"])
    assert "chargeEnergy" in work_data["properties"]["workDataInfo"]["items"]["properties"]
    assert set(op["responses"]) == {"200", "403", "413", "503"}
    for response in op["responses"].values():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TomdaReply"}
    codes = {example["value"]["errorCode"] for example in
             op["responses"]["200"]["content"]["application/json"]["examples"].values()}
    assert {"200", "1401", "2002"} <= codes


@pytest.mark.parametrize(("kind", "body"), [("start_power", "WanzhuangStartPower"),
                                            ("finish_order", "WanzhuangFinishOrder"),
                                            ("icc_pay_req", "WanzhuangCardSwipe"),
                                            ("offline_profit", "WanzhuangOfflineProfit")])
def test_each_wanzhuang_callback_is_documented_at_its_url_with_its_form_and_replies(served, components, kind, body):
    op = operation(served, WANZHUANG_CALLBACK.format(kind), "post")

    assert op["tags"] == ["vendor push"]
    assert op["operationId"] == f"wanzhuang_callback_{kind}"
    assert "parameters" not in op
    content = op["requestBody"]["content"]
    assert set(content) == {"application/x-www-form-urlencoded", "multipart/form-data"}
    assert {media["schema"]["$ref"] for media in content.values()} == {f"#/components/schemas/{body}"}
    assert {"app_id", "timestamp", "sign"} <= set(components[body]["properties"])
    assert set(op["responses"]) == {"200", "403", "413", "503"}
    codes = {example["value"]["code"] for example in
             op["responses"]["200"]["content"]["application/json"]["examples"].values()}
    assert {1, 0, 1001, 1002} <= codes


def test_wanzhuangs_finish_order_form_has_its_figures(components):
    finish = components["WanzhuangFinishOrder"]["properties"]
    assert {"device_num", "device_port", "charge_id", "stop_reason", "eq_used", "pay_used", "sign"} <= set(finish)


VENDOR_PATHS = (TOMDA_PUSH, *(WANZHUANG_CALLBACK.format(kind) for kind in WANZHUANG_KINDS))


def test_vendor_examples_are_true_to_the_documented_schemas(served, components):
    for path in VENDOR_PATHS:
        op = operation(served, path, "post")
        bodies = [(media, content) for media, content in op["requestBody"]["content"].items()]
        replies = [(status, response["content"]["application/json"]) for status, response in op["responses"].items()]
        for where, content in [*bodies, *replies]:
            assert content.get("examples"), f"{path} {where} has no example"
            for key, example in content["examples"].items():
                assert conforms(components, content["schema"], example["value"]) == [], f"{path} {where} {key}"


def test_reply_examples_speak_chinese_as_the_receivers_do(served):
    # The receivers answer in Chinese; an example still in English means its text is no longer the receiver's.
    for path in VENDOR_PATHS:
        field = "errorDesc" if path == TOMDA_PUSH else "message"
        for status, response in operation(served, path, "post")["responses"].items():
            for key, example in response["content"]["application/json"]["examples"].items():
                text = example["value"][field]
                if text and text != "success":
                    assert any("\u4e00" <= char <= "\u9fff" for char in text), f"{path} {status} {key}: {text!r}"


def test_tomda_request_examples_are_read_by_tomdas_protocol(served):
    content = operation(served, TOMDA_PUSH, "post")["requestBody"]["content"]

    for key, example in content["application/json"]["examples"].items():
        value = example["value"]
        parsed = push_parse(body=json.dumps(value, ensure_ascii=False).encode(), content_type="application/json",
                            received_at=wall_time(value["time"]))
        assert parsed.kind == value["type"] == key
    for example in content["application/x-www-form-urlencoded"]["examples"].values():
        value = example["value"]
        parsed = push_parse(body=urlencode(value).encode(), content_type="application/x-www-form-urlencoded",
                            received_at=wall_time(value["time"]))
        assert parsed.kind == value["type"]


def urlencoded(fields: dict) -> tuple[bytes, str]:
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


def multipart(fields: dict) -> tuple[bytes, str]:
    boundary = "openapi-example-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields.items()]
    return "".join([*parts, f"--{boundary}--\r\n"]).encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("kind", WANZHUANG_KINDS)
def test_wanzhuang_request_examples_are_read_by_wanzhuangs_protocol(served, kind):
    content = operation(served, WANZHUANG_CALLBACK.format(kind), "post")["requestBody"]["content"]

    for media, body_of in (("application/x-www-form-urlencoded", urlencoded), ("multipart/form-data", multipart)):
        (example,) = content[media]["examples"].values()
        value = example["value"]
        body, content_type = body_of(value)
        received = datetime.fromtimestamp(int(value["timestamp"]), UTC)
        parsed = callback_parse(kind=kind, body=body, content_type=content_type, received_at=received)
        assert parsed.kind == kind


# --- the docs page ---------------------------------------------------------------------------------------


class Assets(HTMLParser):
    """Every address the page makes the browser load: script and img src, link href."""

    def __init__(self):
        super().__init__()
        self.addresses = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe") and attrs.get("src"):
            self.addresses.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.addresses.append(attrs["href"])


def test_docs_page_is_public_and_loads_only_our_own_assets(client):
    # Given no login, when the docs page is asked for
    response = client.get("/api/docs/")

    # Then it is served
    assert response.status_code == 200
    html = response.content.decode()
    parser = Assets()
    parser.feed(html)
    # and everything it loads is ours: no scheme, no other host, and each a static file we have
    assert parser.addresses, "the page loads no Swagger UI"
    # Swagger UI's start-up script is the page's own address with ?script (no inline script, for the content
    # security policy); everything else is a static file we have
    start_up = "/api/docs/?script="
    assert start_up in parser.addresses
    for address in parser.addresses:
        parts = urlsplit(address)
        assert not parts.scheme and not parts.netloc, address
        if address == start_up:
            continue
        assert parts.path.startswith(f"/{settings.STATIC_URL.strip('/')}/"), address
        assert finders.find(parts.path.removeprefix(f"/{settings.STATIC_URL.strip('/')}/")), address
    assert any(address.endswith("swagger-ui-bundle.js") for address in parser.addresses)
    # it reads our schema, and Swagger UI does not fetch its validator badge from validator.swagger.io
    script = client.get(start_up).content.decode()
    assert '"/api/schema/"' in script
    assert '"validatorUrl": null' in script


# --- the endpoints answer as documented ----------------------------------------------------------------------

# The schema as the application serves it, for schemathesis to send each operation requests it generates from it.
LIVE = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# What the documentation promises: no server error, only documented statuses, content types and headers, and
# bodies in the documented envelope. Not REST's conventions (a 4xx for bad input, 405 for other methods): these
# protocols answer every refusal with HTTP 200 in their envelope, by design.
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
               response_schema_conformance]


@pytest.fixture
def _forget_throttles():
    yield
    cache.clear()  # the partner throttle counts in the cache; other tests start with none


@LIVE.parametrize()
@hypothesis_settings(max_examples=10, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_every_documented_operation_answers_as_documented(transactional_db, _forget_throttles, case):
    # Given requests generated from the schema, valid and invalid, then each operation's answer is as documented.
    # (A transactional database: the WSGI application closes its connection after each request, as in production.)
    case.call_and_validate(checks=CONFORMANCE)


# --- the partner interfaces, past the token ------------------------------------------------------------------

# A generated token is refused before anything else is read; these cases carry a valid one, so that generated
# station codes, order numbers, times and guns reach the interfaces themselves.
PARTNER_LIVE = LIVE.include(tag="partner")


@pytest.fixture
def partner_world(transactional_db, settings):
    from chargers.models import ConnectorStatus, Vendor
    from integrations.partnerkit.access import Caller, partner_access_get, partner_secret_issue, partner_token_issue
    from tests.chargers.factories import ChargerFactory, ConnectorFactory
    from tests.orders.factories import OrderFactory, PartnerFactory
    from tests.stations.factories import StationFactory
    from tests.tariffs.factories import TariffVersionFactory

    settings.PARTNER_RATES = {}  # the throttle has its own tests; here every generated call reaches its interface
    partner = PartnerFactory(org_code="FUZZ")
    access = partner_access_get(partner=partner)
    access.city_codes = "440300"
    access.save()
    secret = partner_secret_issue(partner=partner)
    station = StationFactory(code="0", city_code="440300", tariff_template=TariffVersionFactory().template)
    charger = ChargerFactory(station=station, vendor=Vendor.TOMDA, serial="0", online=True)
    connector = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FREE)
    OrderFactory(connector=connector, partner=partner, order_no="20261201000000000000")
    return partner_token_issue(org="FUZZ", secret=secret, caller=Caller("fuzz")).token


@PARTNER_LIVE.parametrize()
@hypothesis_settings(max_examples=30, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_every_partner_interface_called_with_a_valid_token_answers_as_documented(partner_world, _forget_throttles,
                                                                                 case):
    # Given a partner's valid token in place of the generated one (getToken takes none)
    if case.query and "token" in case.query:
        case.query["token"] = partner_world
    # Then whatever else was generated, the interface answers as documented, never with a server error
    case.call_and_validate(checks=CONFORMANCE)
