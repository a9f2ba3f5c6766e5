"""The content security policy in a real browser (Debian's Chromium, driven by Playwright, against a live server):
the admin pages that matter, the two-factor enrolment and the API docs raise no policy violation and no console
error, load nothing from another host, and their own scripts still work (the inline rows of a tariff template are
added by Django's script, Swagger UI draws the operations, the charts are drawn).

Without Chromium the tests skip locally and fail under CI, as the dashboard's browser test does.
"""

from base64 import b32decode
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.backoffice import test_dashboard_browser as browser
from tests.backoffice.test_dashboard_browser import (
    chromium_page,
    curve_checked,
    given_an_order_with_a_curve,
    given_orders_over_the_last_days,
    log_in,
)
from tests.chargers.factories import ChargerFactory
from tests.tariffs.factories import PeriodFactory, TariffTemplateFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The dashboard's browser fixtures: where Chromium is (or why the test skips), where screenshots go.
chromium_path = browser.chromium_path
shots = browser.shots

# Registered before any script of each document: every violation the policy reports, kept for the test to read.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push({directive: event.effectiveDirective, blocked: event.blockedURI, source: event.sourceFile,
                     line: event.lineNumber, sample: event.sample});
});
"""


class Watch:
    """What the browser saw go wrong, per page: policy violations, console errors, failed or foreign loads."""

    def __init__(self, page, base_url):
        self.page, self.base_url = page, base_url
        self.errors, self.foreign, self.failed = [], [], []
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", self._request)
        page.on("response", self._response)

    # The browser asks for /favicon.ico of its own accord; the back office has none, and its 404 is no page's fault.
    @staticmethod
    def _own_favicon(url):
        return urlsplit(url).path == "/favicon.ico"

    def _console(self, message):
        if message.type == "error" and not self._own_favicon(message.location.get("url", "")):
            self.errors.append(message.text)

    def _response(self, response):
        if response.status >= 400 and not self._own_favicon(response.url):
            self.failed.append(f"{response.status} {response.url}")

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.base_url:
            self.foreign.append(request.url)

    def clean(self, what):
        """Assert that the page now open broke no rule, and start afresh for the next."""
        violations = self.page.evaluate("window.__csp || []")
        assert violations == [], f"{what}: {violations}"
        assert self.errors == [], f"{what}: {self.errors}"
        assert self.foreign == [], f"{what}: {self.foreign}"
        assert self.failed == [], f"{what}: {self.failed}"
        self.errors.clear()
        self.failed.clear()

    def open(self, path, what):
        response = self.page.goto(f"{self.base_url}{path}")
        assert response.status == 200, f"{what}: {response.status}"
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        self.page.wait_for_load_state("networkidle")
        return response


def charts_drawn(page):
    """The dashboard's three charts of a bar a day, whose bars the browser paints in their colour."""
    assert page.locator("#panel-orders-days svg.bar-chart").count() == 3
    for name in ("chart-energy", "chart-revenue", "chart-orders"):
        assert page.locator(f"#{name} rect.bar").count() == 30
    colour = browser.css_rgb(page.eval_on_selector("#chart-energy rect.bar", "bar => getComputedStyle(bar).fill"))
    _width, _height, pixels = browser.png_pixels(page.locator("#chart-energy svg").screenshot())
    assert browser.count_near(pixels, colour, tolerance=8) > 2_000


def current_code(secret_text: str) -> str:
    """The code an authenticator app shows for the key as the enrolment page prints it (no database needed)."""
    key = secret_text.replace(" ", "")
    totp = TOTP(b32decode(key + "=" * (-len(key) % 8)))
    return f"{totp.token():06d}"


