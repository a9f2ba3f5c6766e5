"""`manage.py demo_sessions`: start a few live Tomda sessions for the demo, through the real services."""

import signal
import time

from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import REFUSALS, error_message
from chargers.models import Connector, ConnectorStatus, Vendor
from chargers.services import station_push
from chargers.vendor import ChargeStrategy, VendorUnavailable
from orders.models import ACTIVE_STATUSES, Order
from orders.services import order_start
from stations.models import Station
from tariffs.models import VehicleKind


class Command(BaseCommand):
    help = (
        "Send the Tomda stations and their tariffs to the configured Tomda cloud (the simulator in the demo) "
        "and start charging sessions on free connectors, so the admin shows live orders; then wait until "
        "stopped (Ctrl-C or SIGTERM)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sessions", type=int, default=4, help="sessions to have running (default 4)")
        parser.add_argument("--wait", type=float, default=30, help="seconds to wait for the Tomda cloud to answer")

    def handle(self, *args, sessions, wait, **options):
        # The demo's supervisor stops its processes with SIGTERM: let it end the command wherever it is, as
        # Ctrl-C does, instead of waiting out the retries below.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            self._start(sessions=sessions, wait=wait)
            # A process of the demo that ends ends the whole demo (demo_supervisor stops the others), so
            # this one stays until stopped.
            self.stdout.write("Live sessions started; waiting until stopped.")
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass

    def _start(self, *, sessions, wait):
        stations = Station.objects.filter(chargers__vendor=Vendor.TOMDA, tariff_template__isnull=False).distinct()
        deadline = time.monotonic() + wait
        for station in stations.order_by("code"):
            while True:
                try:
                    station_push(station=station, vendor=Vendor.TOMDA)
                    break
                except VendorUnavailable as exc:  # the simulator may still be starting
                    if time.monotonic() > deadline:
                        raise CommandError(f"Tomda did not accept station {station.code}: {exc}") from exc
                    time.sleep(1)
        running = Order.objects.filter(status__in=ACTIVE_STATUSES, charger__vendor=Vendor.TOMDA).count()
        free = (
            Connector.objects.filter(
                charger__vendor=Vendor.TOMDA, charger__online=True, status=ConnectorStatus.FREE,
                charger__station__tariff_template__isnull=False,
            )
            .select_related("charger__station")
            .order_by("charger__serial", "number")
        )
        for connector in free[: max(0, sessions - running)]:
            ebike = connector.charger.kind == VehicleKind.EBIKE
            try:
                order = order_start(
                    connector=connector,
                    strategy=ChargeStrategy.TIME if ebike else ChargeStrategy.FULL,
                    strategy_param=240 if ebike else 0,
                    authorized_amount_fen=500 if ebike else 20_000,
                )
            except REFUSALS as exc:
                self.stderr.write(f"{connector}: {error_message(exc)}")
                continue
            self.stdout.write(f"started {order.order_no} on {connector}")
