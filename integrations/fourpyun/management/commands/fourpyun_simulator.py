"""`manage.py fourpyun_simulator`: 4pyun's open platform (P云) on loopback for the demo and for trying the
integration by hand: it takes our charging records and device syncs, and pushes back what it knows of an order."""

import datetime as dt
import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.fourpyun import simulator
from integrations.simulation import log_to

DEFAULT_APP_ID = "op00demo4pyun01"
DEFAULT_APP_SECRET = "demo-4pyun-secret"  # noqa: S105 - the demo's own secret, as the Makefile sets it


def _beijing(seconds: float | None) -> time.struct_time:
    """logging's time converter: the log's clock is Beijing's, whatever the machine's zone, like 4pyun's."""
    return dt.datetime.fromtimestamp(seconds if seconds is not None else time.time(), simulator.BEIJING).timetuple()


class Command(BaseCommand):
    help = (
        "Run a simulated 4pyun open platform on loopback: it answers the charging-record and device syncs "
        "(/gate/1.0/energy/internal/replenish/sync and .../device/sync), logging each record it accepts, and "
        "pushes a charging-status or order-info form to our push receiver for each. Runs until Ctrl-C or SIGTERM."
    )

    # It plays a stranger and uses nothing of the back office (no database, no URLs), so the back office's checks
    # are the web server's business, not a reason for 4pyun not to start.
    requires_system_checks = []

    def add_arguments(self, parser):
        add = parser.add_argument
        add("--host", default="127.0.0.1", help="Address to listen on (default %(default)s).")
        add("--port", type=int, default=8604, help="Port to listen on (default %(default)s).")
        add("--app-id", default=None,
            help=f"app_id to accept and push with (default FOURPYUN_APP_ID, else {DEFAULT_APP_ID!r}).")
        add("--app-secret", default=None,
            help=f"Secret to check and sign with (default FOURPYUN_APP_SECRET, else {DEFAULT_APP_SECRET!r}).")
        add("--push-url", default="http://127.0.0.1:8000/integrations/4pyun/push",
            help="Our push receiver's base; each push goes to <base>/<name> (default %(default)s; '' for none).")
        add("--station", action="append", default=[], metavar="UUID",
            help="A 4pyun station UUID it knows, repeatable; records of another get 1002 充电站不存在 "
            "(default: none given, any station is known).")

    def handle(self, *args, **options):
        app_id = options["app_id"] or getattr(settings, "FOURPYUN_APP_ID", "") or DEFAULT_APP_ID
        app_secret = options["app_secret"] or getattr(settings, "FOURPYUN_APP_SECRET", "") or DEFAULT_APP_SECRET
        push_url = options["push_url"] or None
        stations = [uuid.strip() for uuid in options["station"] if uuid.strip()]

        log_to(self.stdout, logger=simulator.__name__)
        for handler in logging.getLogger(simulator.__name__).handlers:
            if handler.formatter is not None:
                handler.formatter.converter = _beijing
        sim = simulator.FourpyunSimulator(app_id=app_id, app_secret=app_secret, stations=stations,
                                          push_base_url=push_url, host=options["host"], port=options["port"])
        try:
            sim.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        # SIGTERM (how the demo's supervisor stops it) stops the simulator as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        self.stdout.write(self.style.SUCCESS(
            f"4pyun simulator listening on {sim.base_url} (app_id {app_id}) for "
            f"{'stations ' + ', '.join(stations) if stations else 'any station'}; pushes to {push_url or 'nowhere'}. "
            "Ctrl-C stops it."
        ))  # fmt: skip
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            self.stdout.write("Stopping the 4pyun simulator.")
        finally:
            sim.stop()
