"""`manage.py inbox_worker`: apply stored pushes in batches until stopped."""

import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from integrations.inbox import BATCH_SIZE, InboxWorker


class Command(BaseCommand):
    help = (
        "Apply the pushes the receivers stored, in batches of one transaction each. Run one or more per "
        "machine; they share the work (on PostgreSQL) and wake as soon as a push arrives. SIGTERM or "
        "Ctrl-C finishes the batch in hand, then stops."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                            help=f"pushes per batch and transaction (default {BATCH_SIZE})")
        parser.add_argument("--poll", type=float, default=0.5,
                            help="seconds between looks for new pushes where PostgreSQL's NOTIFY is not available")
        parser.add_argument("--linger", type=float, default=0.2,
                            help="seconds to let news gather into one batch once caught up (default 0.2)")
        parser.add_argument("--idle-exit", action="store_true", help="stop once no stored push is waiting")

    def handle(self, *args, batch_size, poll, linger, idle_exit, **options):
        if batch_size < 1 or poll <= 0 or linger < 0:
            raise CommandError("--batch-size must be at least 1, --poll above 0 and --linger not negative.")
        # Named in pg_stat_activity, so that a DBA sees which connections are inbox workers.
        if connection.vendor == "postgresql":
            connection.settings_dict.setdefault("OPTIONS", {}).setdefault("application_name", "inbox_worker")
        logging.getLogger(__name__).info("inbox worker started (batch size %d)", batch_size)
        started = time.monotonic()
        total = InboxWorker(batch_size=batch_size, poll=poll, linger=linger, idle_exit=idle_exit).run()
        elapsed = time.monotonic() - started
        outcomes = ", ".join(f"{status} {count}" for status, count in sorted(total.items()) if count) or "nothing"
        self.stdout.write(f"inbox worker stopped after {elapsed:.1f} s: {outcomes}")
