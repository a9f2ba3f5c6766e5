"""The headers every admin page carries, the content security policy that allows nothing from another host and
no inline script or style, and the machines' endpoints answered as before."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"'self'", "'none'"}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_usual_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    features = dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"


def assert_strict_policy(response):
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["base-uri"] == ["'self'"]
    # nothing from another host, and nothing inline or evaluated, in any directive
    for name, sources in directives.items():
        for source in sources:
            assert source in KEYWORDS or source == "data:" and name == "img-src", (name, source)
    assert "unsafe" not in response["Content-Security-Policy"]


def test_an_admin_page_carries_the_headers_and_the_strict_policy(client, superuser):
    client.force_login(superuser)

    response = client.get(reverse("admin:orders_order_change", args=[OrderFactory().pk]))

    assert response.status_code == 200
    assert_usual_headers(response)
    assert_strict_policy(response)
    cache = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache


def test_the_login_page_and_an_admin_redirect_are_not_stored_either(client):
    login = client.get(reverse("admin:login"))
    redirect = client.get(reverse("admin:index"))

    for response in (login, redirect):
        assert "no-store" in response["Cache-Control"]
        assert_usual_headers(response)
        assert_strict_policy(response)
    assert redirect.status_code == 302


def test_the_two_factor_pages_are_not_stored(client, operator):
    client.force_login(operator)

    response = client.get(reverse("twofactor:enrol"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert_strict_policy(response)


class Scripts(HTMLParser):
    """Each script element (its attributes and whether it has a body) and each inline style or handler."""

    def __init__(self):
        super().__init__()
        self.scripts, self.inline, self.styles, self.handlers = [], [], [], []
        self._open = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append(attrs)
            self._open = attrs
        if tag == "style":
            self.styles.append("<style>")
        if "style" in attrs:
            self.styles.append(f"{tag} style={attrs['style']}")
        self.handlers.extend(f"{tag} {name}" for name in attrs if name.startswith("on"))

    def handle_data(self, data):
        if self._open is not None and data.strip():
            self.inline.append((self._open, data.strip()[:80]))

    def handle_endtag(self, tag):
        if tag == "script":
            self._open = None


def test_the_api_docs_have_no_inline_script_or_style_and_serve_their_start_up_script(client):
    page = client.get("/api/docs/")

    assert page.status_code == 200
    assert_strict_policy(page)
    assert page["Cross-Origin-Opener-Policy"] == "same-origin"
    parser = Scripts()
    parser.feed(page.content.decode())
    assert parser.inline == [] and parser.styles == [] and parser.handlers == []
    start_up = [attrs["src"] for attrs in parser.scripts if "script" in attrs["src"].split("?", 1)[-1]]
    assert start_up == ["/api/docs/?script="]

    script = client.get(start_up[0])
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in script.content.decode()


def test_the_machines_endpoints_answer_as_before_without_a_redirect(client):
    partner = client.post("/api/partner/v1/getToken", {"org": "NOBODY", "secret": "x" * 32})
    push = client.post("/integrations/tomda/push", b"{}", content_type="application/json")

    assert partner.status_code == 200 and partner["Content-Type"].startswith("application/json")
    assert partner.json()["code"] != 0
    assert push.status_code < 300 or push.status_code >= 400
    assert "Location" not in push and "Location" not in partner


# --- the templates ----------------------------------------------------------------------------------------

TEMPLATE_DIRS = [ROOT / "templates", *(ROOT / app / "templates" for app in
                                       ("accounts", "backoffice", "tariffs", "stations", "chargers", "orders",
                                        "integrations"))]
# A script element with a body: only JSON data blocks (json_script) may have one.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.I)


def our_templates():
    for folder in TEMPLATE_DIRS:
        if folder.is_dir():
            yield from sorted(folder.rglob("*.html"))


def test_no_template_of_ours_has_an_inline_script_a_handler_or_a_style():
    # The policy refuses them: each would silently do nothing in the browser.
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)[:60]}"
        for path in our_templates()
        for pattern in (INLINE_SCRIPT, HANDLER, STYLE)
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert list(our_templates())
    assert found == []


def test_the_policy_setting_has_no_host_and_nothing_unsafe():
    for name, sources in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items():
        for source in sources:
            assert source in KEYWORDS or (name == "img-src" and source == "data:"), (name, source)
