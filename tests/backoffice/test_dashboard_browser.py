"""The dashboard and an order's curve in a real browser: Debian's Chromium, driven by Playwright, against a
live server, in Chinese.

A DOM check proves the markup; only pixels prove that a browser draws it. So each chart's screenshot is
decoded (a small PNG reader over zlib, no imaging library) and must hold the chart's own colours in
quantity: a chart that is absent, empty or drawn without its bars or lines fails.

Without Chromium the tests skip locally and fail under CI (the `CI` variable set), where `.ci/run` installs it.
"""

import datetime as dt
import os
import shutil
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from backoffice.days import BEIJING, business_day_of
from orders.models import Order, OrderSample, OrderStatus, SampleExclusion
from tariffs.models import TimeInterval
from tariffs.pricing import Period, Tariff, price_session
from tests.orders.factories import OrderFactory
from tests.tariffs.factories import TariffVersionFactory

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "pw-root-1234"


@pytest.fixture(scope="module")
def chromium_path():
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(f"CI: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture
def shots(tmp_path):
    """Where the screenshots go: BROWSER_SCREENSHOTS (to keep them, e.g. in CI's reports) or pytest's tmp_path."""
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium_page(path):
    """A page of headless Chromium asking for Chinese, as a Chinese-speaking operator's browser does.

    Playwright's sync API runs an event loop in this thread while it is open, and Django refuses database
    work in a thread with a running loop: the tests write their rows first, then open the browser, and
    close it before pytest-django empties the database.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000},
                                          color_scheme="light")
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def log_in(page, base_url, username):
    page.goto(f"{base_url}{reverse('admin:login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}{reverse('admin:index')}")


# --- pixels ---------------------------------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and the RGB pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, [], None
    while position < len(data):
        (length,), kind = struct.unpack(">I", data[position:position + 4]), data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        position += 12 + length
    width, height, depth, colour, _compression, _filter, interlace = header
    assert depth == 8 and colour in (2, 6) and not interlace, f"unexpected PNG format {header}"
    channels = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    previous = bytearray(stride)
    pixels = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        pixels.extend(tuple(line[i:i + 3]) for i in range(0, stride, channels))
        previous = line
    return width, height, pixels


def count_near(pixels, colour, tolerance=24) -> int:
    return sum(all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True)) for pixel in pixels)


def hex_rgb(value: str) -> tuple[int, int, int]:
    return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))


def css_rgb(value: str) -> tuple[int, int, int]:
    """ "rgb(68, 126, 155)" -> (68, 126, 155)."""
    return tuple(int(part) for part in value[value.index("(") + 1:value.index(")")].split(",")[:3])


def test_png_reader_reads_what_it_is_given():
    # A 2×2 RGB image, one filter of each kind the reader undoes on its rows.
    rows = [bytes([1, 10, 20, 30, 5, 5, 5]), bytes([2, 1, 1, 1, 2, 2, 2])]
    body = zlib.compress(b"".join(rows))

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", body) + chunk(b"IEND", b""))

    assert png_pixels(png) == (2, 2, [(10, 20, 30), (15, 25, 35), (11, 21, 31), (17, 27, 37)])


# --- the pages ------------------------------------------------------------------------------------------


def given_orders_over_the_last_days():
    """Orders on today and on every third day before it, of growing energy."""
    now = timezone.now()
    today = business_day_of(now)
    for days_ago in range(0, 30, 3):
        at = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(12), tzinfo=BEIJING)
        order = OrderFactory(energy_wh=1_000 * (31 - days_ago), electricity_fee_fen=100 * (31 - days_ago),
                             service_fee_fen=7, total_fee_fen=100 * (31 - days_ago) + 7)
        Order.objects.filter(pk=order.pk).update(created_at=min(at, now))
    return today


def given_an_order_with_a_curve(samples=120, left_out=(10, 80)):
    start = dt.datetime(2026, 11, 3, 9, 0, tzinfo=BEIJING)
    end = start + dt.timedelta(hours=2)
    tariff = Tariff(kind="ev", periods=(Period(0, 600, "valley", 3000, 4000), Period(600, 1440, "peak", 9000, 4000)))
    step = (end - start) / (samples + 1)
    readings = [(start + step * (i + 1), 7000, 117 * (i + 1)) for i in range(samples)]
    breakdown = price_session(tariff, readings=[(start, 0), *((at, wh) for at, _p, wh in readings),
                                                (end, 117 * samples)])
    order = OrderFactory(status=OrderStatus.SETTLED, started_at=start, ended_at=end, energy_wh=117 * samples,
                         tariff_version=TariffVersionFactory(content=tariff.to_content()),
                         price_lines=breakdown.to_content(), electricity_fee_fen=breakdown.electricity_fen,
                         service_fee_fen=breakdown.service_fen, total_fee_fen=breakdown.total_fen)
    OrderSample.objects.bulk_create(
        OrderSample(order=order, device_time=at, power_w=power, energy_wh=wh * (3 if i in left_out else 1),
                    left_out=SampleExclusion.TOO_FAST if i in left_out else "")
        for i, (at, power, wh) in enumerate(readings)
    )
    return order


def test_the_dashboard_draws_a_bar_per_day_in_each_chart_in_chinese(chromium_path, live_server, superuser, shots):
    # Given orders over the last 30 days
    today = given_orders_over_the_last_days()

    with chromium_page(chromium_path) as page:
        # When the superuser logs in and opens the admin index
        log_in(page, live_server.url, superuser.username)
        dashboard_checked(page, today, shots)


def dashboard_checked(page, today, shots):
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    # Then the page is Chinese, keeps the app list, and shows three charts of 30 bars with their values
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.locator("#content-main .app-orders").count() == 1
    charts = page.locator("#panel-orders-days svg.bar-chart")
    assert charts.count() == 3
    for name in ("chart-energy", "chart-revenue", "chart-orders"):
        assert page.locator(f"#{name} rect.bar").count() == 30
        assert page.locator(f"#{name} .grid text").count() >= 2  # the value axis is labelled
    today_title = page.locator("#chart-energy rect.bar").last.locator("title").text_content()
    assert today_title.startswith(today.isoformat()) and "31.000" in today_title
    assert page.locator("#total-energy").text_content() == "175.000"  # 31 + 28 + ... + 4 kWh
    assert page.locator("#panel-chargers-attention").count() == 1
    assert page.locator("#panel-integrations-attention").count() == 1
    assert (shots / "dashboard.png").stat().st_size > 10_000

    # and the browser draws the bars: the energy chart's pixels hold the bars' colour in quantity
    bar_colour = css_rgb(page.eval_on_selector("#chart-energy rect.bar", "bar => getComputedStyle(bar).fill"))
    chart = page.locator("#chart-energy svg")
    _width, _height, pixels = png_pixels(chart.screenshot(path=str(shots / "chart-energy.png")))
    drawn = count_near(pixels, bar_colour, tolerance=8)
    assert drawn > 2_000, f"{drawn} pixels of the bars' colour {bar_colour}"
    page.eval_on_selector_all("#chart-energy rect.bar", "bars => bars.forEach(bar => bar.remove())")
    _width, _height, blank = png_pixels(chart.screenshot())
    assert count_near(blank, bar_colour, tolerance=8) < drawn / 20


def test_the_order_page_draws_its_curve_over_its_periods(chromium_path, live_server, superuser, shots):
    # Given a settled order of 120 samples, two of them left out of pricing, over a valley and a peak period
    order = given_an_order_with_a_curve()

    with chromium_page(chromium_path) as page:
        # When the superuser opens the order's page
        log_in(page, live_server.url, superuser.username)
        page.goto(f"{live_server.url}{reverse('admin:orders_order_change', args=[order.pk])}")
        curve_checked(page, shots)


def curve_checked(page, shots):
    page.screenshot(path=str(shots / "order.png"), full_page=True)

    # Then the curve joins the 118 priced samples, marks the 2 others and shades the 2 periods, with a legend
    curve = page.locator("#order-curve")
    assert len(curve.locator("polyline.power").get_attribute("points").split()) == 118
    assert len(curve.locator("polyline.energy").get_attribute("points").split()) == 118
    assert curve.locator("circle.left-out-point").count() == 2
    assert curve.locator("rect.period-valley").count() == 1 and curve.locator("rect.period-peak").count() == 1
    with translation.override("zh-hans"):
        legend = [str(TimeInterval.PEAK.label), str(TimeInterval.VALLEY.label)]
    assert [text.strip() for text in curve.locator(".legend-period").all_text_contents()] == legend

    # and the browser draws them: the periods' fills and both lines' colours are in the picture
    picture = curve.locator("svg.curve-chart").screenshot(path=str(shots / "order-curve.png"))
    _width, _height, pixels = png_pixels(picture)
    colours = {name: curve.locator(selector).first.get_attribute(attribute) for name, selector, attribute in [
        ("valley", "rect.period-valley", "fill"), ("peak", "rect.period-peak", "fill"),
        ("power", "polyline.power", "stroke"), ("energy", "polyline.energy", "stroke")]}
    counts = {name: count_near(pixels, hex_rgb(colour)) for name, colour in colours.items()}
    assert counts["valley"] > 5_000 and counts["peak"] > 5_000, counts
    assert counts["power"] > 300 and counts["energy"] > 300, counts
