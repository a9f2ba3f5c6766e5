"""`manage.py partner_simulator`: a partner platform on loopback that charges through our partner API for the demo.

It needs the partner's access in the back office (org, secret, and the receiver's URL as its callback URL).
"""

import contextlib
import signal
import threading
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from integrations.partner.simulator import CallbackReceiver, PartnerClient, PartnerDemo, PartnerRecords, wire_time
from integrations.partner.simulator.protocol import BEIJING


class Command(BaseCommand):
    help = (
        "Play a partner platform against our partner API: take a token, list the stations of a city, start a "
        "session on an idle gun every few seconds, poll and stop it, receive the order callbacks and reconcile "
        "the day now and then. Runs until Ctrl-C or SIGTERM."
    )

    # It plays a stranger and uses nothing of the back office (no database, no URLs), so the back office's checks
    # are the web server's business, not a reason for the partner not to start.
    requires_system_checks = []

    def add_arguments(self, parser):
        add = parser.add_argument
        add("--base-url", default="http://127.0.0.1:8000", help="The back office (default %(default)s).")
        add("--org", required=True, help="The partner's organisation code.")
        add("--secret", required=True, help="The partner's secret.")
        add("--city", required=True, help="The six-digit city code whose stations to use.")
        add("--receiver-host", default="127.0.0.1", help="Callback receiver address (default %(default)s).")
        add("--receiver-port", type=int, default=8603,
            help="Callback receiver port (default %(default)s; 0: any free one). The partner's callback URL in the "
            "back office must be http://<host>:<port>/callback.")
        add("--every", type=float, default=60.0, help="Seconds between starts (default %(default)s).")
        add("--charge-minutes", type=float, default=3.0, help="Minutes until the stop (default %(default)s).")
        add("--poll", type=float, default=5.0, help="Seconds between getOrderInfo polls (default %(default)s).")
        add("--cycle", type=int, default=3, help="Ended sessions between two reconciliations (default %(default)s).")
        add("--max-sessions", type=int, default=3, help="Sessions charging at once at most (default %(default)s).")
        add("--timeout", type=float, default=10.0, help="Seconds to wait for an answer (default %(default)s).")

    def handle(self, *args, **options):
        client = PartnerClient(options["base_url"], options["org"], options["secret"],
                               timeout=(3.05, options["timeout"]))
        records = PartnerRecords()
        receiver = CallbackReceiver(host=options["receiver_host"], port=options["receiver_port"])
        demo = PartnerDemo(
            client, receiver, records, city_code=options["city"], every=options["every"],
            charge_minutes=options["charge_minutes"], poll_every=options["poll"], sessions_per_cycle=options["cycle"],
            max_sessions=options["max_sessions"], emit=self._line,
        )
        try:
            receiver.start()
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['receiver_host']}:{options['receiver_port']}: {exc}"
            ) from exc
        # SIGTERM (how the demo's supervisor stops it) stops the simulator as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        self._line(f"partner {options['org']} against {client.api_url}, callbacks at {receiver.url}; Ctrl-C stops it")
        stop = threading.Event()
        try:
            demo.run(stop)
        except KeyboardInterrupt:
            self._line("stopping the partner simulator")
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: leave at once
                demo.close()
        finally:
            stop.set()
            receiver.stop()

    def _line(self, text: str) -> None:
        self.stdout.write(f"{wire_time(datetime.now(BEIJING))[11:]} {text}")
        self.stdout.flush()  # the supervisor reads a pipe: show each event as it happens
