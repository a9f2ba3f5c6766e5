"""`manage.py tomda_simulator`: a Tomda cloud on loopback for the demo and for trying the integration by hand."""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from integrations.simulation import log_to
from integrations.tomda import simulator

# A fleet that needs no database: the Tomda chargers of the demo data (orders.demo), by serial.
DEMO_FLEET = (
    ("1012300001", "ev", 1, 7000, "TOMDA_EV7K_T4"),
    ("1012300002", "ev", 1, 7000, "TOMDA_EV7K_T4"),
    ("1012300003", "ev", 2, 7000, "TOMDA_EV14K_T6"),
    ("1012300004", "ev", 1, 7000, "TOMDA_EV7K_T3"),
    ("1012310001", "ebike", 10, 250, "TOMDA_EB10_T1"),
    ("1012300101", "ev", 2, 7000, "TOMDA_EV14K_T6"),
)
# A charger just installed on site: Tomda knows it, the back office does not until its first report, and
# then lists it as awaiting a station for an operator to assign.
NEWLY_INSTALLED = ("1012310002", "ebike", 10, 250, "TOMDA_EB10_T5")
# What one e-bike draws; a pile's rated power is what all its sockets may draw together.
EBIKE_SESSION_POWER_W = 250


def demo_fleet() -> list[simulator.SimCharger]:
    return [
        simulator.SimCharger(serial=serial, kind=kind, connectors=count, power_w=power, device_type=device_type)
        for serial, kind, count, power, device_type in DEMO_FLEET
    ]


def database_fleet() -> list[simulator.SimCharger]:
    """Every Tomda charger we know, as the cloud would know it, and one just installed that we do not."""
    from chargers.models import Charger, Vendor

    fleet = []
    chargers = Charger.objects.filter(vendor=Vendor.TOMDA).annotate(connector_total=Count("connectors"))
    for charger in chargers.order_by("serial"):
        count = max(1, charger.connector_total)
        per_connector = charger.rated_power_w // count if charger.rated_power_w else 0
        if charger.kind == "ebike":
            power = min(per_connector or EBIKE_SESSION_POWER_W, EBIKE_SESSION_POWER_W)
        else:
            power = per_connector or None  # None: the simulator's EV default
        fleet.append(
            simulator.SimCharger(
                serial=charger.serial, kind=charger.kind, connectors=count, power_w=power,
                device_type=charger.device_type_code or None,
            )
        )
    if fleet and all(charger.serial != NEWLY_INSTALLED[0] for charger in fleet):
        serial, kind, count, power, device_type = NEWLY_INSTALLED
        fleet.append(simulator.SimCharger(serial=serial, kind=kind, connectors=count, power_w=power,
                                          device_type=device_type))
    return fleet


class Command(BaseCommand):
    help = (
        "Run a simulated Tomda cloud on loopback: it answers the Tomda API and pushes live data "
        "(device info, work data, orders, events) to our push receiver. Runs until Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8601, help="Port to listen on (default 8601).")
        parser.add_argument(
            "--push-url", default="http://127.0.0.1:8000/integrations/tomda/push",
            help="Where to push (default: the local back office's Tomda push receiver).",
        )
        parser.add_argument(
            "--push-encoding", choices=("json", "form"), default="form",
            help="form: fields type, time and content (a JSON string), as deployed Tomda clouds send; "
            "json: one JSON body, as the spec describes. Default form.",
        )
        parser.add_argument(
            "--work-interval", type=float, default=10.0,
            help="Real seconds between work-data rounds of running sessions (default 10).",
        )
        parser.add_argument(
            "--device-interval", type=float, default=60.0,
            help="Real seconds between device-info rounds for every charger (default 60; 0 turns them off).",
        )
        parser.add_argument(
            "--speed", type=float, default=6.0,
            help="Simulated seconds per real second: sessions charge this much faster (default 6).",
        )
        parser.add_argument("--api-id", default=None, help="apiId to accept (default TOMDA_API_ID, else 'demo').")
        parser.add_argument(
            "--api-key", default=None, help="apiKey to accept (default TOMDA_API_KEY, else 'demo-key')."
        )
        parser.add_argument(
            "--fleet", choices=("db", "demo"), default="db",
            help="db: every Tomda charger in the database and one just installed (default); demo: a small "
            "built-in fleet.",
        )

    def handle(self, *args, **options):
        fleet = database_fleet() if options["fleet"] == "db" else demo_fleet()
        if not fleet:
            raise CommandError("No Tomda chargers in the database: run `manage.py seed_demo` or use --fleet demo.")
        api_id = options["api_id"] or getattr(settings, "TOMDA_API_ID", "") or "demo"
        api_key = options["api_key"] or getattr(settings, "TOMDA_API_KEY", "") or "demo-key"

        log_to(self.stdout, logger=simulator.__name__)
        sim = simulator.TomdaSimulator(
            api_id=api_id, api_key=api_key, chargers=fleet,
            push_url=options["push_url"] or None, push_encoding=options["push_encoding"],
            work_interval=options["work_interval"], device_interval=options["device_interval"],
            speed=options["speed"], host=options["host"], port=options["port"],
        )
        try:
            sim.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        # SIGTERM (how the demo's supervisor stops it) stops the simulator as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        self.stdout.write(self.style.SUCCESS(
            f"Tomda simulator listening on {sim.base_url} with {len(fleet)} chargers "
            f"(apiId {api_id}); pushing to {options['push_url'] or 'nowhere'} as {options['push_encoding']}. "
            "Ctrl-C stops it."
        ))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            self.stdout.write("Stopping the Tomda simulator.")
        finally:
            sim.stop()