def test_the_admin_pages_that_matter_break_no_rule_of_the_policy(chromium_path, live_server, superuser, shots):
    # Given orders over the last days, a settled order with its curve and a tariff template of two periods
    given_orders_over_the_last_days()
    order = given_an_order_with_a_curve()
    template = TariffTemplateFactory()
    PeriodFactory(template=template, position=1, start_minute=0, end_minute=480)
    PeriodFactory(template=template, position=2, start_minute=480, end_minute=1440)
    day = timezone.localtime(order.started_at).date().isoformat()  # its business day (Beijing time)
    charger = ChargerFactory(serial="8800012345")

    with chromium_page(chromium_path) as page:
        watch = Watch(page, live_server.url)

        # When the superuser logs in
        log_in(page, live_server.url, superuser.username)
        watch.clean("login and index")

        # and adds an authenticator: the QR code is drawn and the code of the printed key turns it on
        watch.open(reverse("twofactor:enrol"), "enrolment")
        qr = page.locator("#twofactor-qr svg.twofactor-qr")
        box = qr.bounding_box()
        assert box["width"] >= 100 and box["height"] >= 100
        assert page.locator("#twofactor-qr svg path").count() >= 2
        watch.clean("enrolment")
        page.fill("#id_code", current_code(page.locator("#twofactor-secret").text_content()))
        page.click("#twofactor-submit")
        page.wait_for_url(f"{live_server.url}{reverse('admin:index')}")

        # Then the dashboard draws its charts, with the admin's stylesheet applied
        charts_drawn(page)
        assert page.eval_on_selector("#language-switch", "form => getComputedStyle(form).display") == "inline"
        assert page.eval_on_selector("#dashboard", "panel => getComputedStyle(panel).display") == "flex"
        watch.clean("dashboard")

        # the order list and an order's page with its curve
        watch.open(reverse("admin:orders_order_changelist"), "order list")
        assert page.locator("#result_list tbody tr").count() >= 2
        watch.clean("order list")
        watch.open(reverse("admin:orders_order_change", args=[order.pk]), "order page")
        curve_checked(page, shots)
        caption = page.eval_on_selector("#order-curve figcaption", "caption => getComputedStyle(caption).display")
        assert caption == "flex"
        watch.clean("order page")

        # a tariff template's page, whose "add another" link (Django's inline script) adds a period row
        watch.open(reverse("admin:tariffs_tarifftemplate_change", args=[template.pk]), "tariff template")
        rows = page.locator(".inline-group tbody tr.form-row:not(.empty-form)")
        assert rows.count() == 2
        page.locator(".inline-group .add-row a").click()
        assert rows.count() == 3
        page.locator(".inline-group tbody tr.form-row:not(.empty-form) .inline-deletelink").last.click()
        assert rows.count() == 2
        watch.clean("tariff template")

        # a connector's add page, whose charger is picked by Django's autocomplete (select2 over jQuery)
        watch.open(reverse("admin:chargers_connector_add"), "connector add page")
        page.locator(".field-charger .select2-selection").click()
        page.locator(".select2-search__field").fill(charger.serial[-5:])
        page.locator(".select2-results__option", has_text=str(charger)).first.wait_for()
        watch.clean("connector add page")

        # a user's page, whose permissions are picked in Django's two-box selector
        watch.open(reverse("admin:auth_user_change", args=[superuser.pk]), "user page")
        options = page.locator("#id_user_permissions_from option")
        options.first.wait_for(state="attached")
        every = options.count()
        page.locator("#id_user_permissions_input").press_sequentially("order")  # the selector filters on keyup
        page.wait_for_function("(every) => document.querySelectorAll('#id_user_permissions_from option').length "
                               "< every", arg=every)
        assert 0 < options.count() < every
        watch.clean("user page")

        # the daily close, its list of days and a day's page
        watch.open(reverse("admin:orders_businessday_changelist"), "daily close")
        watch.clean("daily close")
        watch.open(reverse("admin:orders_businessday_day", args=[day]), "day page")
        assert page.locator(".submit-row.day-actions").evaluate("row => getComputedStyle(row).display") == "flex"
        watch.clean("day page")

        # and the API docs, whose Swagger UI draws the operations and opens one
        watch.open("/api/docs/", "API docs")
        operations = page.locator(".swagger-ui .opblock")
        operations.first.wait_for()
        assert operations.count() >= 5
        operations.first.locator(".opblock-summary").click()
        operations.first.locator(".opblock-body").wait_for()
        watch.clean("API docs")

        # and the watch hears what the policy refuses: an inline script and style put in by hand run and apply not
        watch.open(reverse("admin:index"), "index")
        page.evaluate("""() => {
            const script = document.createElement("script");
            script.textContent = "window.__ran = true";
            document.body.append(script);
            document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="display: none">x</p>');
        }""")
        page.wait_for_function("() => window.__csp.length >= 2")
        directives = sorted(violation["directive"] for violation in page.evaluate("window.__csp"))
        assert directives == ["script-src-elem", "style-src-attr"], directives
        assert page.evaluate("window.__ran === undefined")
        assert page.locator("#styled").is_visible()


def test_a_user_required_to_use_two_factor_is_asked_for_the_code_after_the_password(
        chromium_path, live_server, settings, django_user_model):
    # Given finance staff must use two-factor, and a finance user has an authenticator (the group is made here: a
    # transactional test's database has lost the migrations' groups when an earlier one emptied it)
    settings.ADMIN_2FA_REQUIRED_GROUPS = ["Finance"]
    finance = django_user_model.objects.create_user("finance", password="pw-staff-1234", is_staff=True)
    finance.groups.add(Group.objects.get_or_create(name="Finance")[0])
    finance.user_permissions.add(Permission.objects.get(codename="view_order"))
    device = TOTPDevice.objects.create(user=finance, name="authenticator", confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    code = f"{totp.token():06d}"

    with chromium_page(chromium_path) as page:
        watch = Watch(page, live_server.url)
        # When finance logs in with the password, the code is asked for before the admin opens
        page.goto(f"{live_server.url}{reverse('admin:login')}?next={reverse('admin:orders_order_changelist')}")
        page.fill("#id_username", finance.username)
        page.fill("#id_password", "pw-staff-1234")
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}{reverse('twofactor:verify')}?*")
        assert page.locator("#twofactor-verify").count() == 1
        watch.clean("code page")

        # and the code opens the page asked for
        page.fill("#id_code", code)
        page.click("#twofactor-submit")
        page.wait_for_url(f"{live_server.url}{reverse('admin:orders_order_changelist')}")
        watch.clean("order list")
