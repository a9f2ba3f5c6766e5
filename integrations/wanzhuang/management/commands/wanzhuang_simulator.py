"""`manage.py wanzhuang_simulator`: a Wanzhuang (wz-open) cloud on loopback for the demo and for trying the
integration by hand."""

import itertools
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.simulation import log_to
from integrations.wanzhuang import simulator
from integrations.wanzhuang.simulator.protocol import SIGN_METHODS

# What a device of the demo is set to, as a saveMode form would set it: the settings of every mode, then
# a mode each device type takes.
DEMO_SETTINGS = {
    "start_fee": 100,
    "is_not_disturb": "0",
    "not_disturb_start": "22:00",
    "not_disturb_end": "07:00",
    "not_disturb_volume": 3,
    "is_outage": 0,
    "auto_off_wait_time": 60,
    "auto_off_lower_power": 5,
    "floating_charge_time": "120",
    "floating_charge_power": 30,
    "whether_refund": 1,
    "is_free_charge": 0,
    "detect_time": 10,
}
DEMO_MODES = {
    # energy mode: 1.20 yuan per kWh, at most 30 yuan a session
    1: {"charge_mode": 1, "work_charge": 120, "max_pay_fee": 3000},
    # power mode 2: per hour by the power drawn, 1.00 / 1.50 / 2.00 yuan up to 200 / 400 / 800 W
    9: {"charge_mode": 9, "power_value": "[200,400,800]", "price_value": "[100,150,200]", "type": 0},
    # car standard energy mode: 1.5000 yuan per kWh, four-digit pricing
    11: {"charge_mode": 11, "work_charge_fourdigit": 15000},
}
MODE_OF_TYPE = {0: 1, 1: 9, 2: 1, 3: 1, 4: 9, 5: 9, 6: 9, 8: 9, 12: 11, 13: 11}
DEMO_FLEET = (  # (device_num, device_type, ports, name)
    ("WZ000001", 2, 10, "1 号电量慢充款"),
    ("WZ000002", 8, 10, "2 号普通功率款"),
    ("WZ000003", 2, 10, "3 号电量慢充款"),
    ("WZ000004", 13, 1, "A01 汽车慢充桩"),
)
# The device whose flow (SIM) card runs out soon, so the renewal list has something to show.
CARD_DUE = ("WZ000003", 20)
# Coins dropped at the e-bike devices between offline-revenue reports, fen.
COIN_FEN = 100


def demo_mode(device_type: int) -> dict:
    return {**DEMO_SETTINGS, **DEMO_MODES[MODE_OF_TYPE[device_type]]}


def demo_fleet() -> list[simulator.SimDevice]:
    """Three e-bike devices of ten ports and a car pile, already on our account, each with a mode saved; one
    flow card due for renewal."""
    due, days_left = CARD_DUE
    return [
        simulator.SimDevice(
            num,
            device_type,
            ports,
            name=name,
            added=True,
            mode=demo_mode(device_type),
            card_days_left=days_left if num == due else 365,
        )
        for num, device_type, ports, name in DEMO_FLEET
    ]


def _mode_sent(charger) -> dict | None:
    """The charge mode our last tariff push would have saved on the device (its station's tariff in force), so
    that the demo's sessions start and bill as an operator's would; None for a tariff it cannot carry."""
    from django.core.exceptions import ValidationError

    from integrations.wanzhuang.adapter import charge_mode_form, charger_tariff_version
    from tariffs.renderings import TariffRenderError

    version = charger_tariff_version(charger)
    if version is None:
        return None
    try:
        return {name: str(value) for name, value in charge_mode_form(charger, version).items()}
    except (TariffRenderError, ValidationError):
        return None


def database_fleet() -> list[simulator.SimDevice]:
    """Every Wanzhuang charger we know, as the cloud would know it (its type from the vendor device type), with
    the charge mode our tariff push would have saved on it."""
    from django.db.models import Count

    from chargers.models import Charger, Vendor

    fleet = []
    chargers = (Charger.objects.filter(vendor=Vendor.WANZHUANG).select_related("station")
                .annotate(connector_total=Count("connectors")))
    for charger in chargers.order_by("serial"):
        try:
            device_type = int(charger.device_type_code)
        except ValueError:
            continue  # not a Wanzhuang device type: nothing to simulate it as
        if device_type not in MODE_OF_TYPE:
            continue
        fleet.append(
            simulator.SimDevice(
                charger.serial,
                device_type,
                max(1, charger.connector_total),
                name=charger.name or None,
                added=True,
                mode=_mode_sent(charger),
            )
        )
    return fleet


class Command(BaseCommand):
    help = (
        "Run a simulated Wanzhuang (wz-open) cloud on loopback: it answers the open API and sends its "
        "callbacks (start_power, finish_order, offline_profit) to our callback receiver. Runs until Ctrl-C or "
        "SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8602, help="Port to listen on (default 8602).")
        parser.add_argument(
            "--callback-url",
            default="http://127.0.0.1:8000/integrations/wanzhuang/callback",
            help="Our callback base; each callback goes to <base>/<name> (default: the local back office's).",
        )
        parser.add_argument("--app-id", default=None, help="app_id to accept (default WANZHUANG_APP_ID, else 'demo').")
        parser.add_argument(
            "--app-secret", default=None, help="Secret to sign with (default WANZHUANG_APP_SECRET, else 'demo-secret')."
        )
        parser.add_argument(
            "--sign-method",
            choices=SIGN_METHODS,
            default=None,
            help="hmac-sha256 or sha256 (default WANZHUANG_SIGN_METHOD, else hmac-sha256).",
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=6.0,
            help="Simulated seconds per real second: sessions charge this much faster (default 6).",
        )
        parser.add_argument(
            "--tick-interval",
            type=float,
            default=5.0,
            help="Real seconds between the rounds that move sessions forward (default 5).",
        )
        parser.add_argument(
            "--offline-interval",
            type=float,
            default=180.0,
            help="Real seconds between offline_profit reports of the e-bike devices (default 180; 0: none).",
        )
        parser.add_argument(
            "--car-replug-after",
            type=float,
            default=120.0,
            help="Simulated seconds after which a car pile's finished port sees the next car plug in (default 120).",
        )
        parser.add_argument(
            "--fleet",
            choices=("demo", "db"),
            default="demo",
            help="demo: three e-bike devices and a car pile, WZ000001.. (default); db: every Wanzhuang charger "
            "in the database.",
        )

    def handle(self, *args, **options):
        fleet = database_fleet() if options["fleet"] == "db" else demo_fleet()
        if not fleet:
            raise CommandError("No Wanzhuang chargers in the database: run `manage.py seed_demo` or use --fleet demo.")
        app_id = options["app_id"] or getattr(settings, "WANZHUANG_APP_ID", "") or "demo"
        app_secret = options["app_secret"] or getattr(settings, "WANZHUANG_APP_SECRET", "") or "demo-secret"
        sign_method = options["sign_method"] or getattr(settings, "WANZHUANG_SIGN_METHOD", "") or "hmac-sha256"
        if sign_method not in SIGN_METHODS:
            raise CommandError(f"WANZHUANG_SIGN_METHOD is {sign_method!r}: use hmac-sha256 or sha256.")

        log_to(self.stdout, logger=simulator.__name__)
        sim = simulator.WanzhuangSimulator(
            app_id=app_id, app_secret=app_secret, sign_method=sign_method, devices=fleet,
            callback_url=options["callback_url"] or None, host=options["host"], port=options["port"],
            speed=options["speed"], tick_interval=options["tick_interval"],
            offline_profit_interval=options["offline_interval"], car_replug_after=options["car_replug_after"],
        )  # fmt: skip
        try:
            sim.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        # SIGTERM (how the demo's supervisor stops it) stops the simulator as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        self.stdout.write(self.style.SUCCESS(
            f"Wanzhuang simulator listening on {sim.base_url} with {len(fleet)} devices (app_id {app_id}, "
            f"{sign_method}); callbacks to {options['callback_url'] or 'nowhere'}. Ctrl-C stops it."
        ))  # fmt: skip
        coin_devices = itertools.cycle([device.device_num for device in fleet if not device.is_car] or [None])
        interval = options["offline_interval"]
        next_coin = time.monotonic() + interval / 2
        try:
            while True:
                time.sleep(1)
                # Someone drops a coin now and then, so the offline totals the devices report move.
                if interval > 0 and time.monotonic() >= next_coin:
                    device_num = next(coin_devices)
                    if device_num:
                        sim.add_offline_revenue(device_num, coin=COIN_FEN)
                    next_coin += interval
        except KeyboardInterrupt:
            self.stdout.write("Stopping the Wanzhuang simulator.")
        finally:
            sim.stop()

